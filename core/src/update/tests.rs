//! The update rules without a window or a server: keys made here, manifests signed here.

use super::sign::{check_header, parse_public_key, verify_artifact};
use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

struct Signer {
    kp: minisign::KeyPair,
}

impl Signer {
    fn new() -> Self {
        Self {
            kp: minisign::KeyPair::generate_unencrypted_keypair().expect("keypair"),
        }
    }
    /// Tauri's form of the public key (base64 of the `.pub` file).
    fn public(&self) -> String {
        STANDARD.encode(self.kp.pk.to_box().expect("pk box").to_string())
    }
    /// Tauri's form of a signature whose trusted comment names `version` (or none).
    fn sign(&self, bytes: &[u8], version: Option<&str>) -> String {
        let tc = match version {
            Some(v) => format!("timestamp:1700000000\tfile:Rounds.AppImage\tversion:{v}"),
            None => "timestamp:1700000000\tfile:Rounds.AppImage".to_string(),
        };
        let sig =
            minisign::sign(Some(&self.kp.pk), &self.kp.sk, bytes, Some(&tc), None).expect("sign");
        STANDARD.encode(sig.to_string())
    }
}

fn v(s: &str) -> semver::Version {
    semver::Version::parse(s).expect("version")
}

fn policy(mode: UpdateMode, key: &str) -> UpdatePolicy {
    UpdatePolicy {
        mode,
        channel: UpdateChannel::Stable,
        pinned_version: (mode == UpdateMode::Pinned).then(|| "0.3.0".to_string()),
        endpoint: Some("https://updates.example.org/rounds/{channel}.json".into()),
        public_key: Some(key.into()),
        locked: true,
    }
}

fn linux_deb() -> Platform {
    Platform {
        os: "linux".into(),
        arch: "x86_64".into(),
        bundle: Some("deb".into()),
    }
}

fn manifest(version: &str, signature: &str) -> Manifest {
    let doc = serde_json::json!({
        "version": version,
        "notes": "Faster schedule.\u{7}",
        "pub_date": "2026-12-01T10:00:00Z",
        "platforms": {
            "linux-x86_64": { "signature": signature, "url": "https://updates.example.org/r.AppImage" },
            "windows-x86_64": { "signature": "x", "url": "https://updates.example.org/r.msi" }
        }
    });
    manifest::parse(doc.to_string().as_bytes()).expect("manifest")
}

#[test]
fn off_never_plans_a_request_and_channel_fills_the_channel() {
    let s = Signer::new();
    let running = v("0.1.0");
    assert_eq!(
        plan(&policy(UpdateMode::Off, &s.public()), &running),
        Plan::Skip(UpdateState::Off)
    );
    let mut p = policy(UpdateMode::Channel, &s.public());
    p.channel = UpdateChannel::Beta;
    assert_eq!(
        plan(&p, &running),
        Plan::Fetch(url::Url::parse("https://updates.example.org/rounds/beta.json").expect("url"))
    );
    p.public_key = None;
    assert_eq!(plan(&p, &running), Plan::Skip(UpdateState::NotSetUp));
}

#[test]
fn pinned_at_or_below_running_asks_no_one() {
    let s = Signer::new();
    let p = policy(UpdateMode::Pinned, &s.public());
    for running in ["0.3.0", "0.4.0"] {
        assert_eq!(
            plan(&p, &v(running)),
            Plan::Skip(UpdateState::Held {
                pinned: "0.3.0".into(),
                offered: None
            }),
            "running {running}"
        );
    }
    assert!(matches!(plan(&p, &v("0.2.0")), Plan::Fetch(_)));
}

#[test]
fn channel_offers_a_newer_signed_version() {
    let s = Signer::new();
    let key = parse_public_key(&s.public()).expect("key");
    let m = manifest("0.2.0", &s.sign(b"artifact", Some("0.2.0")));
    let offer = judge(
        &policy(UpdateMode::Channel, &s.public()),
        &v("0.1.0"),
        &m,
        &linux_deb(),
        &key,
    )
    .expect("judged")
    .expect("offer");
    assert_eq!(offer.version, v("0.2.0"));
    // Tauri's order: no `linux-x86_64-deb` entry, so the plain `linux-x86_64` one.
    assert_eq!(offer.target, "linux-x86_64");
    assert_eq!(
        offer.notes.as_deref(),
        Some("Faster schedule."),
        "control characters dropped"
    );
    verify_artifact(&key, &offer.artifact.signature, b"artifact").expect("verifies");
}

#[test]
fn same_version_is_up_to_date_and_older_is_a_refused_downgrade() {
    let s = Signer::new();
    let key = parse_public_key(&s.public()).expect("key");
    let p = policy(UpdateMode::Channel, &s.public());
    let same = manifest("0.1.0", &s.sign(b"a", Some("0.1.0")));
    assert!(matches!(
        judge(&p, &v("0.1.0"), &same, &linux_deb(), &key),
        Ok(Err(UpdateState::UpToDate))
    ));
    let older = manifest("0.0.9", &s.sign(b"a", Some("0.0.9")));
    let e = judge(&p, &v("0.1.0"), &older, &linux_deb(), &key).expect_err("downgrade");
    assert!(matches!(e, UpdateError::Downgrade { .. }), "{e}");
    assert!(e.to_string().contains("never goes back"), "{e}");
}

#[test]
fn pinned_holds_against_a_newer_version_and_takes_exactly_the_pin() {
    let s = Signer::new();
    let key = parse_public_key(&s.public()).expect("key");
    let p = policy(UpdateMode::Pinned, &s.public());
    let newer = manifest("0.4.0", &s.sign(b"a", Some("0.4.0")));
    assert_eq!(
        judge(&p, &v("0.2.0"), &newer, &linux_deb(), &key)
            .expect("judged")
            .expect_err("held"),
        UpdateState::Held {
            pinned: "0.3.0".into(),
            offered: Some("0.4.0".into())
        }
    );
    let exact = manifest("0.3.0", &s.sign(b"a", Some("0.3.0")));
    let offer = judge(&p, &v("0.2.0"), &exact, &linux_deb(), &key)
        .expect("judged")
        .expect("offer");
    assert_eq!(offer.version, v("0.3.0"));
}

#[test]
fn another_key_a_relabelled_release_and_an_unversioned_signature_are_refused_before_download() {
    let ours = Signer::new();
    let theirs = Signer::new();
    let key = parse_public_key(&ours.public()).expect("key");
    let p = policy(UpdateMode::Channel, &ours.public());
    let run = |m: &Manifest| judge(&p, &v("0.1.0"), m, &linux_deb(), &key).expect_err("refused");
    let e = run(&manifest("0.2.0", &theirs.sign(b"a", Some("0.2.0"))));
    assert!(matches!(e, UpdateError::WrongKey { .. }), "{e}");
    // A genuine 0.1.5 signature presented as 0.2.0.
    let e = run(&manifest("0.2.0", &ours.sign(b"a", Some("0.1.5"))));
    assert!(
        matches!(e, UpdateError::SignedVersionMismatch { .. }),
        "{e}"
    );
    let e = run(&manifest("0.2.0", &ours.sign(b"a", None)));
    assert!(matches!(e, UpdateError::BadSignature { .. }), "{e}");
    assert!(e.is_refusal());
}

#[test]
fn a_tampered_artifact_does_not_verify() {
    let s = Signer::new();
    let key = parse_public_key(&s.public()).expect("key");
    let sig = s.sign(b"the real artifact", Some("0.2.0"));
    verify_artifact(&key, &sig, b"the real artifact").expect("verifies");
    let e = verify_artifact(&key, &sig, b"the real artifacT").expect_err("tampered");
    assert!(matches!(e, UpdateError::Tampered), "{e}");
    let other = parse_public_key(&Signer::new().public()).expect("key");
    assert!(matches!(
        verify_artifact(&other, &sig, b"the real artifact"),
        Err(UpdateError::WrongKey { .. })
    ));
    check_header(&key, &sig, &v("0.2.0")).expect("header ok");
}

#[test]
fn public_keys_in_all_three_forms_and_nothing_else() {
    let s = Signer::new();
    let text = s.kp.pk.to_box().expect("box").to_string();
    let line = text.lines().nth(1).expect("line").to_string();
    let a = parse_public_key(&s.public()).expect("tauri form");
    assert_eq!(parse_public_key(&line).expect("RW line"), a);
    assert_eq!(parse_public_key(&text).expect("pub file"), a);
    assert_eq!(parse_public_key(&a.tauri_form()).expect("round trip"), a);
    assert!(parse_public_key("RWnot-a-key").is_err());
    assert!(parse_public_key("aGVsbG8=").is_err());
}

#[test]
fn policy_refuses_a_plain_http_server_and_a_bad_key() {
    let doc = |updates: serde_json::Value| {
        let s: crate::policy::Settings =
            serde_json::from_value(serde_json::json!({ "updates": updates })).expect("settings");
        s.validate()
    };
    assert!(
        doc(serde_json::json!({"endpoint": "http://updates.example.org/{channel}.json"})).is_err()
    );
    assert!(
        doc(serde_json::json!({"endpoint": "https://u:p@updates.example.org/x.json"})).is_err()
    );
    assert!(doc(serde_json::json!({"endpoint": "http://127.0.0.1:8080/{channel}.json"})).is_ok());
    assert!(doc(serde_json::json!({"public_key": "not a key"})).is_err());
    let s = Signer::new();
    assert!(doc(serde_json::json!({"public_key": s.public()})).is_ok());
}

#[test]
fn the_notice_says_what_changes_and_when() {
    let avail = UpdateState::Available {
        version: "0.2.0".into(),
        notes: None,
        date: None,
        at_close: false,
    };
    let m = describe(&avail, "0.1.0", false);
    assert!(
        m.contains("Rounds 0.2.0 is available") && m.contains("when you close Rounds"),
        "{m}"
    );
    assert!(describe(&avail, "0.1.0", true).contains("After your visit"));
    let later = UpdateState::Available {
        version: "0.2.0".into(),
        notes: None,
        date: None,
        at_close: true,
    };
    assert_eq!(
        describe(&later, "0.1.0", false),
        "Rounds 0.2.0 will install when you close Rounds."
    );
    assert!(
        describe(&UpdateState::Off, "0.1.0", false).contains("turned off by your organisation")
    );
}

#[test]
fn a_manifest_with_an_insecure_artifact_url_or_no_semver_is_unreadable() {
    let bad_url = serde_json::json!({"version": "0.2.0", "platforms": {
        "linux-x86_64": {"signature": "x", "url": "http://updates.example.org/r.AppImage"}}});
    assert!(matches!(
        manifest::parse(bad_url.to_string().as_bytes()),
        Err(UpdateError::Manifest { .. })
    ));
    let bad_version = serde_json::json!({"version": "latest", "platforms": {}});
    assert!(manifest::parse(bad_version.to_string().as_bytes()).is_err());
}
