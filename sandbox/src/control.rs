//! Control API for tests and the demo: plain HTTP on its own loopback port, clearly apart
//! from the clinic API. Nothing here exists in OpenEMR or Jitsi.
//!
//! See README.md for the list; every route is under `/control/`.
//!
//! One file per resource: `users`, `appointments`, `faults`, `listeners` (TLS), `rooms`
//! (Jitsi), `clock` (time and config). The router, the shared reply helpers, `info` and the
//! request/connection logs (which read the whole state, not one resource) stay here.

mod appointments;
mod clock;
mod faults;
mod listeners;
mod rooms;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::util::{self, json_response};

/// All control routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/control/info", get(info))
        .route("/control/requests", get(requests).delete(clear_requests))
        .route(
            "/control/connections",
            get(connections).delete(clear_connections),
        )
        .route(
            "/control/faults",
            get(faults::list_faults)
                .post(faults::add_fault)
                .delete(faults::clear_faults),
        )
        .route("/control/faults/{id}", delete(faults::delete_fault))
        .route("/control/time", get(clock::get_time).post(clock::set_time))
        .route(
            "/control/config",
            get(clock::get_config).post(clock::set_config),
        )
        .route(
            "/control/users",
            get(users::list_users).post(users::add_user),
        )
        .route("/control/users/{name}/totp", get(users::user_totp))
        .route("/control/users/{name}/unlock", post(users::unlock_user))
        .route("/control/tokens/expire", post(users::expire_tokens))
        .route(
            "/control/appointments",
            post(appointments::add_appointments).delete(appointments::clear_appointments),
        )
        .route(
            "/control/appointments/generate",
            post(appointments::generate),
        )
        .route(
            "/control/appointments/{id}",
            delete(appointments::delete_appointment).patch(appointments::edit_appointment),
        )
        .route(
            "/control/appointments/{id}/status",
            post(appointments::set_status),
        )
        .route("/control/resources", post(appointments::add_resource))
        .route("/control/tls-listeners", post(listeners::add_listener))
        .route("/control/jitsi/rooms", get(rooms::list_rooms))
        .route(
            "/control/jitsi/appointment/{id}",
            get(rooms::room_for_appointment),
        )
        .route("/control/jitsi/rooms/{room}", get(rooms::get_room))
        .route(
            "/control/jitsi/rooms/{room}/events",
            post(rooms::push_event),
        )
        .route(
            "/control/jitsi/rooms/{room}/patient-link",
            post(crate::jitsi_media::patient_link),
        )
        .route(
            "/control/jitsi/rooms/{room}/host-link",
            post(crate::jitsi_media::host_link),
        )
        .route(
            "/control/jitsi/rooms/{room}/{action}",
            post(rooms::room_action),
        )
        .fallback(|| async { err(StatusCode::NOT_FOUND, "no such control endpoint") })
        .with_state(state)
}

/// A JSON `{"error": msg}` reply; every control error has this shape.
fn err(status: StatusCode, msg: &str) -> Response {
    json_response(status, &json!({"error": msg}))
}

/// A 200 JSON reply.
fn ok(v: Value) -> Response {
    json_response(StatusCode::OK, &v)
}

/// The JSON body, `{}` when empty (most control calls take optional fields).
fn parse_json(body: &[u8]) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| err(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")))
}

async fn info(State(st): State<Arc<AppState>>) -> Response {
    ok(json!({
        "base_url": st.base_url, "site": st.site, "state_dir": st.state_dir,
        "now": util::rfc3339_z(st.now()), "clock_offset_seconds": st.clock.offset(),
        "appointments": st.store.read().expect("store lock").len(),
        "users": st.users.lock().expect("users lock").by_name.len(),
    }))
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn requests(State(st): State<Arc<AppState>>, Query(q): Query<Since>) -> Response {
    let log = st.requests.lock().expect("request log lock");
    let since = q.since.unwrap_or(0);
    let v: Vec<_> = log.iter().filter(|r| r.seq > since).cloned().collect();
    ok(json!({"requests": v}))
}

async fn clear_requests(State(st): State<Arc<AppState>>) -> Response {
    st.requests.lock().expect("request log lock").clear();
    ok(json!({"cleared": true}))
}

async fn connections(State(st): State<Arc<AppState>>) -> Response {
    ok(json!({"connections": *st.conns.lock().expect("conn log lock")}))
}

async fn clear_connections(State(st): State<Arc<AppState>>) -> Response {
    st.conns.lock().expect("conn log lock").clear();
    ok(json!({"cleared": true}))
}
