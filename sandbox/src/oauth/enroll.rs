//! Authenticator enrollment (§1.7, D2): `/mfa/associate` hands out a TOTP secret for a pending
//! MFA challenge; the MFA-OTP grant confirms it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::users::Mfa;
use crate::util::{self, json_response, oauth_error};

/// `POST /oauth2/{site}/mfa/associate` with `Authorization: Bearer <mfa_token>`.
pub async fn mfa_associate(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = st.now();
    let Some(tok) = util::bearer(&headers).map(String::from) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "mfa_token missing",
            None,
        );
    };
    let types_ok = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("authenticator_types").cloned())
        .and_then(|v| v.as_array().cloned())
        .is_some_and(|a| a.iter().any(|x| x == "otp"));
    let mut o = st.oauth.lock().expect("oauth lock");
    let Some(m) = o.mfa.get_mut(&tok).filter(|m| m.expires_at > now) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "mfa_token expired or invalid",
            None,
        );
    };
    if !types_ok {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "authenticator_types must contain \"otp\"",
            None,
        );
    }
    let users = st.users.lock().expect("users lock");
    let Some(u) = users.by_name.get(&m.username) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "mfa_token expired or invalid",
            None,
        );
    };
    if matches!(u.mfa, Mfa::Enrolled(_)) {
        return oauth_error(
            StatusCode::CONFLICT,
            "already_enrolled",
            "User already has an authenticator",
            None,
        );
    }
    if m.pending_secret.is_some() {
        return oauth_error(
            StatusCode::CONFLICT,
            "already_enrolled",
            "An authenticator was already issued for this mfa_token",
            None,
        );
    }
    let secret = util::random_bytes(20);
    let b32 = util::base32_encode(&secret);
    let uri = format!(
        "otpauth://totp/Sandbox%20Clinic:{}?secret={b32}&issuer=Sandbox%20Clinic&algorithm=SHA1&digits=6&period=30",
        util::query_encode(&u.username)
    );
    m.pending_secret = Some(secret);
    json_response(
        StatusCode::OK,
        &json!({"authenticator_type": "otp", "secret": b32, "barcode_uri": uri}),
    )
}
