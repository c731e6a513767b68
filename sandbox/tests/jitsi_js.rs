//! Runs the real `external_api.js` and meeting page in jsdom (Node) against an in-process
//! sandbox: constructor, events over postMessage, executeCommand, getRoomsInfo, dispose.
//! Skipped (with a message) when `node` or the `jsdom` package is not available.

mod common;

use std::process::Command;

#[tokio::test]
async fn external_api_runs_in_a_dom() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/jitsi_smoke.cjs");
    let has_jsdom = Command::new("node")
        .args(["-e", "require.resolve('jsdom')"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_jsdom {
        eprintln!("node + jsdom not available; skipping");
        return;
    }
    let t = common::start().await;
    let ready = serde_json::to_string(&t.sb.ready).expect("json");
    let out = tokio::process::Command::new("node")
        .arg(script)
        .arg(&ready)
        .env("NODE_EXTRA_CA_CERTS", &t.sb.ready.ca_pem)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js"))
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
