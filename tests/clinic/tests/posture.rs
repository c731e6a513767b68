//! The security posture (`Core::security_posture`, the panel's and `rounds-cli doctor`'s
//! facts) checked against what the sandbox really is: TLS 1.3 with the sandbox CA as the
//! hospital CA, a policy pin that matches ("pinned"), a TLS 1.2-only listener, the Secret
//! Service of a private gnome-keyring, the SQLCipher cache, the time of the password + code
//! sign-in. And none of it carries a token, the password, the TOTP secret or a patient name.

use rounds_clinic_tests::auth_support::{self as s, Case, PASSWORD, request, secret_tool_lookup};
use rounds_clinic_tests::{case, sandbox, sandbox_listener};
use rounds_core::app::{PinState, SecurityPosture, TrustRules, TrustSource};
use rounds_core::policy::SourceStatus;
use rounds_core::vault::Backend;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;

fn main() {
    let cases: &[Case] = &[
        case!(posture_tells_the_sandboxes_real_tls_trust_keychain_and_cache),
        case!(a_tls12_only_server_and_a_hospital_ca_only_policy_are_told_as_such),
    ];
    s::run(cases)
}

/// A core whose clinic is `server`, with this policy, in a fresh directory.
/// `sha256/…` of the sandbox CA's key: a pin on a root that signs the leaf counts.
fn ca_pin(ca_pem: &str) -> String {
    let ca = CertificateDer::pem_file_iter(ca_pem)
        .expect("ca file")
        .next()
        .expect("one certificate")
        .expect("pem");
    rounds_core::net::verify::cert_pin(&ca)
}

fn unix_now() -> i64 {
    rounds_core::vault::items::unix_now()
}

async fn posture_tells_the_sandboxes_real_tls_trust_keychain_and_cache() {
    let sb = sandbox().await;
    let jitsi = sb.state.jitsi_domain();
    let policy = json!({"mandatory": {"network": {
        "ca_bundle": sb.ready.ca_pem,
        // IT pins the clinic host (the sandbox serves clinic and Jitsi on one host).
        "spki_pins": {"127.0.0.1": [ca_pin(&sb.ready.ca_pem)]},
    }, "video": {"allowed_domains": [jitsi]}}});
    let (core, _root) = s::core_with_policy("posture", &sb.ready.base_url, &sb.ready.site, policy);

    let before = core.security_posture(false).await;
    assert!(!before.session.signed_in && before.session.mfa_at.is_none());

    let t0 = unix_now();
    let code = s::totp(&sb, "drsmith", 0).await;
    core.sign_in_keychain(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in");
    let t1 = unix_now();
    // The schedule opens its encrypted cache (its key goes to the keychain); the first sync
    // runs in the background, so wait for it to bring the days' visits.
    let mut day = core
        .schedule_day(t0 - 86_400, t0 + 2 * 86_400)
        .await
        .expect("day view");
    for _ in 0..100 {
        if !day.visits.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        day = core
            .schedule_day(t0 - 86_400, t0 + 2 * 86_400)
            .await
            .expect("day view");
    }
    core.renew_session().await.expect("a renewal");

    let started = std::time::Instant::now();
    let p = core.security_posture(false).await;
    println!(
        "posture computed in {} ms (core says {} ms)",
        started.elapsed().as_millis(),
        p.took_ms
    );

    let clinic = p.clinic.as_ref().expect("the clinic");
    assert_eq!(clinic.origin, sb.ready.base_url);
    assert_eq!(clinic.tls_version.as_deref(), Some("TLS 1.3"), "{clinic:?}");
    assert_eq!(
        clinic.trusted_by,
        Some(TrustSource::HospitalCa),
        "{clinic:?}"
    );
    assert_eq!(clinic.trust_rules, TrustRules::OsStoreAndHospitalCa);
    assert_eq!(clinic.pin, PinState::Pinned, "{clinic:?}");
    assert!(clinic.accepted, "{clinic:?}");
    let video = p.video.as_ref().expect("the allowed video server");
    assert_eq!(video.origin, format!("https://{jitsi}"));
    assert_eq!(
        (video.tls_version.as_deref(), video.trusted_by, video.pin),
        (
            Some("TLS 1.3"),
            Some(TrustSource::HospitalCa),
            PinState::Pinned
        )
    );

    // MFA age: the password + code sign-in, not the later renewal.
    let mfa = p.session.mfa_at.expect("sign-in time recorded");
    assert!(p.session.signed_in);
    assert!((t0..=t1).contains(&mfa), "{mfa} not in {t0}..{t1}");

    assert_eq!(p.keychain.backend, Some(Backend::SecretService));
    assert!(p.keychain.reachable, "{:?}", p.keychain);
    let cipher = p.cache.cipher_version.as_deref().expect("SQLCipher");
    assert!(cipher.starts_with('4'), "{cipher}");
    assert_eq!(
        (
            p.cache.file_present,
            p.cache.file_encrypted,
            p.cache.key_in_keychain
        ),
        (true, Some(true), true),
        "{:?}",
        p.cache
    );
    assert!(
        p.policy_sources
            .iter()
            .any(|s| s.status == SourceStatus::Active),
        "{:?}",
        p.policy_sources
    );
    // Linux, no webview media: the app window where a Chromium-family browser is on PATH.
    assert!(!p.e2ee.required_by_policy);

    // Nothing secret, no PHI: tokens, password, TOTP secret, patient names, the room.
    no_secrets(&sb, &p, &day.visits).await;

    // Signed out: no sign-in time is left behind.
    core.sign_out().await.expect("sign out");
    let p = core.security_posture(false).await;
    assert_eq!((p.session.signed_in, p.session.mfa_at), (false, None));
}

async fn no_secrets(
    sb: &rounds_sandbox::Sandbox,
    p: &SecurityPosture,
    visits: &[rounds_core::schedule::Visit],
) {
    let text = serde_json::to_string(p).expect("json");
    let mut secrets: Vec<String> = ["clinic/session", "clinic/refresh", "clinic/client"]
        .iter()
        .filter_map(|a| secret_tool_lookup(a))
        .collect();
    assert!(secrets.len() >= 2, "the tokens are in the keychain");
    secrets.push(PASSWORD.into());
    let users = rounds_clinic_tests::control(sb, "GET", "/control/users", json!({})).await;
    for u in users["users"].as_array().expect("users") {
        if let Some(t) = u["totp_secret"].as_str() {
            secrets.push(t.into());
        }
    }
    let names: Vec<String> = visits.iter().filter_map(|v| v.patient.clone()).collect();
    assert!(!names.is_empty(), "the day has named patients to look for");
    for x in secrets.iter().chain(names.iter()) {
        assert!(
            !text.contains(x.as_str()),
            "the posture leaks a secret or a name"
        );
    }
    // The sandbox's token shapes: JWTs (`eyJ`), its opaque tokens' prefixes.
    for shape in ["eyJ", "Bearer", "access_token", "refresh_token"] {
        assert!(!text.contains(shape), "the posture holds {shape}: {text}");
    }
}

async fn a_tls12_only_server_and_a_hospital_ca_only_policy_are_told_as_such() {
    let sb = sandbox().await;
    let (url12, _) = sandbox_listener(&sb, "tls1_2").await;
    let policy = json!({"mandatory": {"network": {"ca_bundle": sb.ready.ca_pem, "ca_only": true}}});
    let (core, _root) = s::core_with_policy("posture", url12.as_str(), &sb.ready.site, policy);
    let p = core.security_posture(false).await;
    let c = p.clinic.as_ref().expect("the clinic");
    assert_eq!(c.tls_version.as_deref(), Some("TLS 1.2"), "{c:?}");
    assert_eq!(c.trust_rules, TrustRules::HospitalCaOnly);
    assert_eq!(c.trusted_by, Some(TrustSource::HospitalCa));
    assert_eq!(c.pin, PinState::NotPinned);
    assert!(c.accepted, "TLS 1.2 is still allowed: {c:?}");
    assert!(p.video.is_none(), "no visit yet and no allowed domain");
    assert!(!p.session.signed_in);

    // A server outside the hospital CA under a CA-only policy: refused, said so.
    let (bad, _) = sandbox_listener(&sb, "unknown_ca").await;
    let policy = json!({"mandatory": {"network": {"ca_bundle": sb.ready.ca_pem, "ca_only": true}}});
    let (core, _root) = s::core_with_policy("posture", bad.as_str(), &sb.ready.site, policy);
    let c = core.security_posture(false).await.clinic.expect("clinic");
    assert!(!c.accepted && c.trusted_by.is_none(), "{c:?}");
    assert!(c.verdict.starts_with("REFUSED"), "{}", c.verdict);
}
