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

/// A managed preferences file as macOS writes it (XML form), holding `doc`'s plist body.
fn managed_prefs(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let prefs = dir.join("Managed Preferences");
    std::fs::create_dir_all(&prefs).expect("mkdir");
    std::fs::write(
        prefs.join("app.rounds.desktop.plist"),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>{body}</dict></plist>"#
        ),
    )
    .expect("write plist");
    prefs
}

/// What `ROUNDS_REGISTRY_JSON` stands in for: the values below `Software\Policies\Rounds`.
fn registry(dir: &std::path::Path, table: serde_json::Value) -> std::path::PathBuf {
    let p = dir.join("registry.json");
    std::fs::write(&p, table.to_string()).expect("write table");
    p
}

/// `policy show` with all three sources standing in (debug builds only).
fn show_with(
    d: &std::path::Path,
    file: &str,
    prefs: &str,
    reg: serde_json::Value,
) -> (bool, String, serde_json::Value) {
    let run = |json: bool| {
        let mut c = cli();
        c.args(["policy", "show"]);
        if json {
            c.arg("--json");
        }
        c.env("HOME", d)
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("USER", "drsmith")
            .env("ROUNDS_POLICY_FILE", write(d, file))
            .env("ROUNDS_MANAGED_PREFS_DIR", managed_prefs(d, prefs))
            .env("ROUNDS_REGISTRY_JSON", registry(d, reg.clone()))
            .output()
            .expect("run")
    };
    let text = run(false);
    let json = run(true);
    let v = serde_json::from_slice(&json.stdout).expect("json");
    (
        text.status.success() && json.status.success(),
        String::from_utf8_lossy(&text.stdout).into_owned(),
        v,
    )
}

fn origin(v: &serde_json::Value, key: &str) -> serde_json::Value {
    v["settings"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["key"] == key))
        .map(|s| s["origin"].clone())
        .unwrap_or_else(|| panic!("{key} missing in {v:#}"))
}

#[test]
fn show_locks_a_setting_from_each_source_file_profile_and_group_policy() {
    let d = tempfile::tempdir().expect("tmp");
    let (ok, text, v) = show_with(
        d.path(),
        r#"{"mandatory": {"sync": {"days_back": 3}}}"#,
        "<key>mandatory</key><dict><key>session</key><dict>\
         <key>idle_lock_minutes</key><integer>7</integer></dict></dict>",
        serde_json::json!({
            "HKLM": [{"key": r"Software\Policies\Rounds\Mandatory", "name": "password.reminder_days",
                      "value": {"MultiSz": ["10", "2"]}}],
            "HKCU": [{"key": r"Software\Policies\Rounds\Recommended", "name": "appearance.theme",
                      "value": {"Sz": "dark"}}]
        }),
    );
    assert!(ok, "{text}");
    for (key, source) in [
        ("password.reminder_days", "Group Policy"),
        ("session.idle_lock_minutes", "Configuration profile"),
        ("sync.days_back", "Policy file"),
    ] {
        let o = origin(&v, key);
        assert_eq!(o["kind"], "mandatory", "{key}: {o}");
        assert_eq!(o["source"], source, "{key}: {o}");
        assert!(text.contains(&format!("LOCKED by {source}")), "{text}");
    }
    assert_eq!(
        origin(&v, "appearance.theme")["source"],
        "Group Policy (user)"
    );
    assert!(text.contains(r"HKLM\Software\Policies\Rounds"), "{text}");
    assert!(!text.contains("not read by this build"), "{text}");
}

#[test]
fn show_rejects_each_source_whole_on_one_bad_value() {
    let good_file = r#"{"mandatory": {"sync": {"days_back": 3}}}"#;
    let good_prefs = "<key>mandatory</key><dict><key>sync</key><dict>\
                      <key>days_ahead</key><integer>9</integer></dict></dict>";
    let good_reg = serde_json::json!({"HKLM": [{"key": r"Software\Policies\Rounds\Mandatory",
        "name": "sync.interval_seconds", "value": {"Dword": 120}}]});
    let bad_reg = serde_json::json!({"HKLM": [
        {"key": r"Software\Policies\Rounds\Mandatory", "name": "sync.interval_seconds", "value": {"Dword": 120}},
        {"key": r"Software\Policies\Rounds\Mandatory", "name": "session.idle_lock_minutes", "value": {"Dword": 70000}}]});
    let bad_prefs = "<key>mandatory</key><dict><key>sync</key><dict>\
                     <key>days_ahead</key><integer>9</integer>\
                     <key>days_back</key><string>seven</string></dict></dict>";
    let bad_file =
        r#"{"mandatory": {"sync": {"days_back": 3}, "session": {"idle_lock_minutes": 0}}}"#;
    for (file, prefs, reg, source, key, needle) in [
        (
            good_file,
            good_prefs,
            bad_reg,
            "Group Policy",
            "sync.interval_seconds",
            r"Mandatory\session.idle_lock_minutes: invalid value: integer `70000`",
        ),
        (
            good_file,
            bad_prefs,
            good_reg.clone(),
            "Configuration profile",
            "sync.days_ahead",
            "mandatory.sync.days_back: invalid type: string \"seven\"",
        ),
        (
            bad_file,
            good_prefs,
            good_reg.clone(),
            "Policy file",
            "sync.days_back",
            "mandatory.session.idle_lock_minutes: 0 is outside 1..=60",
        ),
    ] {
        let d = tempfile::tempdir().expect("tmp");
        let (ok, text, v) = show_with(d.path(), file, prefs, reg);
        assert!(
            !ok,
            "{source}: a rejected source must fail `policy show`\n{text}"
        );
        let src = v["sources"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == source))
            .cloned()
            .unwrap_or_default();
        assert_eq!(src["status"], "rejected", "{source}: {v:#}");
        let problem = src["problem"].as_str().unwrap_or_default();
        assert!(problem.contains(needle), "{source}: {problem}");
        assert!(text.contains("REJECTED") && text.contains(needle), "{text}");
        // The good value beside the bad one does not apply either.
        assert_eq!(origin(&v, key)["kind"], "default", "{source}: {key}");
    }
}

#[test]
fn validate_checks_managed_preferences_and_the_sample_profile() {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../macos/app.rounds.desktop.mobileconfig"
    );
    let out = cli()
        .args(["policy", "validate", sample])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("valid"), "{stdout}");

    let d = tempfile::tempdir().expect("tmp");
    let dir = managed_prefs(
        d.path(),
        "<key>mandatory</key><dict><key>mfa</key><dict><key>required</key><false/></dict></dict>",
    );
    let out = cli()
        .args(["policy", "validate"])
        .arg(dir.join("app.rounds.desktop.plist"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("REJECTED") && stdout.contains("mfa.required"),
        "{stdout}"
    );
}
