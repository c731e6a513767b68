//! Sign-in against the sandbox clinic (in-process, loopback TLS) with the tokens in the real
//! Secret Service (throwaway gnome-keyring on a private D-Bus session; the binary re-runs
//! itself there). The keychain is read back through `secret-tool`, not through Rounds.

use rounds_clinic_tests::auth_support::{
    self as s, Case, PASSWORD, TestTransport, account, request, secret_tool_accounts,
    secret_tool_items, secret_tool_lookup,
};
use rounds_clinic_tests::{case, sandbox};
use rounds_core::auth::transport::{Param, Transport as _};
use rounds_core::auth::{AuthError, Authenticator, SessionState, SignInOutcome};
use rounds_core::secret::Secret;
use rounds_core::vault::ItemKind;
use rounds_core::vault::items::unix_now;
use std::sync::atomic::{AtomicI64, Ordering};

fn main() {
    let cases: &[Case] = &[
        case!(enrolled_user_signs_in_tokens_only_in_keychain),
        case!(wrong_password_is_named_and_no_code_is_sent),
        case!(wrong_code_is_named_and_no_session_is_stored),
        case!(replayed_code_is_named),
        case!(locked_account_and_expired_password_are_named),
        case!(unreachable_server_passes_the_network_error_through),
        case!(enrollment_shows_the_secret_once_and_confirms_with_the_first_code),
        case!(refresh_rotates_and_the_old_refresh_token_is_dead),
        case!(expired_session_is_purged_and_renewed),
        case!(sign_out_wipes_session_and_refresh_token),
        case!(two_profiles_and_remove_profile),
        case!(timing_valid_code_to_signed_in),
    ];
    s::run(cases)
}

fn items_of(profile: &str) -> Vec<String> {
    secret_tool_accounts()
        .into_iter()
        .filter(|a| a.starts_with(&format!("{profile}/")))
        .collect()
}

async fn enrolled_user_signs_in_tokens_only_in_keychain() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let acct = account(&sb, "smith-a", "drsmith");
    assert_eq!(auth.state(&acct).expect("state"), SessionState::SignedOut);
    let before = unix_now();
    let ok = s::sign_in(&auth, &sb, &acct).await;
    assert_eq!(ok.user, "drsmith");
    assert!(
        ok.until >= before + 3590 && ok.until <= unix_now() + 3600,
        "{ok:?}"
    );

    // In the keychain (read by libsecret): client secret, refresh and access token, each with
    // its expiry; the access token works against the clinic.
    assert_eq!(
        items_of("smith-a"),
        ["smith-a/client", "smith-a/refresh", "smith-a/session"]
    );
    let items = secret_tool_items();
    let exp = |acct: &str| -> i64 {
        items
            .iter()
            .find(|m| m.get("username").map(String::as_str) == Some(acct))
            .and_then(|m| m.get("rounds_expires"))
            .and_then(|e| e.parse().ok())
            .expect("expiry attribute")
    };
    assert_eq!(exp("smith-a/session"), ok.until);
    assert!(exp("smith-a/refresh") > unix_now() + 89 * 24 * 3600);
    let access = secret_tool_lookup("smith-a/session").expect("access token");
    let refresh = secret_tool_lookup("smith-a/refresh").expect("refresh token");
    let userinfo = reqwest_get_bearer(&sb, "userinfo", &access).await;
    assert_eq!(userinfo.0, 200, "the stored access token works");

    // The UI's state: plain data with neither token in it.
    let state = auth.state(&acct).expect("state");
    assert!(
        matches!(&state, SessionState::SignedIn { user, until } if user == "drsmith" && *until == ok.until)
    );
    let json = serde_json::to_string(&state).expect("json");
    assert!(no_secret_in(&json, &[&access, &refresh]), "{json}");
    let dbg = format!("{ok:?} {state:?}");
    assert!(no_secret_in(&dbg, &[&access, &refresh]), "{dbg}");

    // The sandbox saw the password only on the password grant, the code only on the MFA grant.
    let reqs = sb.state.requests.lock().expect("log").clone();
    let token_calls: Vec<_> = reqs.iter().filter(|r| r.path.ends_with("/token")).collect();
    assert_eq!(token_calls.len(), 2);
    assert!(token_calls[0].has_password && !token_calls[0].has_otp);
    assert!(token_calls[1].has_otp && !token_calls[1].has_password);
    auth.sign_out("smith-a").expect("out");
    v.delete_profile("smith-a").expect("clean");
}

/// The check the scan relies on: `hay` contains none of the secrets (raw).
fn no_secret_in(hay: &str, secrets: &[&str]) -> bool {
    secrets.iter().all(|s| s.len() < 8 || !hay.contains(s))
}

async fn reqwest_get_bearer(
    sb: &rounds_sandbox::Sandbox,
    what: &str,
    token: &str,
) -> (u16, serde_json::Value) {
    let pem = std::fs::read(&sb.ready.ca_pem).expect("ca");
    let c = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
        .build()
        .expect("client");
    let r = c
        .get(format!(
            "{}/oauth2/{}/{what}",
            sb.ready.base_url, sb.ready.site
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or_default())
}

async fn wrong_password_is_named_and_no_code_is_sent() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let acct = account(&sb, "smith-b", "drsmith");
    let code = s::totp(&sb, "drsmith", 0).await;
    let e = auth
        .sign_in(&acct, request("drsmith", "Not-The-Password-1!", &code))
        .await
        .expect_err("wrong password");
    assert!(matches!(e, AuthError::WrongPassword), "{e:?}");
    let reqs = sb.state.requests.lock().expect("log").clone();
    assert!(reqs.iter().all(|r| !r.has_otp), "the code never left");
    // Only the (self-registered) client is in the keychain; no token.
    assert_eq!(items_of("smith-b"), ["smith-b/client"]);
    assert_eq!(auth.state(&acct).expect("state"), SessionState::SignedOut);
    v.delete_profile("smith-b").expect("clean");
}

async fn wrong_code_is_named_and_no_session_is_stored() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let acct = account(&sb, "smith-c", "drsmith");
    let bad = s::wrong_totp(&sb, "drsmith").await;
    let e = auth
        .sign_in(&acct, request("drsmith", PASSWORD, &bad))
        .await
        .expect_err("wrong code");
    assert!(matches!(e, AuthError::WrongCode), "{e:?}");
    assert_eq!(items_of("smith-c"), ["smith-c/client"]);
    // No code at all: asked for, not guessed.
    let e = auth
        .sign_in(&acct, request("drsmith", PASSWORD, ""))
        .await
        .expect_err("no code");
    assert!(matches!(e, AuthError::MfaRequired), "{e:?}");
    v.delete_profile("smith-c").expect("clean");
}

async fn replayed_code_is_named() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let acct = account(&sb, "smith-d", "drsmith");
    let code = s::totp(&sb, "drsmith", 0).await;
    let out = auth
        .sign_in(&acct, request("drsmith", PASSWORD, &code))
        .await
        .expect("first use");
    assert!(matches!(out, SignInOutcome::SignedIn(_)));
    auth.sign_out("smith-d").expect("out");
    let e = auth
        .sign_in(&acct, request("drsmith", PASSWORD, &code))
        .await
        .expect_err("replay");
    assert!(matches!(e, AuthError::CodeAlreadyUsed), "{e:?}");
    // The server refused it (the name is ours, the refusal is the server's).
    let last = sb
        .state
        .requests
        .lock()
        .expect("log")
        .last()
        .cloned()
        .expect("req");
    assert!(
        last.path.ends_with("/token") && last.status == 400,
        "{last:?}"
    );
    // Another Rounds (no memory of the code) gets the plain "wrong code".
    let other = Authenticator::new(TestTransport::new(&sb), &v);
    let e = other
        .sign_in(&acct, request("drsmith", PASSWORD, &code))
        .await
        .expect_err("replay elsewhere");
    assert!(matches!(e, AuthError::WrongCode), "{e:?}");
    assert_eq!(items_of("smith-d"), ["smith-d/client"]);
    v.delete_profile("smith-d").expect("clean");
}

async fn locked_account_and_expired_password_are_named() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let acct = account(&sb, "expired", "drexpired");
    let e = auth
        .sign_in(&acct, request("drexpired", PASSWORD, "123456"))
        .await
        .expect_err("expired");
    assert!(matches!(e, AuthError::PasswordExpired), "{e:?}");

    let acct = account(&sb, "smith-e", "drsmith");
    let bad = s::wrong_totp(&sb, "drsmith").await;
    let mut last = None;
    for _ in 0..6 {
        let e = auth
            .sign_in(&acct, request("drsmith", PASSWORD, &bad))
            .await
            .expect_err("wrong");
        let locked = matches!(e, AuthError::AccountLocked { .. });
        last = Some(e);
        if locked {
            break;
        }
    }
    assert!(
        matches!(last, Some(AuthError::AccountLocked { .. })),
        "{last:?}"
    );
    // Locked means locked: even the right code is refused now.
    let good = s::totp(&sb, "drsmith", 0).await;
    let e = auth
        .sign_in(&acct, request("drsmith", PASSWORD, &good))
        .await
        .expect_err("still locked");
    assert!(matches!(e, AuthError::AccountLocked { .. }), "{e:?}");
    assert_eq!(items_of("smith-e"), ["smith-e/client"]);
    v.delete_profile("smith-e").expect("clean");
    v.delete_profile("expired").expect("clean");
}

async fn unreachable_server_passes_the_network_error_through() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let mut acct = account(&sb, "nowhere", "drsmith");
    acct.server = url::Url::parse("https://127.0.0.1:9/").expect("url");
    let e = auth
        .sign_in(&acct, request("drsmith", PASSWORD, "123456"))
        .await
        .expect_err("unreachable");
    assert!(matches!(e, AuthError::Net(_)), "{e:?}");
    assert!(items_of("nowhere").is_empty());
}

async fn enrollment_shows_the_secret_once_and_confirms_with_the_first_code() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let acct = account(&sb, "jones", "drjones");
    let out = auth
        .sign_in(&acct, request("drjones", PASSWORD, ""))
        .await
        .expect("password step");
    let SignInOutcome::NeedsEnrollment(e) = out else {
        panic!("expected enrollment")
    };
    assert!(e.otpauth_uri.expose().starts_with("otpauth://totp/"));
    assert!(e.otpauth_uri.expose().contains(e.secret.expose()));
    assert!(
        !format!("{e:?}").contains(e.secret.expose()),
        "Debug hides it"
    );
    assert_eq!(
        auth.state(&acct).expect("state"),
        SessionState::NeedsMfaEnrollment {
            user: "drjones".into()
        }
    );
    // Nothing of the enrollment reaches the keychain (only the client).
    assert_eq!(items_of("jones"), ["jones/client"]);

    // The clinician's phone computes the first code from what was shown.
    let key = s::base32_decode(e.secret.expose()).expect("base32");
    let now = s::sandbox_now(&sb).await;
    let wrong = if s::totp_at(&key, now) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let err = auth
        .confirm_enrollment(&acct, Secret::new(wrong.into()))
        .await
        .expect_err("wrong first code");
    assert!(matches!(err, AuthError::WrongCode), "{err:?}");
    let ok = auth
        .confirm_enrollment(&acct, Secret::new(s::totp_at(&key, now)))
        .await
        .expect("confirmed");
    assert_eq!(ok.user, "drjones");
    drop(e);
    assert!(matches!(
        auth.state(&acct).expect("state"),
        SessionState::SignedIn { .. }
    ));
    // The server now has drjones enrolled with that very secret.
    assert_eq!(
        s::totp(&sb, "drjones", 0).await,
        s::totp_at(&key, s::sandbox_now(&sb).await)
    );
    assert_eq!(
        items_of("jones"),
        ["jones/client", "jones/refresh", "jones/session"]
    );
    // The TOTP secret is in no keychain item.
    let key_b32 = s::base32_encode_for_test(&key);
    for a in secret_tool_accounts() {
        let val = secret_tool_lookup(&a).unwrap_or_default();
        assert!(!val.contains(&key_b32), "{a} holds the TOTP secret");
    }
    let again = auth
        .confirm_enrollment(&acct, Secret::new("123456".into()))
        .await
        .expect_err("no pending enrollment");
    assert!(matches!(again, AuthError::NoEnrollment), "{again:?}");
    v.delete_profile("jones").expect("clean");
}

async fn refresh_rotates_and_the_old_refresh_token_is_dead() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let acct = account(&sb, "smith-f", "drsmith");
    s::sign_in(&auth, &sb, &acct).await;
    let old_rt = secret_tool_lookup("smith-f/refresh").expect("rt");
    let old_at = secret_tool_lookup("smith-f/session").expect("at");
    let renewed = auth.refresh(&acct).await.expect("refresh");
    assert_eq!(renewed.user, "drsmith");
    let new_rt = secret_tool_lookup("smith-f/refresh").expect("rt2");
    let new_at = secret_tool_lookup("smith-f/session").expect("at2");
    assert_ne!(old_rt, new_rt, "refresh token rotated");
    assert_ne!(old_at, new_at, "new access token");
    assert_eq!(items_of("smith-f").len(), 3, "replaced, not added");

    // The old refresh token is dead at the server.
    let t = TestTransport::new(&sb);
    let client = secret_tool_lookup("smith-f/client").expect("client secret");
    let client_id = secret_tool_items()
        .into_iter()
        .find(|m| m.get("username").map(String::as_str) == Some("smith-f/client"))
        .and_then(|m| m.get("rounds_client_id").cloned())
        .expect("client id");
    let token_url = url::Url::parse(&format!(
        "{}/oauth2/{}/token",
        sb.ready.base_url, sb.ready.site
    ))
    .expect("url");
    let r = t
        .post_form(
            &token_url,
            vec![
                ("grant_type", Param::Text("refresh_token".into())),
                ("client_id", Param::Text(client_id)),
                ("client_secret", Param::Secret(Secret::new(client))),
                ("refresh_token", Param::Secret(Secret::new(old_rt))),
            ],
        )
        .await
        .expect("post");
    assert_eq!((r.status, r.str("error")), (400, Some("invalid_grant")));
    // The new one still works, through Rounds.
    auth.refresh(&acct).await.expect("second refresh");

    // A refresh token the server killed ends the session and leaves nothing behind.
    s::control_post(
        &sb,
        "/control/tokens/expire",
        serde_json::json!({"username": "drsmith", "refresh": true}),
    )
    .await;
    let e = auth.refresh(&acct).await.expect_err("dead");
    assert!(matches!(e, AuthError::SessionExpired), "{e:?}");
    assert_eq!(items_of("smith-f"), ["smith-f/client"]);
    v.delete_profile("smith-f").expect("clean");
}

static SKEW: AtomicI64 = AtomicI64::new(0);
fn skewed_now() -> i64 {
    unix_now() + SKEW.load(Ordering::Relaxed)
}

async fn expired_session_is_purged_and_renewed() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v).with_clock(skewed_now);
    let acct = account(&sb, "smith-g", "drsmith");
    let first = s::sign_in(&auth, &sb, &acct).await;
    let at1 = secret_tool_lookup("smith-g/session").expect("at");
    // Still fresh: the stored token is used as is.
    assert_eq!(auth.access_token(&acct).await.expect("token").expose(), at1);

    // Within the renewal margin: renewed, never the old one.
    SKEW.store(3600 - 60, Ordering::Relaxed);
    let at2 = auth.access_token(&acct).await.expect("renewed");
    assert_ne!(at2.expose(), at1);
    assert_eq!(
        secret_tool_lookup("smith-g/session").as_deref(),
        Some(at2.expose())
    );

    // The start-up purge an hour later: the session item is gone from the keychain.
    let later = skewed_now() + 3601;
    let gone = v.purge_expired(&[], later).expect("purge");
    assert!(
        gone.iter()
            .any(|i| i.profile == "smith-g" && i.kind == ItemKind::Session),
        "{gone:?}"
    );
    assert_eq!(secret_tool_lookup("smith-g/session"), None);
    assert!(
        secret_tool_lookup("smith-g/refresh").is_some(),
        "refresh token lives on"
    );
    SKEW.store(0, Ordering::Relaxed);
    assert!(first.until > 0);
    v.delete_profile("smith-g").expect("clean");
}

async fn sign_out_wipes_session_and_refresh_token() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let acct = account(&sb, "smith-h", "drsmith");
    s::sign_in(&auth, &sb, &acct).await;
    assert_eq!(items_of("smith-h").len(), 3);
    auth.sign_out("smith-h").expect("sign out");
    assert_eq!(items_of("smith-h"), ["smith-h/client"]);
    assert_eq!(auth.state(&acct).expect("state"), SessionState::SignedOut);
    // Shared PC: nothing long-lived is kept even while signed in.
    let shared = Authenticator::new(TestTransport::new(&sb), &v).keep_refresh(false);
    let code = s::totp(&sb, "drsmith", 1).await;
    // (the next step's code: the current one was used above)
    let out = shared
        .sign_in(&acct, request("drsmith", PASSWORD, &code))
        .await
        .expect("shared sign-in");
    assert!(matches!(out, SignInOutcome::SignedIn(_)));
    assert_eq!(items_of("smith-h"), ["smith-h/client", "smith-h/session"]);
    v.delete_profile("smith-h").expect("clean");
}

async fn two_profiles_and_remove_profile() {
    let a = sandbox().await;
    let b = sandbox().await;
    let v = s::vault();
    let auth_a = Authenticator::new(TestTransport::new(&a), &v);
    let auth_b = Authenticator::new(TestTransport::new(&b), &v);
    let pa = account(&a, "clinic-a", "drsmith");
    let pb = account(&b, "clinic-b", "drsmith");
    s::sign_in(&auth_a, &a, &pa).await;
    s::sign_in(&auth_b, &b, &pb).await;
    assert_ne!(
        secret_tool_lookup("clinic-a/session"),
        secret_tool_lookup("clinic-b/session")
    );
    let list = v.list(&[]).expect("list");
    assert_eq!(list.iter().filter(|i| i.profile == "clinic-a").count(), 3);
    assert_eq!(list.iter().filter(|i| i.profile == "clinic-b").count(), 3);
    auth_a.sign_out("clinic-a").expect("out a");
    assert!(matches!(
        auth_b.state(&pb).expect("b"),
        SessionState::SignedIn { .. }
    ));
    assert_eq!(items_of("clinic-b").len(), 3);
    // Remove profile b: every item of it goes, a's client stays.
    assert_eq!(v.delete_profile("clinic-b").expect("remove"), 3);
    assert!(items_of("clinic-b").is_empty());
    assert_eq!(items_of("clinic-a"), ["clinic-a/client"]);
    v.delete_profile("clinic-a").expect("clean");
}

/// From a valid code to the signed-in state: server time vs Rounds' own (keychain writes).
async fn timing_valid_code_to_signed_in() {
    let sb = sandbox().await;
    let v = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &v);
    let mut rows = Vec::new();
    for i in 0..5 {
        let user = format!("bench{i}");
        s::control_post(
            &sb,
            "/control/users",
            serde_json::json!({"username": user, "password": PASSWORD, "mfa": "enrolled"}),
        )
        .await;
        let acct = account(&sb, &format!("bench-{i}"), &user);
        let ok = s::sign_in(&auth, &sb, &acct).await;
        rows.push((ok.timing.server, ok.timing.keychain));
        v.delete_profile(&acct.profile).expect("clean");
    }
    for (srv, kc) in &rows {
        println!("    valid code → signed in: server {srv:?}, Rounds (keychain writes) {kc:?}");
    }
}
