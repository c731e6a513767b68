//! The four grants behind `POST /token` (§1.3–1.6): password (with the MFA challenge of D1),
//! MFA-OTP, refresh with rotation, authorization code + PKCE.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use time::Duration;

use crate::state::AppState;
use crate::users::{LoginError, Mfa};
use crate::util::{self, oauth_error};

use super::token::{check_scope, invalid_grant, issue_tokens, required};
use super::{Client, MfaPending};

/// `grant_type=password`: tokens on the password alone, or an `mfa_required` challenge when
/// the user has (or must enroll) an authenticator and the MFA grant is on (D1).
pub(super) fn password_grant(
    st: &AppState,
    client: &Client,
    p: &HashMap<String, String>,
) -> Result<Response, Response> {
    if !st.config().password_grant_enabled {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
            None,
        ));
    }
    let role = required(p, "user_role")?;
    let username = required(p, "username")?;
    let password = required(p, "password")?;
    if role != "users" {
        return Err(invalid_grant("The user credentials were incorrect.", None));
    }
    let scope = check_scope(client, p.get("scope").map(String::as_str))?;
    let now = st.now();
    let user = st
        .users
        .lock()
        .expect("users lock")
        .check_password(username, password, now);
    let user = match user {
        Ok(u) => u,
        Err(LoginError::BadCredentials) => {
            return Err(invalid_grant("The user credentials were incorrect.", None));
        }
        Err(LoginError::Locked(why)) => return Err(invalid_grant(&why, Some("account_locked"))),
        Err(LoginError::PasswordExpired) => {
            return Err(invalid_grant(
                "Password expired and the grace period is over; an administrator must reset it",
                Some("password_expired"),
            ));
        }
    };
    if !st.config().mfa_grant_enabled {
        // Stock OpenEMR: the password grant "does not support MFA" (§1.4).
        return Ok(issue_tokens(st, &user, &client.client_id, &scope, None));
    }
    let enrolled = match user.mfa {
        Mfa::NotRequired => return Ok(issue_tokens(st, &user, &client.client_id, &scope, None)),
        Mfa::MustEnroll => false,
        Mfa::Enrolled(_) => true,
    };
    let mfa_token = util::random_token();
    st.oauth.lock().expect("oauth lock").mfa.insert(
        mfa_token.clone(),
        MfaPending {
            username: user.username.clone(),
            client_id: client.client_id.clone(),
            scope,
            expires_at: now + Duration::seconds(300),
            pending_secret: None,
            failures: 0,
        },
    );
    Err(oauth_error(
        StatusCode::FORBIDDEN,
        "mfa_required",
        "Multifactor authentication required",
        Some(json!({"mfa_token": mfa_token, "mfa_enrolled": enrolled})),
    ))
}

/// The MFA-OTP grant: answers a pending challenge; the first good code also confirms an
/// enrollment from `/mfa/associate`. Five bad codes void the `mfa_token`.
pub(super) fn mfa_otp_grant(
    st: &AppState,
    client: &Client,
    p: &HashMap<String, String>,
) -> Result<Response, Response> {
    let mfa_token = required(p, "mfa_token")?;
    let otp = required(p, "otp")?;
    let now = st.now();
    let bad_token = || invalid_grant("mfa_token expired or invalid", None);
    let pending = {
        let o = st.oauth.lock().expect("oauth lock");
        o.mfa.get(mfa_token).cloned()
    };
    let Some(pending) = pending.filter(|m| m.expires_at > now && m.client_id == client.client_id)
    else {
        return Err(bad_token());
    };
    let mut users = st.users.lock().expect("users lock");
    let Some(user) = users.by_name.get(&pending.username).cloned() else {
        return Err(bad_token());
    };
    let (secret, enrolling) = match (&user.mfa, &pending.pending_secret) {
        (Mfa::Enrolled(s), _) => (s.clone(), false),
        (_, Some(s)) => (s.clone(), true),
        _ => {
            return Err(invalid_grant(
                "No authenticator is associated yet; call mfa/associate first",
                None,
            ));
        }
    };
    let lock_secs = st.config().otp_lock_seconds;
    match users.check_otp(&user.username, &secret, otp, now, lock_secs) {
        Ok(()) => {
            if enrolling && let Some(u) = users.by_name.get_mut(&user.username) {
                u.mfa = Mfa::Enrolled(secret);
            }
            drop(users);
            st.oauth.lock().expect("oauth lock").mfa.remove(mfa_token);
            Ok(issue_tokens(
                st,
                &user,
                &client.client_id,
                &pending.scope,
                None,
            ))
        }
        Err(Some(why)) => {
            drop(users);
            st.oauth.lock().expect("oauth lock").mfa.remove(mfa_token);
            Err(invalid_grant(&why, Some("account_locked")))
        }
        Err(None) => {
            drop(users);
            let mut o = st.oauth.lock().expect("oauth lock");
            if let Some(m) = o.mfa.get_mut(mfa_token) {
                m.failures += 1;
                if m.failures >= 5 {
                    o.mfa.remove(mfa_token);
                }
            }
            Err(invalid_grant("Invalid otp code.", None))
        }
    }
}

/// `grant_type=refresh_token`: single use (rotation), so a replayed token is reported as such.
pub(super) fn refresh_grant(
    st: &AppState,
    client: &Client,
    p: &HashMap<String, String>,
) -> Result<Response, Response> {
    let rt = required(p, "refresh_token")?;
    let now = st.now();
    let entry = {
        let mut o = st.oauth.lock().expect("oauth lock");
        let Some(e) = o.refresh.get_mut(rt) else {
            return Err(invalid_grant("The refresh token is invalid.", None));
        };
        if e.used {
            return Err(invalid_grant(
                "The refresh token has already been used (tokens rotate).",
                None,
            ));
        }
        if e.grant.expires_at <= now {
            return Err(invalid_grant("The refresh token has expired.", None));
        }
        if e.grant.client_id != client.client_id {
            return Err(invalid_grant(
                "The refresh token was issued to another client.",
                None,
            ));
        }
        e.used = true;
        e.clone()
    };
    let scope = match p.get("scope").filter(|s| !s.trim().is_empty()) {
        None => entry.grant.scope.clone(),
        Some(s) => {
            if let Some(x) = s.split_whitespace().find(|x| !entry.grant.has_scope(x)) {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    &format!("Scope not in the original grant: {x}"),
                    None,
                ));
            }
            s.clone()
        }
    };
    let users = st.users.lock().expect("users lock");
    let Some(user) = users.by_name.get(&entry.grant.username).cloned() else {
        return Err(invalid_grant("The refresh token is invalid.", None));
    };
    drop(users);
    if user.locked(now) {
        return Err(invalid_grant(&user.lock_reason, Some("account_locked")));
    }
    Ok(issue_tokens(st, &user, &client.client_id, &scope, None))
}

/// `grant_type=authorization_code`: single-use code bound to client and redirect, PKCE S256.
pub(super) fn code_grant(
    st: &AppState,
    client: &Client,
    p: &HashMap<String, String>,
) -> Result<Response, Response> {
    let code = required(p, "code")?;
    let redirect_uri = required(p, "redirect_uri")?;
    let now = st.now();
    let Some(c) = st.oauth.lock().expect("oauth lock").codes.remove(code) else {
        return Err(invalid_grant(
            "Authorization code is invalid or already used",
            None,
        ));
    };
    if c.expires_at <= now || c.client_id != client.client_id || c.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "Authorization code is invalid, expired, or was issued to another client",
            None,
        ));
    }
    if let Some(challenge) = &c.code_challenge {
        let verifier = required(p, "code_verifier")?;
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        if &util::b64url(d.as_ref()) != challenge {
            return Err(invalid_grant("Failed to verify code_verifier", None));
        }
    }
    let user = st
        .users
        .lock()
        .expect("users lock")
        .by_name
        .get(&c.username)
        .cloned();
    let Some(user) = user else {
        return Err(invalid_grant("Unknown user", None));
    };
    Ok(issue_tokens(
        st,
        &user,
        &client.client_id,
        &c.scope,
        c.nonce.as_deref(),
    ))
}
