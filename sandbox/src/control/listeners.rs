//! `/control/tls-listeners`: extra clinic listeners with one TLS defect each (bad
//! certificates via rustls, TLS 1.0/1.1 via the `openssl s_server` CLI).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::state::AppState;
use crate::tls::LeafKind;
use crate::util::{self};

use super::{err, ok, parse_json};

/// `{"kind": "expired"|"wrong_host"|"self_signed"|"unknown_ca"|"tls1_2"|"tls1_1"|"tls1_0"}` → a new
/// listener on 127.0.0.1 serving the same clinic with that defect. `GET /control/requests`
/// and `/control/connections` show what (if anything) arrived on it (listener = kind).
pub(super) async fn add_listener(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let leaf_kind = match kind.as_str() {
        "expired" => LeafKind::Expired,
        "wrong_host" => LeafKind::WrongHost,
        "self_signed" => LeafKind::SelfSigned,
        "unknown_ca" => LeafKind::UnknownCa,
        "tls1_2" => LeafKind::Good,
        "tls1_1" | "tls1_0" => return openssl_listener(&st, &kind).await,
        _ => {
            return err(
                StatusCode::BAD_REQUEST,
                "kind must be expired, wrong_host, self_signed, unknown_ca, tls1_2, tls1_1 or tls1_0",
            );
        }
    };
    let made = (|| -> Result<_, util::BoxError> {
        let leaf = st.ca.leaf(leaf_kind)?;
        if kind == "tls1_2" {
            // A good certificate on a server that speaks TLS 1.2 only (an older appliance).
            return Ok(TlsAcceptor::from(crate::tls::server_config_tls12(&leaf)?));
        }
        Ok(TlsAcceptor::from(crate::tls::server_config(&leaf)?))
    })();
    let acceptor = match made {
        Ok(a) => a,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let listener = match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await {
        Ok(l) => l,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let app = crate::clinic_router(st.clone());
    tokio::spawn(crate::server::serve_tls(
        listener,
        acceptor,
        app,
        st.clone(),
        kind.clone(),
    ));
    ok(json!({"kind": kind, "url": format!("https://127.0.0.1:{port}"), "port": port}))
}

/// TLS 1.0/1.1-only listener: rustls cannot speak those, so this runs the `openssl s_server`
/// CLI (no OpenSSL linked into the sandbox) with a valid CA-signed certificate, so the *only*
/// defect is the protocol version. It answers with openssl's `-www` status page.
async fn openssl_listener(st: &Arc<AppState>, kind: &str) -> Response {
    let leaf = match st.ca.leaf(LeafKind::Good) {
        Ok(l) => l,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let cert = st.state_dir.join(format!("{kind}-{port}-cert.pem"));
    let key = st.state_dir.join(format!("{kind}-{port}-key.pem"));
    let log = st.state_dir.join(format!("{kind}-{port}.log"));
    if std::fs::write(&cert, &leaf.chain_pem)
        .and_then(|_| std::fs::write(&key, &leaf.key_pem))
        .is_err()
    {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot write certificate files",
        );
    }
    let flag = if kind == "tls1_0" { "-tls1" } else { "-tls1_1" };
    let log_file = match std::fs::File::create(&log) {
        Ok(f) => f,
        Err(e) => {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot create log: {e}"),
            );
        }
    };
    let log_err = match log_file.try_clone() {
        Ok(f) => f,
        Err(e) => {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot create log: {e}"),
            );
        }
    };
    let child = tokio::process::Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            flag,
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-www",
        ])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(std::process::Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot run openssl: {e}"),
            );
        }
    };
    // Watchdog: ends s_server when the sandbox process goes away, even on SIGKILL.
    if let Some(pid) = child.id() {
        let me = std::process::id();
        let watchdog = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 1; done; kill {pid} 2>/dev/null"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Ok(mut w) = watchdog {
            // Reap it when it ends (no zombie).
            tokio::spawn(async move { w.wait().await });
        }
    }
    st.children.lock().expect("children lock").push(child);
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return ok(
                json!({"kind": kind, "url": format!("https://127.0.0.1:{port}"), "port": port,
                             "log": log.display().to_string()}),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    err(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("openssl s_server did not start; see {}", log.display()),
    )
}
