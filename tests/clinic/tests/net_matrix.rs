//! The network fault matrix: rounds-core's `NetClient` against real TLS listeners on loopback
//! (the sandbox clinic's fault listeners, `openssl s_server` for TLS 1.0/1.1, and test-local
//! rustls listeners with certificates made here). Every case asserts the error class the UI maps
//! to a message AND that the server received no credential.

use std::collections::BTreeMap;
use std::time::Duration;

use rounds_clinic_tests::*;
use rounds_core::net::{Limits, NetClient, NetConfig, NetError};
use time::OffsetDateTime;

fn client(cfg: &NetConfig) -> NetClient {
    NetClient::new(cfg).expect("client")
}

/// Sends an authenticated GET (bearer for exactly that origin) and returns the error.
async fn refused(c: &NetClient, u: &url::Url) -> NetError {
    c.get_json_with(u, Some(&cred_for(u)))
        .await
        .expect_err("must be refused")
}

fn assert_cert(e: &NetError, reason: &str) {
    match e {
        NetError::Certificate { detail, .. } => {
            assert!(detail.contains(reason), "want {reason}, got {detail}")
        }
        other => panic!("want a certificate refusal ({reason}), got {other:?}"),
    }
    assert!(e.is_refusal());
}

/// The sandbox's listener `kind` saw a TLS failure and no request at all.
async fn assert_nothing_reached(sb: &rounds_sandbox::Sandbox, kind: &str) {
    let reqs = sandbox_requests(sb, kind);
    assert!(
        reqs.is_empty(),
        "{kind}: requests reached the server: {reqs:?}"
    );
    // The server logs the failed handshake when it reads the client's alert: allow it a moment.
    let mut events = Vec::new();
    for _ in 0..50 {
        events = sb
            .state
            .conns
            .lock()
            .expect("conns")
            .iter()
            .filter(|c| c.listener == kind)
            .map(|c| c.event.clone())
            .collect::<Vec<_>>();
        if events.iter().any(|e| e == "tls_failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        events.iter().any(|e| e == "tls_failed") && !events.iter().any(|e| e == "tls_established"),
        "{kind}: the listener should have seen the handshake fail: {events:?}"
    );
}

#[tokio::test]
async fn sandbox_fault_listeners_are_refused_before_any_credential() {
    let sb = sandbox().await;
    let c = client(&hospital(&sb.ready.ca_pem));
    for (kind, reason) in [
        ("expired", "Expired"),
        ("wrong_host", "NotValidForName"),
        ("self_signed", "UnknownIssuer"),
        ("unknown_ca", "UnknownIssuer"),
    ] {
        let (u, _) = sandbox_listener(&sb, kind).await;
        let e = refused(&c, &u.join("/apis/default/fhir/metadata").expect("url")).await;
        assert_cert(&e, reason);
        assert_nothing_reached(&sb, kind).await;
    }
    // Control: the good listener with the same client and credential works, and got it.
    let base = url(&sb.ready.base_url);
    let meta = base.join("/apis/default/fhir/metadata").expect("url");
    let v = c
        .get_json_with(&meta, Some(&cred_for(&meta)))
        .await
        .expect("good server accepted");
    assert_eq!(v["resourceType"], "CapabilityStatement");
    assert!(sandbox_requests(&sb, "main").iter().any(|(_, cred)| *cred));
}

#[tokio::test]
async fn tls_1_0_and_1_1_only_servers_are_refused() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: no openssl CLI");
        return;
    }
    let sb = sandbox().await;
    let c = client(&hospital(&sb.ready.ca_pem));
    for kind in ["tls1_0", "tls1_1"] {
        let (u, log) = sandbox_listener(&sb, kind).await;
        let e = refused(&c, &u).await;
        assert!(matches!(e, NetError::WeakTls { .. }), "{kind}: {e:?}");
        assert!(e.is_refusal());
        let log = std::fs::read_to_string(log.expect("openssl log")).unwrap_or_default();
        assert!(
            !log.contains(TOKEN) && !log.to_ascii_lowercase().contains("authorization"),
            "{kind}: {log}"
        );
    }
}

#[tokio::test]
async fn not_yet_valid_and_incomplete_chain_are_refused() {
    let dir = temp_dir("pki");
    let pki = Pki::new("Test Hospital Root");
    let ca = pki.write_ca(&dir, "ca.pem");
    let c = client(&NetConfig {
        ca_bundle: Some(ca),
        ..NetConfig::default()
    });
    let now = OffsetDateTime::now_utc();

    // Not yet valid: starts tomorrow.
    let future = pki.leaf(
        &["127.0.0.1"],
        now + time::Duration::days(1),
        now + time::Duration::days(30),
        &[],
    );
    let s = tls_server(&future, Reply::Json("{}".into())).await;
    assert_cert(&refused(&c, &s.url).await, "NotValidYet");
    let l = s.log();
    assert!(l.requests.is_empty() && !l.saw_credential, "{l:?}");
    assert_eq!(l.tls_ok, 0, "{l:?}");

    // Incomplete chain: leaf signed by an intermediate the server does not send.
    let inter = pki.intermediate("Test Hospital Issuing CA");
    let leaf = inter.leaf(
        &["127.0.0.1"],
        now - time::Duration::hours(1),
        now + time::Duration::days(7),
        &[],
    );
    let s = tls_server(&leaf, Reply::Json("{}".into())).await;
    assert_cert(&refused(&c, &s.url).await, "UnknownIssuer");
    let l = s.log();
    assert!(l.requests.is_empty() && !l.saw_credential, "{l:?}");

    // Control: the same leaf with its intermediate sent is accepted.
    let full = inter.leaf(
        &["127.0.0.1"],
        now - time::Duration::hours(1),
        now + time::Duration::days(7),
        &[inter.ca_der()],
    );
    let s = tls_server(&full, Reply::Json(r#"{"ok":true}"#.into())).await;
    let v = c
        .get_json_with(&s.url, Some(&cred_for(&s.url)))
        .await
        .expect("complete chain accepted");
    assert_eq!(v["ok"], true);
}

#[tokio::test]
async fn spki_pins_checked_on_top_of_the_chain() {
    let sb = sandbox().await;
    let ca_pin = openssl_pin(std::path::Path::new(&sb.ready.ca_pem));
    let base = url(&sb.ready.base_url);
    let meta = base.join("/apis/default/fhir/metadata").expect("url");
    let pinned = |pins: Vec<String>| NetConfig {
        spki_pins: BTreeMap::from([("127.0.0.1".to_string(), pins)]),
        ..hospital(&sb.ready.ca_pem)
    };

    // Mismatch: a valid chain, but the pinned key is someone else's.
    let other = Pki::new("Some Other CA");
    let wrong_pin = other.good_leaf().leaf_pin;
    let c = client(&pinned(vec![wrong_pin.clone()]));
    let e = refused(&c, &meta).await;
    match &e {
        NetError::PinMismatch { host, detail } => {
            assert!(host.contains("127.0.0.1"), "{host}");
            assert!(detail.contains("pin mismatch"), "{detail}");
        }
        other => panic!("want PinMismatch, got {other:?}"),
    }
    assert!(e.is_refusal());
    assert!(
        sandbox_requests(&sb, "main").is_empty(),
        "nothing may reach a server whose pin does not match"
    );

    // Match: the hospital CA's key (computed by openssl, not by the client) passes.
    let c = client(&pinned(vec![wrong_pin, ca_pin]));
    let v = c
        .get_json_with(&meta, Some(&cred_for(&meta)))
        .await
        .expect("pinned CA key accepted");
    assert_eq!(v["resourceType"], "CapabilityStatement");

    // Pins for another host do not affect this one.
    let c = client(&NetConfig {
        spki_pins: BTreeMap::from([(
            "emr.example.org".to_string(),
            vec![other.good_leaf().leaf_pin],
        )]),
        ..hospital(&sb.ready.ca_pem)
    });
    c.get_json(&meta).await.expect("unpinned host accepted");
}

#[tokio::test]
async fn leaf_pin_matches_and_a_smuggled_pinned_cert_does_not() {
    let dir = temp_dir("pins");
    let hospital_ca = Pki::new("Hospital Root");
    let attacker_ca = Pki::new("Attacker Root (also trusted)");
    let good = hospital_ca.good_leaf();
    let bundle = dir.join("bundle.pem");
    std::fs::write(
        &bundle,
        format!("{}{}", hospital_ca.ca.pem(), attacker_ca.ca.pem()),
    )
    .expect("bundle");
    let cfg = |pin: String| NetConfig {
        ca_bundle: Some(bundle.clone()),
        spki_pins: BTreeMap::from([("127.0.0.1".to_string(), vec![pin])]),
        ..NetConfig::default()
    };

    // The real server, leaf key pinned: accepted.
    let s = tls_server(&good, Reply::Json("{}".into())).await;
    client(&cfg(good.leaf_pin.clone()))
        .get_json(&s.url)
        .await
        .expect("leaf pin matches");

    // An interceptor with a chain that verifies (its CA is trusted) adds the pinned hospital
    // root to the certificates it sends. The pinned key is present but signs nothing here.
    let hospital_ca_pin = openssl_pin(&hospital_ca.write_ca(&dir, "h.pem"));
    let now = OffsetDateTime::now_utc();
    let mitm = attacker_ca.leaf(
        &["127.0.0.1"],
        now - time::Duration::hours(1),
        now + time::Duration::days(1),
        &[hospital_ca.ca_der()],
    );
    let s = tls_server(&mitm, Reply::Json("{}".into())).await;
    let c = client(&cfg(hospital_ca_pin));
    let e = refused(&c, &s.url).await;
    assert!(matches!(e, NetError::PinMismatch { .. }), "{e:?}");
    let l = s.log();
    assert!(l.requests.is_empty() && !l.saw_credential, "{l:?}");
}

#[tokio::test]
async fn plain_http_to_a_non_loopback_name_is_refused_before_connecting() {
    let c = client(&NetConfig::default());
    // A name that cannot resolve: if the client tried, it would get a Connect error instead.
    let u = url("http://clinic.invalid/apis/default/fhir/metadata");
    let e = refused(&c, &u).await;
    assert!(matches!(e, NetError::InsecureScheme { .. }), "{e:?}");
    // Also when the name is really this machine, reached by an address that is not loopback.
    let e = refused(&c, &url("http://0.0.0.0:9/x")).await;
    assert!(matches!(e, NetError::InsecureScheme { .. }), "{e:?}");
}

#[tokio::test]
async fn redirects_to_another_origin_are_not_followed() {
    let pki = Pki::new("Hospital Root");
    let dir = temp_dir("redir");
    let cfg = NetConfig {
        ca_bundle: Some(pki.write_ca(&dir, "ca.pem")),
        ..NetConfig::default()
    };
    let c = client(&cfg);
    // The other origin is a perfectly valid server too: it must still get nothing.
    let other = tls_server(&pki.good_leaf(), Reply::Json("{}".into())).await;
    let mut targets = vec![other.url.join("/steal").expect("url").to_string()];
    // localhost is another origin than 127.0.0.1 (same machine, different name).
    targets.push(format!(
        "https://localhost:{}/steal",
        other.url.port().expect("port")
    ));
    for to in targets {
        let s = tls_server(&pki.good_leaf(), Reply::Redirect(to.clone())).await;
        let e = refused(&c, &s.url).await;
        assert!(matches!(e, NetError::Redirect { .. }), "{to}: {e:?}");
        assert_eq!(s.log().requests.len(), 1);
    }
    // https → http on the same host and port is another origin as well.
    let s = tls_server(
        &pki.good_leaf(),
        Reply::Redirect("http://127.0.0.1:9/".into()),
    )
    .await;
    let e = refused(&c, &s.url).await;
    assert!(matches!(e, NetError::Redirect { .. }), "{e:?}");
    let l = other.log();
    assert!(l.requests.is_empty() && !l.saw_credential, "{l:?}");
    assert_eq!(l.tcp_accepted, 0, "the client must not even connect: {l:?}");
}

#[tokio::test]
async fn a_credential_is_never_sent_to_another_origin() {
    let pki = Pki::new("Hospital Root");
    let dir = temp_dir("cred");
    let c = client(&NetConfig {
        ca_bundle: Some(pki.write_ca(&dir, "ca.pem")),
        ..NetConfig::default()
    });
    let s = tls_server(&pki.good_leaf(), Reply::Json("{}".into())).await;
    let configured = url("https://emr.example.org/");
    let e = c
        .get_json_with(&s.url, Some(&cred_for(&configured)))
        .await
        .expect_err("wrong origin");
    assert!(matches!(e, NetError::CredentialOrigin { .. }), "{e:?}");
    assert_eq!(s.log().tcp_accepted, 0);
}

#[tokio::test]
async fn a_server_that_stalls_after_the_handshake_times_out() {
    let sb = sandbox().await;
    let limits = Limits {
        read: Duration::from_millis(800),
        total: Duration::from_secs(5),
        retries: 1,
        backoff: Duration::from_millis(50),
        ..Limits::default()
    };
    let c = NetClient::with_limits(&hospital(&sb.ready.ca_pem), limits).expect("client");
    let faults = reqwest::Client::new();
    faults
        .post(format!("{}/control/faults", sb.ready.control_url))
        .json(&serde_json::json!({"kind": "stall", "after_bytes": 0, "ms": 60000}))
        .send()
        .await
        .expect("fault");
    let meta = url(&sb.ready.base_url)
        .join("/apis/default/fhir/metadata")
        .expect("url");
    let t = std::time::Instant::now();
    let e = c.get_json(&meta).await.expect_err("stalls");
    assert!(matches!(e, NetError::Timeout { .. }), "{e:?}");
    // Two attempts (one retry: GET is idempotent) of ~0.8 s each, far below the 60 s stall.
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    let reqs = sandbox_requests(&sb, "main");
    assert_eq!(reqs.len(), 2, "one retry for an idempotent GET: {reqs:?}");
    assert!(reqs.iter().all(|(_, cred)| !cred), "{reqs:?}");

    // A test-local server that never answers at all after the handshake.
    let pki = Pki::new("Hospital Root");
    let dir = temp_dir("stall");
    let c = NetClient::with_limits(
        &NetConfig {
            ca_bundle: Some(pki.write_ca(&dir, "ca.pem")),
            ..NetConfig::default()
        },
        Limits {
            retries: 0,
            ..limits
        },
    )
    .expect("client");
    let s = tls_server(&pki.good_leaf(), Reply::Stall).await;
    let e = c.get_json(&s.url).await.expect_err("stalls");
    assert!(matches!(e, NetError::Timeout { .. }), "{e:?}");
    assert!(!s.log().saw_credential);
}

#[tokio::test]
async fn a_50_mb_body_is_refused_without_buffering_it() {
    let pki = Pki::new("Hospital Root");
    let dir = temp_dir("flood");
    let c = client(&NetConfig {
        ca_bundle: Some(pki.write_ca(&dir, "ca.pem")),
        ..NetConfig::default()
    });
    const FIFTY_MB: usize = 50 * 1024 * 1024;
    for content_length in [true, false] {
        let s = tls_server(
            &pki.good_leaf(),
            Reply::Flood {
                total: FIFTY_MB,
                content_length,
            },
        )
        .await;
        let e = c.get_json(&s.url).await.expect_err("too large");
        assert!(
            matches!(e, NetError::TooLarge { limit, .. } if limit == rounds_core::net::MAX_BODY_BYTES),
            "{e:?}"
        );
        // Let the server notice the hang-up, then check how much it could push.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let l = s.log();
        assert!(
            l.body_bytes_sent < FIFTY_MB / 2,
            "content_length={content_length}: the client kept reading ({} bytes)",
            l.body_bytes_sent
        );
        assert!(!l.saw_credential);
    }
}

#[tokio::test]
async fn post_is_never_retried() {
    let sb = sandbox().await;
    let c = NetClient::with_limits(
        &hospital(&sb.ready.ca_pem),
        Limits {
            backoff: Duration::from_millis(10),
            ..Limits::default()
        },
    )
    .expect("client");
    reqwest::Client::new()
        .post(format!("{}/control/faults", sb.ready.control_url))
        .json(&serde_json::json!({"kind": "status", "status": 503}))
        .send()
        .await
        .expect("fault");
    let base = url(&sb.ready.base_url);
    let token = base.join("/oauth2/default/token").expect("url");
    let form = rounds_core::net::Form::for_server(&base).text("grant_type", "password");
    let e = c.post_form(&token, &form, None).await.expect_err("503");
    assert!(matches!(e, NetError::Status { status: 503, .. }), "{e:?}");
    assert_eq!(
        sandbox_requests(&sb, "main").len(),
        1,
        "POST must not repeat"
    );
    let meta = base.join("/apis/default/fhir/metadata").expect("url");
    let e = c.get_json(&meta).await.expect_err("503");
    assert!(matches!(e, NetError::Status { status: 503, .. }), "{e:?}");
    assert_eq!(
        sandbox_requests(&sb, "main").len(),
        1 + 3,
        "GET is retried twice"
    );
}

#[tokio::test]
async fn doctor_probe_reports_tls_chain_root_and_pins() {
    use rounds_core::net::probe::probe;
    use rounds_core::net::verify::{PinStatus, TrustedBy};
    let sb = sandbox().await;
    let base = url(&sb.ready.base_url);
    let ca_pin = openssl_pin(std::path::Path::new(&sb.ready.ca_pem));
    let cfg = NetConfig {
        spki_pins: BTreeMap::from([("127.0.0.1".to_string(), vec![ca_pin.clone()])]),
        proxy: rounds_core::net::ProxyConfig::Direct,
        ..hospital(&sb.ready.ca_pem)
    };
    let c = client(&cfg);
    let p = probe(&cfg, &c, &base).await;
    assert!(p.accepted, "{p:?}");
    let tls = p.tls.as_ref().expect("tls");
    assert!(tls.version.contains("TLSv1_3"), "{tls:?}");
    assert!(tls.cipher_suite.starts_with("TLS13_"), "{tls:?}");
    assert_eq!(p.trusted_by, Some(TrustedBy::HospitalCa));
    assert_eq!(
        p.pin,
        Some(PinStatus::Matched {
            pin: ca_pin.clone()
        })
    );
    assert_eq!(p.chain.len(), 2, "{p:?}");
    assert_eq!(
        p.chain[1].spki_pin, ca_pin,
        "client and openssl agree on the CA's pin"
    );
    assert!(p.verdict.starts_with("OK"), "{}", p.verdict);

    let (expired, _) = sandbox_listener(&sb, "expired").await;
    let p = probe(&cfg, &c, &expired).await;
    assert!(!p.accepted);
    assert!(p.verdict.contains("expired"), "{}", p.verdict);
    assert!(sandbox_requests(&sb, "expired").is_empty());
}

#[tokio::test]
async fn the_same_rules_apply_through_a_proxy() {
    let sb = sandbox().await;
    let proxy = connect_proxy().await;
    let cfg = NetConfig {
        proxy: rounds_core::net::ProxyConfig::Url(proxy.url.clone()),
        ..hospital(&sb.ready.ca_pem)
    };
    let c = client(&cfg);
    let meta = url(&sb.ready.base_url)
        .join("/apis/default/fhir/metadata")
        .expect("url");
    c.get_json_with(&meta, Some(&cred_for(&meta)))
        .await
        .expect("good server through the proxy");
    let (expired, _) = sandbox_listener(&sb, "expired").await;
    let e = refused(&c, &expired).await;
    assert_cert(&e, "Expired");
    assert_nothing_reached(&sb, "expired").await;
    let (self_signed, _) = sandbox_listener(&sb, "self_signed").await;
    assert_cert(&refused(&c, &self_signed).await, "UnknownIssuer");
    assert_nothing_reached(&sb, "self_signed").await;
    let tunnels = proxy.connects.lock().expect("log").clone();
    for u in [&meta, &expired, &self_signed] {
        let want = format!("127.0.0.1:{}", u.port().expect("port"));
        assert!(tunnels.contains(&want), "{want} not in {tunnels:?}");
    }
}
