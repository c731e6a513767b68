//! The app's API surface (`Core`) signing in against the sandbox through the real network
//! client, tokens in the real Secret Service (private throwaway gnome-keyring).

use rounds_clinic_tests::auth_support::{
    self as s, Case, PASSWORD, request, secret_tool_accounts, secret_tool_lookup,
};
use rounds_clinic_tests::{case, sandbox, temp_dir};
use rounds_core::Core;
use rounds_core::app::Environment;
use rounds_core::auth::SessionState;
use rounds_core::config::{Profile, UserConfig};
use rounds_core::paths::Paths;
use rounds_core::secret::Secret;

fn main() {
    let cases: &[Case] = &[
        case!(core_signs_in_enrolls_renews_and_signs_out_state_only),
        case!(two_profiles_switch_and_remove_with_keychain_items),
        case!(a_locked_session_hands_out_no_phi_until_the_same_clinician_signs_in_again),
        case!(on_a_shared_pc_the_lock_signs_out_and_wipes_the_session),
    ];
    s::run(cases)
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

async fn core_signs_in_enrolls_renews_and_signs_out_state_only() {
    let sb = sandbox().await;
    let root = temp_dir("core-auth");
    let paths = Paths::under(&root);
    let policy = root.join("policy.json");
    std::fs::write(
        &policy,
        serde_json::json!({"mandatory": {"network": {"ca_bundle": sb.ready.ca_pem}}}).to_string(),
    )
    .expect("policy");
    UserConfig {
        profiles: vec![Profile {
            id: "clinic".into(),
            display_name: "Sandbox".into(),
            server_url: url::Url::parse(&sb.ready.base_url).expect("url"),
            site: sb.ready.site.clone(),
            username: Some("drsmith".into()),
        }],
        active_profile: Some("clinic".into()),
        ..UserConfig::default()
    }
    .save(&paths.config_file())
    .expect("config");
    let core = Core::load(Environment {
        paths,
        policy_override: Some(policy),
    })
    .expect("core");
    assert_eq!(
        core.session_state().expect("state"),
        SessionState::SignedOut
    );

    let code = s::totp(&sb, "drsmith", 0).await;
    let st = core
        .sign_in_keychain(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in");
    assert!(
        matches!(&st, SessionState::SignedIn { user, .. } if user == "drsmith"),
        "{st:?}"
    );
    let access = secret_tool_lookup("clinic/session").expect("token in keychain");
    let refresh = secret_tool_lookup("clinic/refresh").expect("refresh in keychain");
    let mut seen = vec![serde_json::to_string(&st).expect("json")];
    let st = core.renew_session().await.expect("renew");
    seen.push(serde_json::to_string(&st).expect("json"));
    let access2 = secret_tool_lookup("clinic/session").expect("renewed");
    assert_ne!(access, access2);
    seen.push(serde_json::to_string(&core.session_state().expect("s")).expect("json"));
    let st = core.sign_out().await.expect("out");
    assert_eq!(st, SessionState::SignedOut);
    assert_eq!(
        secret_tool_accounts()
            .into_iter()
            .filter(|a| a.starts_with("clinic/"))
            .collect::<Vec<_>>(),
        ["clinic/client"]
    );

    // Enrollment through Core: the secret is handed out once.
    let st = core
        .sign_in_keychain(request("drjones", PASSWORD, ""))
        .await
        .expect("enroll");
    assert_eq!(
        st,
        SessionState::NeedsMfaEnrollment {
            user: "drjones".into()
        }
    );
    assert_eq!(core.session_state().expect("s"), st);
    seen.push(serde_json::to_string(&st).expect("json"));
    let e = core.take_enrollment().expect("shown once");
    assert!(core.take_enrollment().is_none(), "and only once");
    let key = s::base32_decode(e.secret.expose()).expect("b32");
    let totp_secret = e.secret.expose().to_string();
    drop(e);
    let code = s::totp_at(&key, s::sandbox_now(&sb).await);
    let st = core
        .confirm_enrollment(Secret::new(code.clone()))
        .await
        .expect("confirm");
    assert!(
        matches!(&st, SessionState::SignedIn { user, .. } if user == "drjones"),
        "{st:?}"
    );
    seen.push(serde_json::to_string(&st).expect("json"));
    let access3 = secret_tool_lookup("clinic/session").expect("jones token");
    assert!(core.purge_expired_items().expect("purge").is_empty());

    // What the UI saw holds no token, password or TOTP secret; nor does any file the core
    // wrote under its own directories.
    let secrets = [
        access.as_str(),
        access2.as_str(),
        access3.as_str(),
        refresh.as_str(),
        PASSWORD,
        totp_secret.as_str(),
    ];
    for msg in &seen {
        for x in secrets {
            assert!(!msg.contains(x), "state leaked a secret: {msg}");
        }
    }
    let mut files = Vec::new();
    files_under(&root, &mut files);
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).to_string();
        for x in secrets {
            assert!(!text.contains(x), "{} holds a secret", f.display());
        }
    }
    core.sign_out().await.expect("out");
    rounds_core::vault::Vault::open()
        .expect("vault")
        .delete_profile("clinic")
        .expect("clean");
    let _ = std::fs::remove_dir_all(&root);
}

/// Two clinic accounts in the app: add (id from the name, becomes active), sign in to each,
/// switch, and remove one: its keychain items go, the other's stay.
async fn two_profiles_switch_and_remove_with_keychain_items() {
    let sb = sandbox().await;
    let root = temp_dir("core-profiles");
    let paths = Paths::under(&root);
    let policy = root.join("policy.json");
    std::fs::write(
        &policy,
        serde_json::json!({"mandatory": {"network": {"ca_bundle": sb.ready.ca_pem}}}).to_string(),
    )
    .expect("policy");
    let core = Core::load(Environment {
        paths: paths.clone(),
        policy_override: Some(policy),
    })
    .expect("core");
    let add = |name: &str| rounds_core::app::NewProfile {
        display_name: name.into(),
        server_url: sb.ready.base_url.clone(),
        site: None,
    };
    // A remote plain-http server is refused with words for the clinician.
    let bad = core.add_profile(rounds_core::app::NewProfile {
        server_url: "http://emr.example.org".into(),
        ..add("Bad")
    });
    assert!(format!("{:?}", bad.expect_err("http")).contains("https"));

    let v = core.add_profile(add("North Clinic")).expect("add north");
    assert_eq!(v.profiles.len(), 1);
    assert_eq!(v.profiles[0].id, "north-clinic");
    let code = s::totp(&sb, "drsmith", 0).await;
    core.sign_in(request("drsmith", PASSWORD, &code))
        .await
        .expect("north sign in");

    let v = core.add_profile(add("South Clinic")).expect("add south");
    assert!(
        v.profiles
            .iter()
            .any(|p| p.id == "south-clinic" && p.active)
    );
    assert_eq!(
        core.session_state().expect("state"),
        SessionState::SignedOut,
        "south: not signed in"
    );
    let code = s::totp(&sb, "drold", 0).await;
    core.sign_in(request("drold", PASSWORD, &code))
        .await
        .expect("south sign in");

    // Switch back: north's session is still there, with its remembered user.
    core.switch_profile("north-clinic").expect("switch");
    assert!(matches!(
        core.session_state().expect("state"),
        SessionState::SignedIn { ref user, .. } if user == "drsmith"
    ));
    let accounts = secret_tool_accounts();
    assert!(
        accounts.iter().any(|a| a == "south-clinic/session"),
        "{accounts:?}"
    );

    core.remove_profile("south-clinic").await.expect("remove");
    let accounts = secret_tool_accounts();
    assert!(
        accounts.iter().all(|a| !a.starts_with("south-clinic/")),
        "{accounts:?}"
    );
    assert!(
        accounts.iter().any(|a| a == "north-clinic/session"),
        "{accounts:?}"
    );
    let saved = UserConfig::load(&paths.config_file()).expect("config");
    assert_eq!(saved.profiles.len(), 1);
    assert!(!saved.last_users.contains_key("south-clinic"));
    core.sign_out().await.expect("sign out");
    core.remove_profile("north-clinic")
        .await
        .expect("remove north");
}

/// A managed install against the sandbox: IT's policy names the server and trusts its CA,
/// with these `session` settings. Returns the run's root and the environment.
fn managed(
    sb: &rounds_sandbox::Sandbox,
    name: &str,
    session: serde_json::Value,
) -> (std::path::PathBuf, Environment) {
    let root = temp_dir(name);
    let policy = root.join("policy.json");
    std::fs::write(
        &policy,
        serde_json::json!({"mandatory": {
            "network": {"ca_bundle": sb.ready.ca_pem},
            "clinic": {"servers": [{"url": sb.ready.base_url, "site": sb.ready.site, "display_name": "Sandbox"}]},
            "session": session,
        }})
        .to_string(),
    )
    .expect("policy");
    let env = Environment {
        paths: Paths::under(&root),
        policy_override: Some(policy),
    };
    (root, env)
}

/// The lock in the core (what any window or a bypassed page meets): while locked the day view,
/// sync and visits are refused, a renewal or a restart does not open it, another clinician's
/// credentials do not, a wrong password does not; the locked clinician's password + a fresh
/// code (checked by the clinic) does.
async fn a_locked_session_hands_out_no_phi_until_the_same_clinician_signs_in_again() {
    use rounds_core::CoreError;
    use rounds_core::app::{LockReason, LockState};
    let sb = sandbox().await;
    let (root, env) = managed(&sb, "core-lock", serde_json::json!({}));
    let core = Core::load(env.clone()).expect("core");
    let code = s::totp(&sb, "drsmith", 0).await;
    core.sign_in(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in");
    let day = (0, 86_400);
    assert!(core.schedule_day(day.0, day.1).await.is_ok());
    assert_eq!(core.lock_view().state, LockState::Open);

    assert!(core.lock_now().await.is_some());
    assert_eq!(core.lock_view().state, LockState::Locked);
    assert_eq!(core.lock_view().reason, Some(LockReason::Manual));
    let refused = |r: Result<(), CoreError>, what: &str| {
        assert!(
            matches!(r, Err(CoreError::Locked)),
            "{what} while locked: {r:?}"
        );
    };
    refused(core.schedule_day(day.0, day.1).await.map(drop), "day view");
    refused(core.sync_now().await.map(drop), "sync");
    refused(
        core.start_visit(
            "1",
            None,
            rounds_core::app::VisitWindowRequest::SystemBrowser,
        )
        .await
        .map(drop),
        "visit",
    );
    assert!(core.visit_view().await.is_none());
    core.renew_session().await.expect("renewal behind the lock");
    assert_eq!(
        core.lock_view().state,
        LockState::Locked,
        "a renewal opened the lock"
    );
    core.note_activity();
    assert_eq!(
        core.lock_view().state,
        LockState::Locked,
        "input opened the lock"
    );

    // A restart: the keychain session is there, the lock too.
    drop(core);
    let core = Core::load(env).expect("core again");
    assert!(matches!(
        core.session_state().expect("s"),
        SessionState::SignedIn { .. }
    ));
    assert_eq!(
        core.lock_view().state,
        LockState::Locked,
        "a restart opened the lock"
    );
    assert_eq!(
        core.lock_view().reason,
        None,
        "the cause is not kept across a restart"
    );
    refused(
        core.schedule_day(day.0, day.1).await.map(drop),
        "day view after restart",
    );

    // Someone else, or a wrong password: still locked.
    let other = s::totp(&sb, "drold", 0).await;
    let r = core.unlock(request("drold", PASSWORD, &other)).await;
    assert!(matches!(r, Err(CoreError::LockedForOther { .. })), "{r:?}");
    let next = s::totp(&sb, "drsmith", 1).await;
    assert!(
        core.unlock(request("drsmith", "wrong-password", &next))
            .await
            .is_err()
    );
    assert_eq!(core.lock_view().state, LockState::Locked);
    refused(
        core.schedule_day(day.0, day.1).await.map(drop),
        "day view after a wrong password",
    );

    core.unlock(request("drsmith", PASSWORD, &next))
        .await
        .expect("unlock");
    assert_eq!(core.lock_view().state, LockState::Open);
    assert!(core.schedule_day(day.0, day.1).await.is_ok());
    core.sign_out().await.expect("out");
    assert_eq!(core.lock_view().state, LockState::Idle);
    rounds_core::vault::Vault::open()
        .expect("vault")
        .delete_profile("managed")
        .expect("clean");
    let _ = std::fs::remove_dir_all(&root);
}

/// Shared hospital PC: the lock (idle or "Lock") is a sign-out: the keychain session goes, the
/// schedule cache file and its key go, and the view says "signed out" (not "locked").
async fn on_a_shared_pc_the_lock_signs_out_and_wipes_the_session() {
    use rounds_core::app::LockState;
    let sb = sandbox().await;
    let (root, env) = managed(
        &sb,
        "core-lock-shared",
        serde_json::json!({"shared_pc": true}),
    );
    let core = Core::load(env).expect("core");
    let code = s::totp(&sb, "drsmith", 0).await;
    core.sign_in(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in");
    core.schedule_day(0, 86_400).await.expect("cache opened");
    assert!(secret_tool_lookup("managed/session").is_some());
    assert!(secret_tool_lookup("managed/cache-key").is_some());
    let caches = || {
        let mut files = Vec::new();
        files_under(&root, &mut files);
        files
            .into_iter()
            .filter(|f| {
                let name = f
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                name.starts_with("schedule-") && name.ends_with(".db")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        caches().len(),
        1,
        "the schedule cache exists before the lock"
    );
    let ev = core.lock_now().await.expect("locks");
    assert!(ev.signed_out, "{ev:?}");
    assert_eq!(core.lock_view().state, LockState::SignedOut);
    assert_eq!(core.session_state().expect("s"), SessionState::SignedOut);
    for item in ["managed/session", "managed/refresh", "managed/cache-key"] {
        assert!(
            secret_tool_lookup(item).is_none(),
            "{item} kept on a shared PC"
        );
    }
    assert!(
        caches().is_empty(),
        "schedule cache kept on a shared PC: {:?}",
        caches()
    );
    let _ = std::fs::remove_dir_all(&root);
}
