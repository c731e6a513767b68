//! `rounds-cli policy` as IT uses it: validate a file, show what is in force, print the schema.

use std::process::Command;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rounds-cli"))
}

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("policy.json");
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn validate_accepts_a_good_file_and_prints_the_apps_error_for_a_bad_one() {
    let d = tempfile::tempdir().expect("tmp");
    let good = write(
        d.path(),
        r#"{"mandatory": {"session": {"idle_lock_minutes": 10}}, "recommended": {"appearance": {"theme": "dark"}}}"#,
    );
    let out = cli()
        .args(["policy", "validate"])
        .arg(&good)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));

    for (text, needle) in [
        (
            r#"{"mandatory": {"session": {"idle_lock_minute": 10}}}"#,
            "idle_lock_minute",
        ),
        (
            r#"{"mandatory": {"session": {"idle_lock_minutes": 0}}}"#,
            "outside 1..=60",
        ),
        (r#"{"mandatory": {"mfa": {"required": false}}}"#, "stricter"),
        (
            r#"{"mandatory": {"session": {"shared_pc": "yes"}}}"#,
            "invalid type",
        ),
    ] {
        let bad = write(d.path(), text);
        let out = cli()
            .args(["policy", "validate"])
            .arg(&bad)
            .output()
            .expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{text} passed");
        assert!(
            stdout.contains("REJECTED") && stdout.contains(needle),
            "{text} → {stdout}"
        );
    }
}

#[test]
fn show_lists_every_setting_with_source_and_lock() {
    let d = tempfile::tempdir().expect("tmp");
    let p = write(
        d.path(),
        r#"{"mandatory": {"session": {"idle_lock_minutes": 5}}, "recommended": {"appearance": {"theme": "dark"}}}"#,
    );
    let out = cli()
        .args(["policy", "show", "--json"])
        .env("HOME", d.path())
        .env("XDG_CONFIG_HOME", d.path().join("config"))
        .env("ROUNDS_POLICY_FILE", &p)
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let find = |key: &str| {
        v["settings"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["key"] == key).cloned())
            .unwrap_or_else(|| panic!("{key} missing in {v:#}"))
    };
    let idle = find("session.idle_lock_minutes");
    assert_eq!(idle["value"], "5");
    assert_eq!(idle["locked"], true);
    assert_eq!(idle["origin"]["kind"], "mandatory");
    let theme = find("appearance.theme");
    assert_eq!(theme["locked"], false);
    assert_eq!(theme["origin"]["kind"], "recommended");
    assert_eq!(find("password.rotation_days")["origin"]["kind"], "default");
    assert_eq!(v["sources"][0]["status"], "active");
}

#[test]
fn schema_is_the_published_one() {
    let out = cli().args(["policy", "schema"]).output().expect("run");
    let published = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policy/rounds-policy.schema.json"
    ))
    .expect("published schema");
    assert_eq!(String::from_utf8_lossy(&out.stdout), published);
}
