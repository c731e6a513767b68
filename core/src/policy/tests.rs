use super::*;
use serde_json::json;

fn policy(text: &str) -> (tempfile::TempDir, Policy) {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path().join("policy.json");
    std::fs::write(&p, text).expect("write");
    let policy = Policy::from_file(&p);
    (d, policy)
}

fn user(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn video_allow_list_forms_are_accepted() {
    let (_d, p) = policy(
        r#"{"mandatory": {"video": {"allowed_domains": ["meet.example.org", "*.video.example.net", "127.0.0.1:8443"], "links_in_text": true}}}"#,
    );
    let r = p.resolve(&BTreeMap::new());
    assert_eq!(
        r.effective.video.allowed_domains.len(),
        3,
        "{:?}",
        p.reports()
    );
    assert!(r.effective.video.links_in_text);
}

#[test]
fn no_policy_means_secure_defaults_from_default_origin() {
    let p = Policy::from_file("/nonexistent/rounds/policy.json");
    assert!(!p.managed());
    assert_eq!(p.reports()[0].status, SourceStatus::Absent);
    let r = p.resolve(&BTreeMap::new());
    assert_eq!(r.effective, Effective::default());
    assert!(r.effective.mfa.required);
    assert_eq!(r.effective.password.rotation_days, 180);
    assert!(r.entries.iter().all(|e| e.origin == Origin::Default));
}

#[test]
fn mandatory_beats_user_beats_recommended_beats_default() {
    let (_d, p) = policy(
        r#"{"mandatory": {"appearance": {"theme": "dark"}, "session": {"idle_lock_minutes": 5}},
            "recommended": {"appearance": {"text_size": "large"}, "notifications": {"sound": false}}}"#,
    );
    let mine = user(&[
        ("appearance.theme", json!("light")),
        ("appearance.text_size", json!("normal")),
    ]);
    let r = p.resolve(&mine);
    // Locked: the user's "light" loses.
    assert_eq!(r.effective.appearance.theme, Theme::Dark);
    assert_eq!(
        r.origin("appearance.theme"),
        Some(&Origin::Mandatory("Policy file".into()))
    );
    // Recommended: the user's own choice wins.
    assert_eq!(r.effective.appearance.text_size, TextSize::Normal);
    assert_eq!(r.origin("appearance.text_size"), Some(&Origin::User));
    // Recommended and the user said nothing.
    assert!(!r.effective.notifications.sound);
    assert_eq!(
        r.origin("notifications.sound"),
        Some(&Origin::Recommended("Policy file".into()))
    );
    assert_eq!(r.effective.session.idle_lock_minutes, 5);
    assert_eq!(r.origin("sync.interval_seconds"), Some(&Origin::Default));
}

#[test]
fn users_cannot_set_security_settings_even_without_policy() {
    let p = Policy::default();
    let mine = user(&[
        ("session.idle_lock_minutes", json!(60)),
        ("mfa.required", json!(false)),
    ]);
    let r = p.resolve(&mine);
    assert_eq!(r.effective.session.idle_lock_minutes, 15);
    assert!(r.effective.mfa.required);
    assert!(matches!(
        check_user_value(&r, "mfa.required", &json!(false)),
        Err(PolicyError::NotUserSetting { .. })
    ));
}

#[test]
fn locked_settings_refuse_user_changes_and_name_the_source() {
    let (_d, p) = policy(r#"{"mandatory": {"appearance": {"theme": "dark"}}}"#);
    let r = p.resolve(&BTreeMap::new());
    let e = check_user_value(&r, "appearance.theme", &json!("light")).expect_err("locked");
    assert!(e.to_string().contains("Policy file"), "{e}");
    assert!(check_user_value(&r, "appearance.text_size", &json!("large")).is_ok());
    assert!(check_user_value(&r, "appearance.text_size", &json!("huge")).is_err());
}

#[test]
fn bad_documents_are_rejected_whole_and_say_why() {
    for (text, needle) in [
        (r#"{"mandatory": {"sesion": {}}}"#, "sesion"),
        (
            r#"{"mandatory": {"session": {"idle_lock_minutes": "ten"}}}"#,
            "invalid type",
        ),
        (
            r#"{"mandatory": {"session": {"idle_lock_minutes": 600}}}"#,
            "idle_lock_minutes",
        ),
        (
            r#"{"mandatory": {"mfa": {"required": false}}}"#,
            "only make it stricter",
        ),
        (
            r#"{"mandatory": {"password": {"min_length": 6}}}"#,
            "min_length",
        ),
        (
            r#"{"recommended": {"clinic": {"servers": [{"url": "http://emr.example.org", "display_name": "X"}]}}}"#,
            "https",
        ),
        (
            r#"{"mandatory": {"network": {"ca_bundle": "ca.pem"}}}"#,
            "absolute",
        ),
        (
            r#"{"mandatory": {"network": {"spki_pins": {"emr.example.org": ["md5/abc"]}}}}"#,
            "sha256/",
        ),
        (
            r#"{"mandatory": {"network": {"proxy": "http://user:pw@proxy:3128"}}}"#,
            "credentials",
        ),
        (
            r#"{"mandatory": {"updates": {"mode": "pinned"}}}"#,
            "pinned_version",
        ),
        (
            r#"{"mandatory": {"video": {"allowed_domains": ["https://meet.example.org"]}}}"#,
            "allowed_domains",
        ),
        (
            r#"{"mandatory": {"video": {"allowed_domains": ["Meet.Example.org"]}}}"#,
            "lower-case",
        ),
        (
            r#"{"mandatory": {"video": {"allowed_domains": ["*"]}}}"#,
            "allowed_domains",
        ),
        (
            r#"{"mandatory": {"video": {"allowed_domains": ["meet.example.org/room"]}}}"#,
            "allowed_domains",
        ),
        (r#"{"policies": {}}"#, "policies"),
    ] {
        // Every bad document also carries a valid, visible setting: it must not apply either.
        let (_d, p) = policy(text);
        let report = &p.reports()[0];
        assert_eq!(report.status, SourceStatus::Rejected, "{text}");
        let why = report.problem.clone().unwrap_or_default();
        assert!(why.contains(needle), "{text} → {why}");
        assert!(!p.managed());
        assert_eq!(p.resolve(&BTreeMap::new()).effective, Effective::default());
    }
}

#[test]
fn a_valid_full_document_round_trips() {
    let (_d, p) = policy(
        r#"{"$schema": "https://rounds.example/policy.schema.json",
            "mandatory": {
              "clinic": {"servers": [{"url": "https://emr.example.org", "display_name": "General"}]},
              "mfa": {"session_hours": 8},
              "password": {"min_length": 12, "rotation_days": 180, "reminder_days": [14, 7, 1]},
              "session": {"idle_lock_minutes": 10, "shared_pc": true, "on_lock_video": "end"},
              "network": {"ca_bundle": "/etc/rounds/ca.pem", "ca_only": true,
                          "spki_pins": {"emr.example.org": ["sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]},
                          "proxy": "http://proxy.example:3128"},
              "video": {"e2ee_required": true},
              "notifications": {"content": "none"},
              "updates": {"mode": "pinned", "pinned_version": "1.4.2"},
              "sync": {"days_back": 3, "days_ahead": 14, "interval_seconds": 120},
              "logging": {"level": "warn"}
            }}"#,
    );
    assert!(p.managed(), "{:?}", p.reports());
    let e = p.resolve(&BTreeMap::new()).effective;
    assert_eq!(e.clinic.servers[0].site, "default");
    assert!(e.session.shared_pc && e.network.ca_only && e.video.e2ee_required);
    assert_eq!(e.session.on_lock_video, LockVideo::End);
    assert_eq!(e.logging.level, LogLevel::Warn);
}

#[test]
fn json_schema_is_published_and_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policy/rounds-policy.schema.json"
    );
    let fresh = json_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &fresh).expect("write schema");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == fresh,
        "policy/rounds-policy.schema.json is stale: run `make schema` and commit it"
    );
    // The schema closes the document the same way serde does.
    assert!(fresh.contains("\"additionalProperties\": false"));
}
