//! The security posture part of `rounds-cli doctor`: the same facts as the app's panel
//! (core/src/app/posture.rs), in text for a support ticket. Nothing secret, no PHI.

use rounds_core::Core;
use rounds_core::app::{
    ConnectionPosture, PinState, SecurityPosture, TrustRules, TrustSource, VisitWindowKind,
};

/// The webview of this platform carries WebRTC on Windows and macOS, not WebKitGTK on Linux.
const EMBEDDED_MEDIA: bool = cfg!(any(target_os = "windows", target_os = "macos"));

/// Computes the posture on a small runtime of its own (the rest of `doctor` is blocking).
pub fn compute(core: &Core) -> Result<SecurityPosture, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(rt.block_on(core.security_posture(EMBEDDED_MEDIA)))
}

/// Something IT should look at: a server Rounds would refuse, a cache that is not encrypted.
pub fn needs_attention(p: &SecurityPosture) -> bool {
    let refused = |c: &Option<ConnectionPosture>| c.as_ref().is_some_and(|c| !c.accepted);
    refused(&p.clinic)
        || refused(&p.video)
        || p.cache.cipher_version.is_none()
        || p.cache.file_encrypted == Some(false)
}

fn connection(label: &str, c: &Option<ConnectionPosture>, missing: &str) -> String {
    let Some(c) = c else {
        return format!("{label:<14}{missing}\n");
    };
    let tls = match (&c.tls_version, &c.cipher_suite) {
        (Some(v), Some(s)) => format!("{v} ({s})"),
        (Some(v), None) => v.clone(),
        _ => "not negotiated".into(),
    };
    let by = match c.trusted_by {
        Some(TrustSource::HospitalCa) => "the hospital CA (IT policy)",
        Some(TrustSource::OsStore) => "this computer's trust store",
        None => "nobody (not verified)",
    };
    let rules = match c.trust_rules {
        TrustRules::OsStore => "OS trust store",
        TrustRules::OsStoreAndHospitalCa => "OS trust store + hospital CA",
        TrustRules::HospitalCaOnly => "only the hospital CA",
    };
    let pin = match c.pin {
        PinState::Pinned => "pinned (a key IT pinned matched)",
        PinState::NotPinned => "not pinned",
        PinState::Mismatch => "PIN MISMATCH",
        PinState::NotChecked => "not checked",
    };
    let mut out = format!("{label:<14}{}\n", c.origin);
    out += &format!("{:<14}TLS {tls}\n", "");
    out += &format!("{:<14}verified by {by}; rules: {rules}\n", "");
    if let Some(v) = &c.verifier {
        out += &format!("{:<14}verifier: {v}\n", "");
    }
    out += &format!("{:<14}{pin}\n", "");
    out += &format!("{:<14}{}\n", "", c.verdict);
    out
}

/// The posture as `doctor` prints it; `now` formats the MFA age.
pub fn text(p: &SecurityPosture, now: i64) -> String {
    let mut out = String::from("\nSecurity posture:\n");
    out += &connection("  Clinic", &p.clinic, "none set up yet");
    out += &connection(
        "  Video",
        &p.video,
        "not known yet (the clinic names it with each visit)",
    );
    let mfa = match (p.session.signed_in, p.session.mfa_at) {
        (false, _) => "not signed in".to_string(),
        (true, Some(t)) => format!("password + code {} min ago", (now - t).max(0) / 60),
        (true, None) => "signed in; time of the sign-in not recorded".to_string(),
    };
    out += &format!("  {:<12}{mfa}\n", "Sign-in");
    let c = &p.cache;
    let cipher = c
        .cipher_version
        .as_deref()
        .map_or("NOT ENCRYPTED (plain SQLite)".to_string(), |v| {
            format!("SQLCipher {v}")
        });
    let file = match c.file_encrypted {
        None => "no cache file yet",
        Some(true) => "file encrypted",
        Some(false) => "FILE NOT ENCRYPTED",
    };
    let key = if c.key_in_keychain {
        "key in the keychain"
    } else {
        "no key in the keychain"
    };
    out += &format!("  {:<12}{cipher}; {file}; {key}\n", "Cache");
    let e = &p.e2ee;
    let window = match e.window {
        VisitWindowKind::Embedded => "Rounds' visit window",
        VisitWindowKind::AppWindow => "app window",
        VisitWindowKind::SystemBrowser => "default browser",
    };
    let avail = if e.available {
        "available"
    } else {
        "not available"
    };
    let req = if e.required_by_policy {
        " (required by policy)"
    } else {
        ""
    };
    out += &format!("  {:<12}{avail}{req} — {window}: {}\n", "E2EE", e.detail);
    out += &format!("  (checked in {} ms)\n", p.took_ms);
    out
}
