//! `/control/jitsi/...`: inspect the Jitsi stand-in's rooms and push lobby/participant events.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::state::AppState;

use super::{err, ok, parse_json};

pub(super) async fn list_rooms(State(st): State<Arc<AppState>>) -> Response {
    let rooms = st.rooms.lock().expect("rooms lock");
    let mut names: Vec<&String> = rooms.rooms.keys().collect();
    names.sort();
    ok(json!({"rooms": names.iter().filter_map(|n| rooms.summary(n)).collect::<Vec<_>>()}))
}

pub(super) async fn room_for_appointment(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    let room = crate::telehealth::room_name(&st, &id);
    ok(json!({"appointment_id": id, "room": room}))
}

pub(super) async fn get_room(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
) -> Response {
    match st.rooms.lock().expect("rooms lock").summary(&room) {
        Some(v) => ok(v),
        None => err(StatusCode::NOT_FOUND, "no such room (join it first)"),
    }
}

/// Raw event: `{"name": "passwordRequired", "data": {...}}`.
pub(super) async fn push_event(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(name) = v.get("name").and_then(Value::as_str) else {
        return err(StatusCode::BAD_REQUEST, "name is required");
    };
    let seq = st.rooms.lock().expect("rooms lock").push(
        &room,
        name,
        v.get("data").cloned().unwrap_or(json!({})),
    );
    ok(json!({"seq": seq}))
}

/// `knock` / `join` `{"id"?, "name"?}`, `leave` `{"id"}`, `end` `{}`.
pub(super) async fn room_action(
    State(st): State<Arc<AppState>>,
    Path((room, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let args = [
        v.get("id").cloned().unwrap_or(Value::Null),
        v.get("name").cloned().unwrap_or(Value::Null),
    ];
    let mut rooms = st.rooms.lock().expect("rooms lock");
    match crate::jitsi::act(&mut rooms, &room, &action, &args) {
        Ok(()) => ok(rooms.summary(&room).unwrap_or(json!({}))),
        Err(e) => err(StatusCode::BAD_REQUEST, &e),
    }
}
