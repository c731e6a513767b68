//! Requests/s and p50/p99 latency of a small authenticated GET (`/oauth2/default/userinfo`,
//! bearer token) over loopback TLS with connection reuse: rounds-core's `NetClient` next to the
//! `curl` CLI doing the same requests on one reused connection, measured in the same run against
//! the same in-process sandbox. Figures, not a timed test:
//!
//! `cargo bench -p rounds-clinic-tests --bench net_bench` (env `N` = requests per round, default 2000).

use std::io::Write as _;
use std::time::{Duration, Instant};

use rounds_clinic_tests::{sandbox, url};
use rounds_core::net::{Credential, Form, NetClient, NetConfig, ProxyConfig};
use rounds_core::secret::Secret;

struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn stats(mut lat: Vec<Duration>, wall: Duration) -> Stats {
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        rps: lat.len() as f64 / wall.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

fn show(name: &str, s: &Stats) {
    println!(
        "{name:<28} {:>8.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms",
        s.rps,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3
    );
}

fn main() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let sb = sandbox().await;
        let base = url(&sb.ready.base_url);
        let cfg = NetConfig {
            ca_bundle: Some(sb.ready.ca_pem.clone().into()),
            ca_only: true,
            proxy: ProxyConfig::Direct,
            ..NetConfig::default()
        };
        let client = NetClient::new(&cfg).expect("client");
        // Sign in (password grant, no MFA user) through the client itself.
        let form = Form::for_server(&base)
            .text("grant_type", "password")
            .text("user_role", "users")
            .text("username", "drnomfa")
            .secret(
                "password",
                Secret::new(rounds_sandbox::seed::DEMO_PASSWORD.into()),
            )
            .text("client_id", rounds_sandbox::seed::DEMO_CLIENT_ID)
            .secret(
                "client_secret",
                Secret::new(rounds_sandbox::seed::DEMO_CLIENT_SECRET.into()),
            )
            .text("scope", "openid api:fhir user/Appointment.read");
        let tok = client
            .post_form(
                &base.join("/oauth2/default/token").expect("url"),
                &form,
                None,
            )
            .await
            .expect("token");
        let token = tok["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        let target = base.join("/oauth2/default/userinfo").expect("url");
        let cred = Credential::bearer(&base, Secret::new(token.clone()));
        let body = client
            .get_bytes_with(&target, Some(&cred))
            .await
            .expect("userinfo");
        println!(
            "GET {} ({} bytes, bearer), {n} requests per round, one reused connection each\n",
            target.path(),
            body.len()
        );

        // curl reads the URL list from a config file and reuses one connection for all.
        let dir = rounds_clinic_tests::temp_dir("bench");
        let cfg_path = dir.join("curl.cfg");
        {
            let mut f = std::fs::File::create(&cfg_path).expect("curl cfg");
            writeln!(f, "header = \"Authorization: Bearer {token}\"").expect("w");
            writeln!(f, "cacert = \"{}\"", sb.ready.ca_pem).expect("w");
            writeln!(
                f,
                "silent\nnoproxy = \"*\"\nwrite-out = \"%{{time_total}}\\n\""
            )
            .expect("w");
            for _ in 0..n {
                writeln!(f, "url = \"{target}\"\noutput = \"/dev/null\"").expect("w");
            }
        }

        let mut ratios = Vec::new();
        for round in 1..=2 {
            // Rounds' client.
            for _ in 0..100 {
                client
                    .get_bytes_with(&target, Some(&cred))
                    .await
                    .expect("warm");
            }
            let mut lat = Vec::with_capacity(n);
            let t0 = Instant::now();
            for _ in 0..n {
                let t = Instant::now();
                client
                    .get_bytes_with(&target, Some(&cred))
                    .await
                    .expect("get");
                lat.push(t.elapsed());
            }
            let ours = stats(lat, t0.elapsed());

            // curl, same requests.
            let cfgp = cfg_path.clone();
            let (out, wall) = tokio::task::spawn_blocking(move || {
                let t0 = Instant::now();
                let out = std::process::Command::new("curl")
                    .arg("-K")
                    .arg(&cfgp)
                    .output()
                    .expect("curl runs");
                (out, t0.elapsed())
            })
            .await
            .expect("join");
            assert!(
                out.status.success(),
                "curl failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let lat: Vec<Duration> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.trim().parse::<f64>().ok())
                .map(Duration::from_secs_f64)
                .collect();
            assert_eq!(lat.len(), n, "curl made every request");
            // Requests/s over curl's whole run (process start and first handshake included,
            // once per round, like our warm-up is not).
            let busy: Duration = lat.iter().sum();
            let theirs = stats(lat, wall);
            println!("round {round}");
            show("  rounds-core NetClient", &ours);
            show("  curl (one process)", &theirs);
            println!(
                "  (curl req/s counts its whole run: process start, reading {n} URLs, handshake; \
                 excluding those: {:.0} req/s)",
                n as f64 / busy.as_secs_f64()
            );
            let ratio = ours.rps / theirs.rps;
            println!(
                "  ratio NetClient/curl: {:.2}x req/s, p50 {:.2}x, p99 {:.2}x\n",
                ratio,
                ours.p50.as_secs_f64() / theirs.p50.as_secs_f64(),
                ours.p99.as_secs_f64() / theirs.p99.as_secs_f64()
            );
            ratios.push(ratio);
        }
        let mut per_conn = std::collections::BTreeMap::<u64, usize>::new();
        for r in sb.state.requests.lock().expect("log").iter() {
            *per_conn.entry(r.conn).or_default() += 1;
        }
        println!(
            "requests per TLS connection: {:?}",
            per_conn.values().collect::<Vec<_>>()
        );
        let conns = sb
            .state
            .conns
            .lock()
            .expect("conns")
            .iter()
            .filter(|c| c.event == "tls_established")
            .count();
        println!("TLS handshakes seen by the server over both rounds: {conns} (connection reuse)");
    });
}
