//! `rounds-cli doctor` against the real keychain backends of this machine.

use std::path::Path;
use std::process::Command;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rounds-cli"))
}

/// A throwaway HOME so the test never reads or writes the developer's own settings or keyring.
fn isolated(cmd: &mut Command, home: &Path) {
    let run = home.join("run");
    std::fs::create_dir_all(&run).expect("runtime dir");
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("chmod");
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_RUNTIME_DIR", run)
        .env("ROUNDS_POLICY_FILE", home.join("policy.json"));
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn finds_a_real_unlocked_secret_service() {
    let home = tempfile::tempdir().expect("tmp");
    let session = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/e2e/session.sh");
    let mut cmd = Command::new("dbus-run-session");
    cmd.args(["--", session])
        .arg(env!("CARGO_BIN_EXE_rounds-cli"))
        .args(["doctor", "--json"]);
    isolated(&mut cmd, home.path());
    let out = cmd.output().expect("run doctor");
    let v = json(&out);
    assert_eq!(v["keychain"]["backend"], "secret-service", "{v:#}");
    assert_eq!(v["keychain"]["reachable"], true, "{v:#}");
    assert_eq!(v["policy"]["managed"], false);
    assert_eq!(v["policy"]["sources"][0]["status"], "absent");
    assert!(out.status.success());
    // The data paths follow XDG, inside the throwaway home.
    let logs = v["paths"]["log_dir"].as_str().expect("log dir");
    assert!(
        logs.starts_with(home.path().to_str().expect("utf8")),
        "{logs}"
    );
}

#[test]
fn says_so_and_fails_when_no_keychain_is_reachable() {
    // No session bus and a process keyring the kernel refuses: nothing to store secrets in.
    let home = tempfile::tempdir().expect("tmp");
    let mut cmd = cli();
    cmd.args(["doctor", "--json"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DISPLAY", "");
    isolated(&mut cmd, home.path());
    let out = cmd.output().expect("run doctor");
    let v = json(&out);
    if v["keychain"]["reachable"] == true {
        // Some machines give every process a usable session keyring; then keyutils is honest.
        assert_eq!(v["keychain"]["backend"], "keyutils", "{v:#}");
        return;
    }
    assert!(
        !out.status.success(),
        "doctor must exit non-zero when the keychain is unusable"
    );
    assert!(!v["keychain"]["detail"].as_str().unwrap_or("").is_empty());
}

#[test]
fn reports_a_rejected_policy_with_its_reason() {
    let home = tempfile::tempdir().expect("tmp");
    std::fs::write(home.path().join("policy.json"), r#"{"servre": {}}"#).expect("write");
    let mut cmd = cli();
    cmd.args(["doctor"]);
    isolated(&mut cmd, home.path());
    let out = cmd.output().expect("run doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("REJECTED") && text.contains("servre"),
        "{text}"
    );
    assert!(!out.status.success());
}

#[test]
fn unknown_command_prints_usage_and_exits_2() {
    let out = cli().arg("frobnicate").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}
