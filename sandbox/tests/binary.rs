//! The binary's contract: one JSON line on stdout, demo accounts on stderr, quick start,
//! clean exit on SIGTERM.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[tokio::test]
async fn prints_one_json_line_serves_tls_and_exits_on_sigterm() {
    let dir = common::state_dir();
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rounds-sandbox"))
        .args(["--port", "0", "--state-dir"])
        .arg(&dir)
        .args(["--seed", "demo", "--appointments", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("line");
    let started = t0.elapsed();
    let v: Value = serde_json::from_str(&line).expect("JSON line");
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 4);
    assert!(
        v["base_url"]
            .as_str()
            .expect("base")
            .starts_with("https://127.0.0.1:")
    );
    assert_eq!(v["site"], "default");
    assert!(
        v["control_url"]
            .as_str()
            .expect("control")
            .starts_with("http://127.0.0.1:")
    );
    let ca_path = v["ca_pem"].as_str().expect("ca");
    assert!(std::path::Path::new(ca_path).is_absolute());
    let pem = std::fs::read_to_string(ca_path).expect("ca.pem written");
    eprintln!("start-up to JSON line: {started:?}");
    assert!(started < Duration::from_secs(5), "{started:?}");

    let http = common::client_for(&pem);
    let r = http
        .get(format!(
            "{}/oauth2/default/.well-known/openid-configuration",
            v["base_url"].as_str().expect("base")
        ))
        .send()
        .await
        .expect("discovery");
    assert_eq!(r.status(), 200);
    let localhost = v["base_url"]
        .as_str()
        .expect("base")
        .replace("127.0.0.1", "localhost");
    assert_eq!(
        http.get(format!("{localhost}/apis/default/fhir/metadata"))
            .send()
            .await
            .expect("localhost")
            .status(),
        200
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = child.wait().expect("wait");
    assert!(code.success(), "exit 0 on SIGTERM: {code:?}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("rest");
    assert!(
        rest.is_empty(),
        "stdout has exactly one line, then: {rest:?}"
    );
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert!(
        err.contains("drsmith") && err.contains("TOTP secret"),
        "{err}"
    );
}
