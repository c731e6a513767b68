//! Password rotation and the password change (issue 10) through `Core`, against the sandbox
//! over TLS, tokens in the real Secret Service (private throwaway gnome-keyring).
//!
//! TOTP codes are single-use per 30-s step and the sandbox accepts only the previous, current
//! and next step: where a test needs another valid code for the same user it moves the
//! sandbox's clock on by one step (`next_step`) and asks for the code of "now".

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rounds_clinic_tests::auth_support::{
    self as s, Case, PASSWORD, clinic_requests, request, secret_tool_lookup,
};
use rounds_clinic_tests::{case, control, sandbox, temp_dir};
use rounds_core::app::{Environment, PasswordChangeError as E, PasswordView};
use rounds_core::auth::SessionState;
use rounds_core::config::{Profile, UserConfig};
use rounds_core::paths::Paths;
use rounds_core::rotation::RotationState;
use rounds_core::secret::Secret;
use rounds_core::{Core, CoreError};
use rounds_sandbox::Sandbox;
use time::{Duration, OffsetDateTime};

fn main() {
    let cases: &[Case] = &[
        case!(status_ok_reminder_expired_and_unknown),
        case!(snooze_hides_the_reminder_until_the_next_local_day),
        case!(change_refusals_are_shown_and_leave_the_session),
        case!(change_succeeds_then_tokens_are_gone_and_revoked),
    ];
    s::run(cases)
}

const NEW_PASSWORD: &str = "Quartz-Meadow-Lantern-47!";

/// A core with one profile on the sandbox (no user name in the profile: the remembered one
/// from the last sign-in is used), the sandbox CA as hospital CA.
fn core_on(sb: &Sandbox, tag: &str) -> (Core, std::path::PathBuf) {
    // A case that failed earlier may have left its items (and another sandbox's client).
    let _ = rounds_core::vault::Vault::open()
        .expect("vault")
        .delete_profile("clinic");
    let root = temp_dir(tag);
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
            display_name: "Rotation Test".into(),
            server_url: url::Url::parse(&sb.ready.base_url).expect("url"),
            site: sb.ready.site.clone(),
            username: None,
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
    (core, root)
}

async fn sign_in(core: &Core, sb: &Sandbox, user: &str, password: &str) {
    let code = s::totp(sb, user, 0).await;
    let st = core
        .sign_in_keychain(request(user, password, &code))
        .await
        .expect("sign in");
    assert!(
        matches!(&st, SessionState::SignedIn { user: u, .. } if u == user),
        "{st:?}"
    );
}

/// Moves the sandbox's clock on by one TOTP step, so "now" has a code not used yet.
async fn next_step(sb: &Sandbox) {
    control(
        sb,
        "POST",
        "/control/time",
        serde_json::json!({"advance_seconds": 30}),
    )
    .await;
}

fn secret(s: &str) -> Secret {
    Secret::new(s.into())
}

fn password_error(r: Result<SessionState, CoreError>) -> E {
    match r {
        Err(CoreError::Password(e)) => e,
        other => panic!("expected a password change error, got {other:?}"),
    }
}

fn cleanup(root: &std::path::Path) {
    let _ = rounds_core::vault::Vault::open()
        .expect("vault")
        .delete_profile("clinic");
    let _ = std::fs::remove_dir_all(root);
}

fn local_date(t: OffsetDateTime) -> String {
    let d = t.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// drsmith fresh (Ok), drold 175 days (Reminder: 5 days, stage 7), drgrace in the grace
/// period (Expired, even after a snooze); a server without the endpoint → Unknown. Real
/// system clock and time zone here.
async fn status_ok_reminder_expired_and_unknown() {
    let sb = sandbox().await;
    let (core, root) = core_on(&sb, "pw-status");

    sign_in(&core, &sb, "drsmith", PASSWORD).await;
    let v = core.password_status().await.expect("status drsmith");
    assert_eq!(v.state, RotationState::Ok, "{v:?}");
    assert_eq!((v.days_left, v.stage, v.remind), (Some(160), None, false));
    assert_eq!(v.min_length, 9, "the server's 9 beats policy's 8");
    assert!(v.server_requires_composition);
    assert_eq!(v.history_count, 5);
    core.sign_out().await.expect("out");

    sign_in(&core, &sb, "drold", PASSWORD).await;
    let v = core.password_status().await.expect("status drold");
    assert_eq!(
        (v.state, v.days_left, v.stage, v.remind),
        (RotationState::Reminder, Some(5), Some(7), true),
        "{v:?}"
    );
    // Due in 5 days: the local date of that, whatever this computer's zone (±14 h of UTC).
    let due = OffsetDateTime::now_utc() + Duration::days(5);
    let near: Vec<String> = [-1, 0, 1]
        .iter()
        .map(|d| local_date(due + Duration::days(*d)))
        .collect();
    assert!(
        v.due_on.as_ref().is_some_and(|d| near.contains(d)),
        "{:?} not in {near:?}",
        v.due_on
    );
    core.sign_out().await.expect("out");

    sign_in(&core, &sb, "drgrace", PASSWORD).await;
    let v = core.password_status().await.expect("status drgrace");
    assert_eq!(v.state, RotationState::Expired, "{v:?}");
    assert_eq!((v.days_left, v.remind, v.stage), (Some(-15), false, None));
    assert!(v.grace_ends_on.is_some());
    // The expired flow cannot be snoozed away.
    core.snooze_password_reminder().expect("snooze");
    let v = core.password_status().await.expect("status drgrace again");
    assert_eq!(v.state, RotationState::Expired, "snooze must not hide it");

    // A server without the endpoint (plain OpenEMR): 404 → Unknown, nothing to show.
    control(
        &sb,
        "POST",
        "/control/faults",
        serde_json::json!({"path": format!("/apis/{}/clinic/password/status", sb.ready.site),
            "kind": "status", "status": 404, "times": 1}),
    )
    .await;
    let v = core.password_status().await.expect("status on 404");
    assert_eq!(
        v,
        PasswordView {
            state: RotationState::Unknown,
            due_on: None,
            days_left: None,
            remind: false,
            stage: None,
            grace_ends_on: None,
            min_length: 8,
            server_requires_composition: false,
            history_count: 0,
        }
    );
    // Nothing the UI gets holds a secret.
    let json = serde_json::to_string(&v).expect("json");
    assert!(!json.contains(PASSWORD));
    core.sign_out().await.expect("out");
    cleanup(&root);
}

/// drold: reminded; snoozed → not reminded the same day; the injected clock moved to the next
/// local day → reminded again (4 days left, still stage 7).
async fn snooze_hides_the_reminder_until_the_next_local_day() {
    let sb = sandbox().await;
    let (core, root) = core_on(&sb, "pw-snooze");
    let shift = Arc::new(AtomicI64::new(0));
    let clock = shift.clone();
    core.set_clock_for_tests(move || {
        OffsetDateTime::now_utc() + Duration::seconds(clock.load(Ordering::SeqCst))
    });
    sign_in(&core, &sb, "drold", PASSWORD).await;

    let v = core.password_status().await.expect("status");
    assert_eq!(
        (v.state, v.remind, v.days_left),
        (RotationState::Reminder, true, Some(5))
    );
    core.snooze_password_reminder().expect("snooze");
    let v = core.password_status().await.expect("status after snooze");
    assert_eq!(
        (v.state, v.remind, v.stage),
        (RotationState::Reminder, false, Some(7)),
        "snoozed today: no reminder, still the same state"
    );
    let saved = UserConfig::load(&core.environment().paths.config_file()).expect("config");
    assert_eq!(
        saved
            .password_snoozed
            .get("clinic/drold")
            .map(String::as_str),
        Some(local_date(OffsetDateTime::now_utc()).as_str())
    );

    // One second after the next (UTC = injected local) midnight.
    let now = OffsetDateTime::now_utc();
    let next = (now.date() + Duration::days(1)).midnight().assume_utc();
    shift.store((next - now).whole_seconds() + 1, Ordering::SeqCst);
    let v = core.password_status().await.expect("status next day");
    assert_eq!(
        (v.state, v.remind, v.days_left, v.stage),
        (RotationState::Reminder, true, Some(4), Some(7)),
        "{v:?}"
    );
    core.sign_out().await.expect("out");
    cleanup(&root);
}

/// drsmith: every refusal of the server comes back as its own error; a locally weak password
/// is refused without a request; after each, the keychain still holds the same session.
async fn change_refusals_are_shown_and_leave_the_session() {
    let sb = sandbox().await;
    let (core, root) = core_on(&sb, "pw-errors");
    sign_in(&core, &sb, "drsmith", PASSWORD).await;
    let session = secret_tool_lookup("clinic/session").expect("session");
    let refresh = secret_tool_lookup("clinic/refresh").expect("refresh");
    let untouched = |what: &str| {
        // Compared, never printed (a failure message shows no token).
        assert!(
            secret_tool_lookup("clinic/session").as_deref() == Some(session.as_str()),
            "{what}: the session must stay as it was"
        );
        assert!(
            secret_tool_lookup("clinic/refresh").as_deref() == Some(refresh.as_str()),
            "{what}: the refresh token must stay as it was"
        );
        assert!(matches!(
            core.session_state().expect("state"),
            SessionState::SignedIn { .. }
        ));
    };

    let code = s::totp(&sb, "drsmith", 1).await;
    let e = password_error(
        core.change_password(
            secret("Not-The-Password-9!"),
            secret(NEW_PASSWORD),
            Some(secret(&code)),
        )
        .await,
    );
    assert_eq!(e, E::WrongCurrentPassword);
    untouched("wrong current password");

    let e = password_error(
        core.change_password(secret(PASSWORD), secret(NEW_PASSWORD), None)
            .await,
    );
    assert_eq!(e, E::CodeRequired);
    untouched("no code");

    let bad = s::wrong_totp(&sb, "drsmith").await;
    let e = password_error(
        core.change_password(secret(PASSWORD), secret(NEW_PASSWORD), Some(secret(&bad)))
            .await,
    );
    assert_eq!(e, E::WrongCode);
    untouched("wrong code");

    // Strong by Rounds' meter (a long passphrase), too weak by OpenEMR's composition rule.
    next_step(&sb).await;
    let passphrase = "plum ocean tractor lantern velvet";
    assert!(
        core.check_new_password(&secret(passphrase), 9).acceptable,
        "the passphrase must pass our own check for this case"
    );
    let code = s::totp(&sb, "drsmith", 0).await;
    let e = password_error(
        core.change_password(secret(PASSWORD), secret(passphrase), Some(secret(&code)))
            .await,
    );
    assert_eq!(
        e,
        E::TooWeak {
            violations: vec!["strength".into()]
        }
    );
    untouched("too weak for the server");

    // The current password again.
    next_step(&sb).await;
    let code = s::totp(&sb, "drsmith", 0).await;
    let e = password_error(
        core.change_password(secret(PASSWORD), secret(PASSWORD), Some(secret(&code)))
            .await,
    );
    assert_eq!(e, E::Reused { history_count: 5 });
    untouched("reused");

    // Locally weak: refused before anything is sent.
    let before = change_requests(&sb);
    let e = password_error(
        core.change_password(secret(PASSWORD), secret("Password1!"), None)
            .await,
    );
    assert!(
        matches!(&e, E::WeakLocally { problems } if !problems.is_empty()),
        "{e:?}"
    );
    assert_eq!(change_requests(&sb), before, "nothing may be sent");
    assert!(before > 0, "the server cases above did reach the server");
    untouched("locally weak");

    // A server without the endpoint.
    control(
        &sb,
        "POST",
        "/control/faults",
        serde_json::json!({"path": format!("/apis/{}/clinic/password/change", sb.ready.site),
            "kind": "status", "status": 404, "times": 1}),
    )
    .await;
    let e = password_error(
        core.change_password(secret(PASSWORD), secret(NEW_PASSWORD), None)
            .await,
    );
    assert_eq!(e, E::NotSupported);
    untouched("not supported");

    core.sign_out().await.expect("out");
    cleanup(&root);
}

fn change_requests(sb: &Sandbox) -> usize {
    clinic_requests(sb)
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/clinic/password/change"))
        .count()
}

/// drold changes the password: SignedOut, no session or refresh token in the keychain, the
/// user name still pre-filled, the old refresh token refused by the server; signing in with
/// the new password works, the status is Ok, and the old password is now a reused one.
async fn change_succeeds_then_tokens_are_gone_and_revoked() {
    let sb = sandbox().await;
    let (core, root) = core_on(&sb, "pw-change");
    sign_in(&core, &sb, "drold", PASSWORD).await;
    let old_refresh = secret_tool_lookup("clinic/refresh").expect("refresh");

    next_step(&sb).await;
    let code = s::totp(&sb, "drold", 0).await;
    let st = core
        .change_password(secret(PASSWORD), secret(NEW_PASSWORD), Some(secret(&code)))
        .await
        .expect("password changed");
    assert_eq!(st, SessionState::SignedOut);
    assert!(
        secret_tool_lookup("clinic/session").is_none(),
        "the session token must leave the keychain"
    );
    assert!(
        secret_tool_lookup("clinic/refresh").is_none(),
        "the refresh token must leave the keychain"
    );
    assert_eq!(
        core.session_state().expect("state"),
        SessionState::SignedOut
    );
    assert_eq!(
        core.app_info().server.and_then(|s| s.username).as_deref(),
        Some("drold"),
        "the sign-in form pre-fills the user name"
    );

    // The server revoked the old refresh token: put it back and try to renew with it.
    assert!(
        !sb.state
            .oauth
            .lock()
            .expect("oauth")
            .refresh
            .contains_key(&old_refresh),
        "revoked in the server's store"
    );
    rounds_core::vault::Vault::open()
        .expect("vault")
        .put(
            "clinic",
            rounds_core::vault::ItemKind::Refresh,
            &secret(&old_refresh),
            Some(rounds_core::vault::items::unix_now() + 3600),
            None,
        )
        .expect("put old refresh back");
    let n = clinic_requests(&sb).len();
    assert!(
        core.renew_session().await.is_err(),
        "old refresh token works"
    );
    let token_calls: Vec<_> = clinic_requests(&sb)[n..]
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/token"))
        .cloned()
        .collect();
    assert!(
        !token_calls.is_empty() && token_calls.iter().all(|(_, _, st)| *st == 400),
        "the server itself refused it: {token_calls:?}"
    );
    let _ = core.sign_out().await;

    // The old password no longer signs in; the new one (+ a fresh code) does.
    next_step(&sb).await;
    let code = s::totp(&sb, "drold", 0).await;
    assert!(
        core.sign_in_keychain(request("drold", PASSWORD, &code))
            .await
            .is_err(),
        "old password still accepted"
    );
    next_step(&sb).await;
    sign_in(&core, &sb, "drold", NEW_PASSWORD).await;
    let v = core.password_status().await.expect("status after change");
    assert_eq!(
        (v.state, v.remind, v.days_left),
        (RotationState::Ok, false, Some(180)),
        "{v:?}"
    );

    // Back to the previous password: refused by the server's history.
    next_step(&sb).await;
    let code = s::totp(&sb, "drold", 0).await;
    let e = password_error(
        core.change_password(secret(NEW_PASSWORD), secret(PASSWORD), Some(secret(&code)))
            .await,
    );
    assert_eq!(e, E::Reused { history_count: 5 });
    assert!(secret_tool_lookup("clinic/session").is_some());
    assert!(secret_tool_lookup("clinic/refresh").is_some());

    core.sign_out().await.expect("out");
    cleanup(&root);
}
