//! Control API: fault injection, the request record, and the bad-TLS listeners — a client that
//! refuses them must leave no request (and so no credential) behind.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const META: &str = "/apis/default/fhir/metadata";

async fn fault(t: &T, v: Value) {
    let (s, r) = t.ctl_post("/control/faults", &v).await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

#[tokio::test]
async fn status_delay_and_body_faults() {
    let t = start().await;
    fault(
        &t,
        json!({"path": META, "kind": "status", "status": 503, "times": 1}),
    )
    .await;
    let r = t.http.get(t.url(META)).send().await.expect("503");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(t.get(META, None).await.0, StatusCode::OK, "times=1 used up");

    fault(
        &t,
        json!({"path": META, "kind": "delay", "ms": 300, "times": 1}),
    )
    .await;
    let t0 = Instant::now();
    assert_eq!(t.get(META, None).await.0, StatusCode::OK);
    assert!(t0.elapsed() >= Duration::from_millis(300));

    fault(
        &t,
        json!({"path": META, "kind": "malformed_json", "times": 1}),
    )
    .await;
    let text = t
        .http
        .get(t.url(META))
        .send()
        .await
        .expect("malformed")
        .text()
        .await
        .expect("text");
    assert!(serde_json::from_str::<Value>(&text).is_err() && text.starts_with('{'));

    fault(
        &t,
        json!({"path": META, "kind": "hostile_json", "times": 1}),
    )
    .await;
    let text = t
        .http
        .get(t.url(META))
        .send()
        .await
        .expect("hostile")
        .text()
        .await
        .expect("text");
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "deep nesting exceeds serde_json's recursion limit"
    );

    fault(
        &t,
        json!({"path": META, "kind": "hostile_json", "variant": "foreign_next_link", "times": 1}),
    )
    .await;
    let (_, v) = t.get(META, None).await;
    assert!(
        v["link"][1]["url"]
            .as_str()
            .expect("next")
            .starts_with("https://evil.example/")
    );

    fault(&t, json!({"path": "/oauth2/default/token", "kind": "body", "status": 200, "body": "{\"access_token\":42}", "times": 1})).await;
    let (s, v) = t.password_grant("drnomfa", PASSWORD).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"access_token": 42})));
    let (s, _) = t
        .ctl_post("/control/faults", &json!({"kind": "explode"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn drop_after_bytes_and_stall_cut_the_connection() {
    let t = start().await;
    fault(
        &t,
        json!({"path": META, "kind": "drop", "after_bytes": 60, "times": 1}),
    )
    .await;
    let res = match t.http.get(t.url(META)).send().await {
        Ok(r) => r.text().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(res.is_err(), "truncated response must be an error");
    assert_eq!(
        t.get(META, None).await.0,
        StatusCode::OK,
        "next connection is fine"
    );

    fault(
        &t,
        json!({"path": META, "kind": "stall", "after_bytes": 0, "ms": 5000, "times": 1}),
    )
    .await;
    let quick = client_for(&t.sb.state.ca.pem);
    let t0 = Instant::now();
    let r = quick
        .get(t.url(META))
        .timeout(Duration::from_millis(400))
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    assert!(t0.elapsed() < Duration::from_secs(3));
    let recs = t.ctl_get("/control/requests").await;
    assert!(
        recs["requests"]
            .as_array()
            .expect("reqs")
            .iter()
            .any(|r| r["fault"] == "stall")
    );
}

#[tokio::test]
async fn request_record_says_which_credentials_arrived_never_their_values() {
    let t = start().await;
    t.http
        .delete(format!("{}/control/requests", t.control))
        .send()
        .await
        .expect("clear");
    let at = t.access_token("drsmith").await;
    t.get("/apis/default/fhir/Appointment?_count=1", Some(&at))
        .await;
    let log = t.ctl_get("/control/requests").await;
    let text = log.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains(&at) && !text.contains(CLIENT_SECRET),
        "no secret values in the record"
    );
    let reqs = log["requests"].as_array().expect("requests");
    let pw = reqs
        .iter()
        .find(|r| r["path"] == "/oauth2/default/token")
        .expect("token call");
    assert_eq!(
        (
            pw["has_password"].as_bool(),
            pw["has_client_secret"].as_bool(),
            pw["listener"].as_str()
        ),
        (Some(true), Some(true), Some("main"))
    );
    assert!(reqs.iter().any(|r| r["path"] == "/oauth2/default/token"
        && r["has_otp"] == true
        && r["has_token"] == true));
    let fhir = reqs
        .iter()
        .find(|r| r["path"] == "/apis/default/fhir/Appointment")
        .expect("fhir");
    assert_eq!(
        (
            fhir["has_authorization"].as_bool(),
            fhir["has_password"].as_bool()
        ),
        (Some(true), Some(false))
    );
}

async fn bad_listener(t: &T, kind: &str) -> String {
    let (s, v) = t
        .ctl_post("/control/tls-listeners", &json!({"kind": kind}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["url"].as_str().expect("url").to_string()
}

#[tokio::test]
async fn bad_certificate_listeners_are_refused_and_receive_nothing() {
    let t = start().await;
    for kind in ["expired", "wrong_host", "self_signed", "unknown_ca"] {
        let url = bad_listener(&t, kind).await;
        let r = t
            .http
            .post(format!("{url}/oauth2/default/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", "drsmith"),
                ("password", PASSWORD),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await;
        assert!(r.is_err(), "{kind}: a verifying client must refuse");
        let reqs = t.ctl_get("/control/requests").await;
        assert!(
            !reqs["requests"]
                .as_array()
                .expect("reqs")
                .iter()
                .any(|r| r["listener"] == kind),
            "{kind}: no request arrived"
        );
        let conns = t.ctl_get("/control/connections").await;
        let evs: Vec<&Value> = conns["connections"]
            .as_array()
            .expect("conns")
            .iter()
            .filter(|c| c["listener"] == kind)
            .collect();
        assert!(
            evs.iter().any(|c| c["event"] == "tls_failed"),
            "{kind}: {evs:?}"
        );
        assert!(
            !evs.iter().any(|c| c["event"] == "tls_established"),
            "{kind}"
        );
    }
    // The listener itself works for a client that (wrongly) accepts anything: requests are recorded.
    let url = bad_listener(&t, "expired").await;
    let blind = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .expect("client");
    let r = blind
        .get(format!("{url}{META}"))
        .send()
        .await
        .expect("insecure client connects");
    assert_eq!(r.status(), StatusCode::OK);
    let reqs = t.ctl_get("/control/requests").await;
    assert!(
        reqs["requests"]
            .as_array()
            .expect("reqs")
            .iter()
            .any(|r| r["listener"] == "expired")
    );
}

#[tokio::test]
async fn tls_1_1_only_listener_is_refused() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("openssl CLI not found; skipping");
        return;
    }
    let t = start().await;
    let url = bad_listener(&t, "tls1_1").await;
    let r = t.http.get(format!("{url}/")).send().await;
    assert!(r.is_err(), "rustls speaks TLS 1.2+ only");
    // It really speaks TLS 1.1: the openssl client gets through.
    let port = url.rsplit(':').next().expect("port");
    let out = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-tls1_1",
            "-cipher",
            "DEFAULT@SECLEVEL=0",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("TLSv1.1"), "{text}");
    t.sb.state.shutdown().await;
}
