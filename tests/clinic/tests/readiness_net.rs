//! Visit readiness's network check against the sandbox over real loopback TLS: the sandbox's
//! own Jitsi domain is reached through Rounds' client (hospital CA), a listener whose CA is not
//! in the bundle is "not trusted", and a pin IT set that the server's keys do not match is a
//! pin mismatch; each in the words the clinician reads.

use rounds_clinic_tests::{hospital, sandbox, sandbox_listener};
use rounds_core::net::NetClient;
use rounds_core::readiness::network::{self, Outcome};
use std::time::{Duration, Instant};

fn domain(u: &url::Url) -> String {
    format!(
        "{}:{}",
        u.host_str().expect("host"),
        u.port().expect("port")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reached_untrusted_and_pin_mismatch() {
    let sb = sandbox().await;
    let cfg = hospital(&sb.ready.ca_pem);
    let client = NetClient::new(&cfg).expect("client");
    let base = url::Url::parse(&sb.ready.base_url).expect("url");
    let jitsi = domain(&base);

    let t0 = Instant::now();
    let ok = network::check(&client, &jitsi, Duration::from_secs(5)).await;
    let took = t0.elapsed();
    let Outcome::Reached { times, .. } = &ok else {
        panic!("sandbox's Jitsi not reached: {ok:?}");
    };
    println!(
        "readiness network check against the sandbox: dns {} ms, rtt {} ms, tls+answer {} ms, total {:?}",
        times.dns_ms, times.connect_ms, times.tls_ms, took
    );

    let (bad, _) = sandbox_listener(&sb, "unknown_ca").await;
    let r = network::check(&client, &domain(&bad), Duration::from_secs(5)).await;
    assert!(matches!(r, Outcome::Untrusted { .. }), "{r:?}");

    // Pins for the video host only ("localhost": the clinic stays on 127.0.0.1).
    let mut pinned = cfg.clone();
    pinned.spki_pins.insert(
        "localhost".into(),
        vec!["sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()],
    );
    let client = NetClient::new(&pinned).expect("client");
    let local = format!("localhost:{}", base.port().expect("port"));
    let r = network::check(&client, &local, Duration::from_secs(5)).await;
    assert!(matches!(r, Outcome::PinMismatch { .. }), "{r:?}");
    let r = network::check(&client, &jitsi, Duration::from_secs(5)).await;
    assert!(matches!(r, Outcome::Reached { .. }), "unpinned host: {r:?}");
}
