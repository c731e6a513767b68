//! `POST /apis/{site}/clinic/telehealth/{appointment_id}/join` (§4.1, D6): room name + Jitsi
//! HS256 JWT (§4.2). The sandbox itself is the Jitsi `domain` (see [`crate::jitsi`]).

use std::sync::Arc;

use aws_lc_rs::hmac;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use time::Duration;

use crate::oauth::grant_from_headers;
use crate::state::AppState;
use crate::util::{self, json_response, oauth_error};

/// Prosody `app_id` / JWT `iss`.
pub const JITSI_APP_ID: &str = "rounds-sandbox";

/// Room name: `appt-` + 16 lower-case base32 chars of HMAC(room key, appointment id). No PHI,
/// not guessable without the server key, stable for an appointment.
pub fn room_name(st: &AppState, appt_id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &st.keys.room_key);
    let tag = hmac::sign(&key, appt_id.as_bytes());
    format!(
        "appt-{}",
        util::base32_encode(&tag.as_ref()[..10]).to_ascii_lowercase()
    )
}

/// The join endpoint.
pub async fn join(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(g) = grant_from_headers(&st, &headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token is missing, invalid or expired",
            None,
        );
    };
    let user = st
        .users
        .lock()
        .expect("users lock")
        .by_name
        .get(&g.username)
        .cloned();
    let Some(user) = user else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Unknown user",
            None,
        );
    };
    let appt = st.store.read().expect("store lock").get(&id).cloned();
    let Some(appt) = appt else {
        return oauth_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such appointment",
            None,
        );
    };
    if !appt
        .actors
        .iter()
        .any(|r| r.rsplit('/').next() == Some(user.uuid.as_str()))
    {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "not_a_participant",
            "You are not a participant of this appointment",
            None,
        );
    }
    if matches!(
        appt.status.as_str(),
        "cancelled" | "noshow" | "fulfilled" | "entered-in-error"
    ) {
        return oauth_error(
            StatusCode::CONFLICT,
            "appointment_not_active",
            &format!("The appointment is {}", appt.status),
            None,
        );
    }
    let (Some(start), Some(end)) = (
        appt.start,
        appt.end.or(appt.start.map(|s| s + Duration::minutes(30))),
    ) else {
        return oauth_error(
            StatusCode::CONFLICT,
            "appointment_not_active",
            "The appointment has no start time",
            None,
        );
    };
    let (opens, closes) = (start - Duration::minutes(15), end + Duration::minutes(30));
    let now = st.now();
    if now < opens || now > closes {
        return oauth_error(
            StatusCode::CONFLICT,
            "outside_join_window",
            "The visit can be joined from 15 minutes before its start until 30 minutes after its end",
            Some(json!({"opens_at": util::rfc3339_z(opens), "closes_at": util::rfc3339_z(closes)})),
        );
    }
    let room = room_name(&st, &id);
    let domain = st.jitsi_domain();
    let claims = json!({
        "iss": JITSI_APP_ID, "aud": "jitsi", "sub": domain, "room": room,
        "iat": now.unix_timestamp(), "nbf": now.unix_timestamp() - 10, "exp": closes.unix_timestamp(),
        "moderator": true,
        "context": {"user": {"id": user.uuid, "name": user.display_name, "email": user.email,
                             "avatar": "", "affiliation": "owner"}}
    });
    let jwt = crate::jwt::sign_hs256(&claims, &st.keys.jitsi_secret);
    st.rooms.lock().expect("rooms lock").ensure(&room, &id);
    json_response(
        StatusCode::OK,
        &json!({"domain": domain, "room": room, "jwt": jwt, "expires_at": util::rfc3339_z(closes), "moderator": true}),
    )
}
