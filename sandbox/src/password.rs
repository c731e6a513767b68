//! Password status and change for the signed-in user (§2.2–2.3, sandbox deviation D3).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::oauth::grant_from_headers;
use crate::state::AppState;
use crate::users::{Mfa, NewPasswordError};
use crate::util::{json_response, oauth_error};

fn invalid_token() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "The access token is missing, invalid or expired",
        None,
    )
}

/// `GET /apis/{site}/clinic/password/status`.
pub async fn status(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(g) = grant_from_headers(&st, &headers) else {
        return invalid_token();
    };
    let users = st.users.lock().expect("users lock");
    let Some(u) = users.by_name.get(&g.username) else {
        return invalid_token();
    };
    let s = users.status(u, st.now());
    let mut body = json!({
        "policy": users.policy,
        "last_changed_at": s.last_changed_at,
        "expires_at": s.expires_at,
        "grace_ends_at": s.grace_ends_at,
        "state": s.state,
        "mfa_enrolled": matches!(u.mfa, Mfa::Enrolled(_)),
    });
    body["policy"]
        .as_object_mut()
        .map(|m| m.remove("failed_login_reset_secs"));
    json_response(StatusCode::OK, &body)
}

/// `POST /apis/{site}/clinic/password/change`. Order of checks per §2.3: current password, otp,
/// length, strength, history. Success revokes every token of the user.
pub async fn change(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(g) = grant_from_headers(&st, &headers) else {
        return invalid_token();
    };
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Body must be a JSON object",
            None,
        );
    };
    let field = |k: &str| req.get(k).and_then(Value::as_str).map(String::from);
    let (Some(current), Some(new)) = (field("current_password"), field("new_password")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "current_password and new_password are required",
            None,
        );
    };
    let otp = field("otp");
    let now = st.now();
    let lock_secs = st.config().otp_lock_seconds;
    let mut users = st.users.lock().expect("users lock");
    let Some(user) = users.by_name.get(&g.username).cloned() else {
        return invalid_token();
    };
    if user.locked(now) {
        return oauth_error(
            StatusCode::LOCKED,
            "account_locked",
            &user.lock_reason,
            None,
        );
    }
    if user.password != current {
        // Counts as a failed login (may lock the account).
        let _ = users.check_password(&user.username, &current, now);
        let locked = users
            .by_name
            .get(&user.username)
            .is_some_and(|u| u.locked(now));
        if locked {
            let why = users
                .by_name
                .get(&user.username)
                .map(|u| u.lock_reason.clone())
                .unwrap_or_default();
            return oauth_error(StatusCode::LOCKED, "account_locked", &why, None);
        }
        return oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_current_password",
            "Incorrect password!",
            None,
        );
    }
    if let Mfa::Enrolled(secret) = &user.mfa {
        let Some(code) = otp.filter(|c| !c.is_empty()) else {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "otp_required",
                "A one-time code is required",
                None,
            );
        };
        match users.check_otp(&user.username, secret, &code, now, lock_secs) {
            Ok(()) => {}
            Err(Some(why)) => return oauth_error(StatusCode::LOCKED, "account_locked", &why, None),
            Err(None) => {
                return oauth_error(
                    StatusCode::FORBIDDEN,
                    "invalid_otp",
                    "Invalid otp code.",
                    None,
                );
            }
        }
    }
    match users.check_new_password(&user, &new) {
        Err(NewPasswordError::TooWeak(v)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "password_too_weak",
                "The new password does not meet the password policy",
                Some(json!({"violations": v})),
            );
        }
        Err(NewPasswordError::Reused(n)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "password_reused",
                "Reuse of previous passwords not allowed!",
                Some(json!({"history_count": n})),
            );
        }
        Ok(()) => {}
    }
    let Some(u) = users.by_name.get_mut(&user.username) else {
        return invalid_token();
    };
    let old = std::mem::replace(&mut u.password, new);
    u.history.insert(0, old);
    u.history.truncate(10);
    u.last_changed = now;
    let s = users.status(&users.by_name[&user.username], now);
    drop(users);
    st.oauth
        .lock()
        .expect("oauth lock")
        .revoke_user(&user.username);
    json_response(
        StatusCode::OK,
        &json!({"last_changed_at": s.last_changed_at, "expires_at": s.expires_at}),
    )
}
