//! Jitsi Meet stand-in (§4.3). The sandbox is the Jitsi `domain`: it serves
//! `/external_api.js` (a `JitsiMeetExternalAPI`-compatible object that creates an iframe, relays
//! events via postMessage and forwards `executeCommand`), the meeting page `/{room}?jwt=...`
//! the iframe loads, and a long-poll event feed the meeting page reads. The control API pushes
//! events (lobby knocks, joins, leaves, end of meeting) into a room's feed.
//!
//! Media: the page carries real audio/video peer to peer (WebRTC on loopback) when the browser
//! can; signalling, stats and participant pages live in [`crate::jitsi_media`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::util::{self, json_response, oauth_error};

pub mod rooms;

pub use rooms::{Room, Rooms, act};

use rooms::command;

/// `GET /external_api.js`.
pub async fn external_api_js() -> Response {
    let mut r = EXTERNAL_API_JS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    r
}

#[derive(Deserialize)]
pub struct MeetingQuery {
    jwt: Option<String>,
}

/// Whether `room` is a room name the sandbox serves (`appt-[a-z0-9-]+`).
pub fn valid_room(room: &str) -> bool {
    room.starts_with("appt-")
        && room
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks a Jitsi JWT as Prosody would (signature, room, exp/nbf); returns the claims.
pub fn check_jwt(st: &AppState, room: &str, jwt: &str) -> Result<Value, &'static str> {
    let now = st.now().unix_timestamp();
    match crate::jwt::verify_hs256(jwt, &st.keys.jitsi_secret) {
        None => Err("conference.connectionError.notAllowed: missing or invalid token"),
        Some(c) if c.get("room").and_then(Value::as_str) != Some(room) => {
            Err("token is for another room")
        }
        Some(c) if c.get("exp").and_then(Value::as_i64).unwrap_or(0) <= now => Err("token expired"),
        Some(c) if c.get("nbf").and_then(Value::as_i64).unwrap_or(0) > now => {
            Err("token not yet valid")
        }
        Some(c) => Ok(c),
    }
}

/// `GET /{room}?jwt=...`: the conference page inside the iframe. Checks the JWT as Prosody
/// would (signature, room, exp/nbf) and reports a fatal `errorOccurred` when it fails.
pub async fn meeting_page(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    Query(q): Query<MeetingQuery>,
) -> Response {
    if !valid_room(&room) {
        return oauth_error(StatusCode::NOT_FOUND, "not_found", "No such endpoint", None);
    }
    let open = st.config().jitsi_open_rooms && q.jwt.is_none();
    let checked = match open {
        true => Ok(json!({})),
        false => check_jwt(&st, &room, q.jwt.as_deref().unwrap_or("")),
    };
    let error = checked.as_ref().err().copied();
    let claims = checked.ok();
    let user = claims
        .as_ref()
        .and_then(|c| c.pointer("/context/user").cloned())
        .unwrap_or(json!({}));
    let moderator = match open {
        // As stock Jitsi: whoever opens the room first hosts it.
        true => {
            let rooms = st.rooms.lock().expect("rooms lock");
            rooms.rooms.get(&room).is_none_or(|r| !r.joined)
        }
        false => claims
            .as_ref()
            .and_then(|c| c.get("moderator").and_then(Value::as_bool))
            .unwrap_or(false),
    };
    // A participant (patient) page is the participant of the JWT: its id is the one its
    // knock/join events carry. A moderator's page gets a fresh endpoint id, as in Jitsi.
    let local_id = match claims.as_ref().and_then(|c| c.pointer("/context/user/id")) {
        Some(Value::String(id)) if !moderator && !id.is_empty() => id.clone(),
        _ => util::b64url(&util::random_bytes(4)),
    };
    let (since, participants, signal_since) = {
        let mut rooms = st.rooms.lock().expect("rooms lock");
        let r = rooms.ensure(&room, "");
        if error.is_none() && moderator {
            r.joined = true;
        }
        let p: Vec<Value> = r
            .participants
            .iter()
            .map(|(id, n)| json!({"id": id, "displayName": n}))
            .collect();
        (r.events.len(), p, r.media.next() - 1)
    };
    let cfg = json!({
        "since": since, "participants": participants,
        "room": room, "error": error, "moderator": moderator,
        "localId": local_id, "signalSince": signal_since,
        "displayName": user.get("name").cloned().unwrap_or(json!("")),
        "avatarURL": user.get("avatar").cloned().unwrap_or(json!("")),
    });
    let html = MEETING_HTML
        .replace("__ROOM__", &util::html_escape(&room))
        .replace("__CONFIG__", &cfg.to_string().replace('<', "\\u003c"));
    let mut r = html.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Deserialize)]
pub struct PollQuery {
    since: Option<u64>,
    wait_ms: Option<u64>,
}

/// `GET /_sandbox/jitsi/{room}/events?since=N`: long-poll (up to 10 s) for events after N.
pub async fn poll_events(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    Query(q): Query<PollQuery>,
) -> Response {
    let since = q.since.unwrap_or(0);
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(10_000).min(25_000));
    let collect = |st: &AppState| {
        let mut rooms = st.rooms.lock().expect("rooms lock");
        let r = rooms.ensure(&room, "");
        let ev: Vec<Value> = r.events.iter().skip(since as usize).cloned().collect();
        (ev, r.notify.clone())
    };
    let (ev, notify) = collect(&st);
    if !ev.is_empty() {
        return json_response(StatusCode::OK, &json!({"events": ev}));
    }
    let notified = notify.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    let (ev, _) = collect(&st);
    if ev.is_empty() {
        let _ = tokio::time::timeout(wait, notified).await;
    }
    let (ev, _) = collect(&st);
    json_response(StatusCode::OK, &json!({"events": ev}))
}

/// `POST /_sandbox/jitsi/{room}/commands` `{name, args}` from the meeting page.
pub async fn post_command(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "JSON body required",
            None,
        );
    };
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let args = v
        .get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    command(
        &mut st.rooms.lock().expect("rooms lock"),
        &room,
        &name,
        &args,
    );
    json_response(StatusCode::OK, &json!({"ok": true}))
}

const EXTERNAL_API_JS: &str = include_str!("jitsi_external_api.js");
const MEETING_HTML: &str = include_str!("jitsi_meeting.html");
