//! `/control/users` and `/control/tokens/expire`: clinicians (passwords, MFA, TOTP codes,
//! locks) and the tokens issued to them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::users::{Mfa, User};
use crate::util::{self};

use super::{err, ok, parse_json};

fn user_json(st: &AppState, u: &User) -> Value {
    let now = st.now();
    let users = st.users.lock().expect("users lock");
    let s = users.status(u, now);
    json!({
        "username": u.username, "display_name": u.display_name, "uuid": u.uuid, "fhir_ref": u.fhir_ref(),
        "mfa": match &u.mfa { Mfa::NotRequired => "not_required", Mfa::MustEnroll => "must_enroll", Mfa::Enrolled(_) => "enrolled" },
        "totp_secret": match &u.mfa { Mfa::Enrolled(s) => Some(util::base32_encode(s)), _ => None },
        "current_code": u.current_code(now),
        "password_state": s.state, "last_changed_at": s.last_changed_at, "expires_at": s.expires_at,
        "locked_until": u.locked_until.filter(|t| *t > now).map(util::rfc3339_z),
    })
}

pub(super) async fn list_users(State(st): State<Arc<AppState>>) -> Response {
    let mut all: Vec<User> = st
        .users
        .lock()
        .expect("users lock")
        .by_name
        .values()
        .cloned()
        .collect();
    all.sort_by(|a, b| a.username.cmp(&b.username));
    ok(json!({"users": all.iter().map(|u| user_json(&st, u)).collect::<Vec<_>>()}))
}

/// `{"username", "password", "display_name"?, "password_age_days"?, "mfa": "none"|"must_enroll"|"enrolled", "totp_secret"? (base32), "has_npi"?}`
pub(super) async fn add_user(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let (Some(name), Some(pw)) = (s("username"), s("password")) else {
        return err(
            StatusCode::BAD_REQUEST,
            "username and password are required",
        );
    };
    let mfa = match s("mfa").unwrap_or("enrolled") {
        "none" | "not_required" => Mfa::NotRequired,
        "must_enroll" => Mfa::MustEnroll,
        _ => Mfa::Enrolled(match s("totp_secret") {
            Some(b) => match util::base32_decode(b) {
                Some(x) if !x.is_empty() => x,
                _ => return err(StatusCode::BAD_REQUEST, "totp_secret is not base32"),
            },
            None => util::random_bytes(20),
        }),
    };
    let age = v
        .get("password_age_days")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut u = User::new(
        name,
        s("display_name").unwrap_or(name),
        pw,
        age,
        mfa,
        st.now(),
    );
    u.has_npi = v.get("has_npi").and_then(Value::as_bool).unwrap_or(true);
    st.users.lock().expect("users lock").insert(u.clone());
    ok(user_json(&st, &u))
}

#[derive(Deserialize)]
pub(super) struct TotpQuery {
    /// Code for `now + steps*30 s` (e.g. 1 = the next code, to test replay).
    steps: Option<i64>,
}

pub(super) async fn user_totp(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<TotpQuery>,
) -> Response {
    let u = st
        .users
        .lock()
        .expect("users lock")
        .by_name
        .get(&name)
        .cloned();
    let Some(u) = u else {
        return err(StatusCode::NOT_FOUND, "no such user");
    };
    let Mfa::Enrolled(secret) = &u.mfa else {
        return err(StatusCode::CONFLICT, "user is not enrolled");
    };
    let t = st.now().unix_timestamp() + 30 * q.steps.unwrap_or(0);
    ok(json!({
        "username": name, "code": crate::totp::code_now(secret, t), "secret": util::base32_encode(secret),
        "step": crate::totp::step(t, 30), "valid_for_seconds": 30 - t.rem_euclid(30),
    }))
}

pub(super) async fn unlock_user(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let mut users = st.users.lock().expect("users lock");
    let Some(u) = users.by_name.get_mut(&name) else {
        return err(StatusCode::NOT_FOUND, "no such user");
    };
    u.locked_until = None;
    u.failed_logins = 0;
    u.failed_otps = 0;
    ok(json!({"unlocked": name}))
}

/// Expires access tokens (all, or one user's) so the next resource call gets 401.
pub(super) async fn expire_tokens(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let who = v.get("username").and_then(Value::as_str);
    let past = st.now() - time::Duration::seconds(1);
    let mut o = st.oauth.lock().expect("oauth lock");
    let mut n = 0;
    for g in o
        .access
        .values_mut()
        .filter(|g| who.is_none_or(|w| g.username == w))
    {
        g.expires_at = past;
        n += 1;
    }
    if v.get("refresh").and_then(Value::as_bool).unwrap_or(false) {
        for r in o
            .refresh
            .values_mut()
            .filter(|r| who.is_none_or(|w| r.grant.username == w))
        {
            r.grant.expires_at = past;
        }
    }
    ok(json!({"expired": n}))
}
