//! macOS managed preferences, on Linux: plist files written here, XML and binary, and one made
//! from the shipped sample profile the way macOS writes it.

use super::managed_prefs::{self, ManagedPrefsSource};
use super::*;
use serde_json::json;
use std::path::Path;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../macos/app.rounds.desktop.mobileconfig"
);

/// A test document as the plist tree macOS would hold.
fn to_plist(v: &Value) -> plist::Value {
    match v {
        Value::Bool(b) => plist::Value::Boolean(*b),
        Value::Number(n) if n.is_f64() => plist::Value::Real(n.as_f64().unwrap_or_default()),
        Value::Number(n) => plist::Value::Integer(n.as_i64().unwrap_or_default().into()),
        Value::String(s) => plist::Value::String(s.clone()),
        Value::Array(a) => plist::Value::Array(a.iter().map(to_plist).collect()),
        Value::Object(m) => {
            plist::Value::Dictionary(m.iter().map(|(k, x)| (k.clone(), to_plist(x))).collect())
        }
        Value::Null => plist::Value::String("null".into()),
    }
}

#[derive(Clone, Copy)]
enum Form {
    Xml,
    Binary,
}

fn write(dir: &Path, value: &plist::Value, form: Form) -> std::path::PathBuf {
    let p = dir.join(format!("{}.plist", managed_prefs::DOMAIN));
    match form {
        Form::Xml => value.to_file_xml(&p),
        Form::Binary => value.to_file_binary(&p),
    }
    .expect("write plist");
    p
}

fn load(path: &Path) -> Policy {
    Policy::load(&[
        Box::new(ManagedPrefsSource::new("Configuration profile", path)) as Box<dyn PolicySource>,
    ])
}

#[test]
fn the_shipped_sample_profile_is_read_locked_in_xml_and_binary() {
    let bytes = std::fs::read(SAMPLE).expect("sample profile");
    let payload = managed_prefs::payload_of_profile(&bytes).expect("payload");
    // The key shape the profile, the file and the reader agree on: the policy file's halves.
    assert!(payload.contains_key("mandatory") && payload.contains_key("recommended"));
    let example = Policy::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policy/policy.example.json"
    ));
    for form in [Form::Xml, Form::Binary] {
        let d = tempfile::tempdir().expect("tmp");
        let p = load(&write(
            d.path(),
            &plist::Value::Dictionary(payload.clone()),
            form,
        ));
        assert_eq!(
            p.reports()[0].status,
            SourceStatus::Active,
            "{:?}",
            p.reports()
        );
        let r = p.resolve(&BTreeMap::new());
        assert_eq!(r.effective.session.idle_lock_minutes, 10);
        assert_eq!(
            r.origin("session.idle_lock_minutes"),
            Some(&Origin::Mandatory("Configuration profile".into()))
        );
        assert_eq!(r.effective.clinic.servers[0].url, "https://emr.example.org");
        // The profile is generated from the example policy: both say exactly the same.
        assert_eq!(r.effective, example.resolve(&BTreeMap::new()).effective);
    }
}

#[test]
fn payload_keys_an_mdm_leaves_in_the_file_are_not_settings() {
    let d = tempfile::tempdir().expect("tmp");
    let doc = json!({"PayloadUUID": "CB9C4060-04B6-5794-995F-2149F7F99CFD", "PayloadVersion": 1,
                     "mandatory": {"video": {"allowed_domains": ["meet.example.org"]}}});
    let p = load(&write(d.path(), &to_plist(&doc), Form::Binary));
    let r = p.resolve(&BTreeMap::new());
    assert_eq!(r.effective.video.allowed_domains, ["meet.example.org"]);
}

#[test]
fn the_users_profile_comes_after_the_devices() {
    let d = tempfile::tempdir().expect("tmp");
    let user_dir = d.path().join("drsmith");
    std::fs::create_dir(&user_dir).expect("mkdir");
    write(
        d.path(),
        &to_plist(&json!({"mandatory": {"appearance": {"theme": "dark"}}})),
        Form::Xml,
    );
    write(
        &user_dir,
        &to_plist(&json!({"mandatory": {"appearance": {"theme": "light"}},
                          "recommended": {"appearance": {"text_size": "large"}}})),
        Form::Binary,
    );
    let sources: Vec<Box<dyn PolicySource>> = managed_prefs::sources_in(d.path(), Some("drsmith"))
        .into_iter()
        .map(|s| Box::new(s) as Box<dyn PolicySource>)
        .collect();
    let r = Policy::load(&sources).resolve(&BTreeMap::new());
    assert_eq!(r.effective.appearance.theme, Theme::Dark);
    assert_eq!(
        r.origin("appearance.text_size"),
        Some(&Origin::Recommended("Configuration profile (user)".into()))
    );
    // A user name that would leave the directory is not followed.
    for odd in ["../x", "..", ".", ""] {
        assert_eq!(
            managed_prefs::sources_in(d.path(), Some(odd)).len(),
            1,
            "{odd}"
        );
    }
}

#[test]
fn bad_plists_are_rejected_whole_naming_the_file_and_key() {
    let cases: Vec<(plist::Value, &str)> = vec![
        (
            to_plist(&json!({"mandatory": {"session": {"idle_lock_minutes": "ten"}}})),
            "mandatory.session.idle_lock_minutes: invalid type: string",
        ),
        (
            to_plist(&json!({"mandatory": {"session": {"idle_lock_minutes": 600}}})),
            "mandatory.session.idle_lock_minutes: 600 is outside 1..=60",
        ),
        (
            to_plist(&json!({"mandatory": {"session": {"idle_lock_minutes": 10.5}}})),
            "mandatory.session.idle_lock_minutes: invalid type: floating point",
        ),
        (
            to_plist(&json!({"mandatory": {"session": {"idle_lock_minute": 10}}})),
            "mandatory.session.idle_lock_minute: unknown field",
        ),
        (
            to_plist(&json!({"mandatory": {"sesion": {}}})),
            "mandatory.sesion: unknown section",
        ),
        (
            to_plist(&json!({"Mandatory": {}})),
            "unknown key `Mandatory`",
        ),
        (
            to_plist(&json!({"mandatory": {"mfa": {"required": false}}})),
            "only make it stricter",
        ),
        (
            to_plist(&json!({"mandatory": {"password": {"reminder_days": [14, "7"]}}})),
            "mandatory.password.reminder_days",
        ),
        (
            plist::Value::Dictionary(
                [(
                    "mandatory".to_string(),
                    plist::Value::Dictionary(
                        [(
                            "updates".to_string(),
                            plist::Value::Dictionary(
                                [("pinned_version".to_string(), plist::Value::Data(vec![1]))]
                                    .into_iter()
                                    .collect(),
                            ),
                        )]
                        .into_iter()
                        .collect(),
                    ),
                )]
                .into_iter()
                .collect(),
            ),
            "mandatory.updates.pinned_version: a <data>",
        ),
        (plist::Value::Array(vec![]), "must be a dictionary"),
    ];
    for (value, needle) in cases {
        for form in [Form::Xml, Form::Binary] {
            // Every bad document also carries a valid, visible setting: it must not apply.
            let value = match value.clone() {
                plist::Value::Dictionary(mut d) => {
                    d.insert(
                        "recommended".into(),
                        to_plist(&json!({"appearance": {"theme": "dark"}})),
                    );
                    plist::Value::Dictionary(d)
                }
                other => other,
            };
            let d = tempfile::tempdir().expect("tmp");
            let path = write(d.path(), &value, form);
            let p = load(&path);
            let report = &p.reports()[0];
            assert_eq!(report.status, SourceStatus::Rejected, "{needle}");
            let why = report.problem.clone().unwrap_or_default();
            assert!(why.contains(needle), "{needle} → {why}");
            assert!(why.contains(&path.display().to_string()), "{why}");
            assert!(!p.managed());
            assert_eq!(p.resolve(&BTreeMap::new()).effective, Effective::default());
        }
    }
    let d = tempfile::tempdir().expect("tmp");
    let path = d.path().join("app.rounds.desktop.plist");
    std::fs::write(&path, "{\"mandatory\": {}}").expect("write");
    let why = load(&path).problem().unwrap_or_default().to_string();
    assert!(why.contains("not a property list"), "{why}");
}
