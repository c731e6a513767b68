//! Real media for the Jitsi stand-in: the meeting page does peer-to-peer WebRTC on loopback and
//! signals through the sandbox. This module holds a room's signalling queue and media stats, the
//! page-side endpoints (`/_sandbox/jitsi/{room}/signal|media|presence`, the page scripts) and the
//! control endpoints that mint meeting links (`/control/jitsi/rooms/{room}/patient-link|host-link`).
//!
//! The server only relays: SDP, ICE candidates and ECDH *public* keys (E2EE keys are derived in
//! the pages and never reach it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::util::{self, json_response};

/// Kept at this path for callers; the type lives with the rooms that hold it.
pub use crate::jitsi::rooms::MediaState;

/// Signal kinds the relay accepts (`denied` is sent by the server only).
const KINDS: &[&str] = &["hello", "offer", "answer", "ice", "e2ee-key", "bye"];

fn bad(msg: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": "invalid_request", "error_description": msg}),
    )
}

fn js(body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    r
}

/// `GET /_sandbox/jitsi/media.js`: the meeting page's media and participant logic.
pub async fn media_js() -> Response {
    js(MEDIA_JS)
}

/// `GET /_sandbox/jitsi/e2ee-worker.js`: frame encryption (a Worker for `RTCRtpScriptTransform`,
/// or a page script for the `createEncodedStreams` fallback).
pub async fn e2ee_js() -> Response {
    js(E2EE_JS)
}

/// `POST /_sandbox/jitsi/{room}/signal` `{from, to, kind, data}` → `{seq}`.
pub async fn post_signal(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad("JSON body required");
    };
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 64)
    };
    let (Some(from), Some(to), Some(kind)) = (s("from"), s("to"), s("kind")) else {
        return bad("from, to and kind are required strings");
    };
    if !KINDS.contains(&kind) || from == "*" || from == "sandbox" {
        return bad("unknown kind or reserved sender");
    }
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    let mut rooms = st.rooms.lock().expect("rooms lock");
    let seq = rooms.ensure(&room, "").media.signal(from, to, kind, data);
    json_response(StatusCode::OK, &json!({"seq": seq}))
}

#[derive(Deserialize)]
pub struct SignalQuery {
    peer: String,
    since: Option<u64>,
    wait_ms: Option<u64>,
    /// The e2ee state the page knows (`0`/`1`): a change answers at once.
    e2ee: Option<u8>,
}

/// `GET /_sandbox/jitsi/{room}/signal?peer=ID&since=N&wait_ms=M[&e2ee=0|1]`: long-poll (default
/// 10 s, at most 25 s) → `{signals: [...], next, e2ee}`; pass `since = next - 1` next time.
pub async fn poll_signals(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    Query(q): Query<SignalQuery>,
) -> Response {
    let since = q.since.unwrap_or(0);
    let deadline = Instant::now() + Duration::from_millis(q.wait_ms.unwrap_or(10_000).min(25_000));
    loop {
        let (out, notify) = {
            let mut rooms = st.rooms.lock().expect("rooms lock");
            let r = rooms.ensure(&room, "");
            let sig = r.media.for_peer(&q.peer, since);
            let changed = q.e2ee.is_some_and(|k| (k != 0) != r.e2ee);
            let out = (!sig.is_empty() || changed || Instant::now() >= deadline)
                .then(|| json!({"signals": sig, "next": r.media.next(), "e2ee": r.e2ee}));
            (out, r.media.notify.clone())
        };
        if let Some(v) = out {
            return json_response(StatusCode::OK, &v);
        }
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // Re-check after enabling, so a signal pushed in between is not missed.
        {
            let mut rooms = st.rooms.lock().expect("rooms lock");
            let r = rooms.ensure(&room, "");
            let changed = q.e2ee.is_some_and(|k| (k != 0) != r.e2ee);
            if changed || !r.media.for_peer(&q.peer, since).is_empty() {
                continue;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(left, notified).await;
    }
}

/// `POST /_sandbox/jitsi/{room}/media` `{id, ...stats}`: the page's latest stats.
pub async fn post_media(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(Value::Object(mut v)) = serde_json::from_slice::<Value>(&body) else {
        return bad("JSON object required");
    };
    let Some(id) = v.get("id").and_then(Value::as_str).map(String::from) else {
        return bad("id is required");
    };
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    v.insert("received_at_ms".into(), json!(ms));
    let mut rooms = st.rooms.lock().expect("rooms lock");
    rooms
        .ensure(&room, "")
        .media
        .stats
        .insert(id, Value::Object(v));
    json_response(StatusCode::OK, &json!({"ok": true}))
}

/// `POST /_sandbox/jitsi/{room}/presence` `{jwt, action: "enter"|"leave"}` from a participant
/// (non-moderator) page: `enter` knocks when the lobby is on, else joins → `{state:
/// "knocking"|"joined", id}`; `leave` → `participantLeft`. The id is the JWT's `context.user.id`.
pub async fn post_presence(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad("JSON body required");
    };
    let jwt = v.get("jwt").and_then(Value::as_str).unwrap_or("");
    let claims = match crate::jitsi::check_jwt(&st, &room, jwt) {
        Ok(c) => c,
        Err(e) => {
            return json_response(
                StatusCode::FORBIDDEN,
                &json!({"error": "not_allowed", "error_description": e}),
            );
        }
    };
    let id = claims
        .pointer("/context/user/id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = claims
        .pointer("/context/user/name")
        .and_then(Value::as_str)
        .unwrap_or("Guest")
        .to_string();
    if id.is_empty() || claims.get("moderator").and_then(Value::as_bool) == Some(true) {
        return bad("presence is for participant (non-moderator) tokens with context.user.id");
    }
    let mut rooms = st.rooms.lock().expect("rooms lock");
    let r = rooms.ensure(&room, "");
    let state = match v.get("action").and_then(Value::as_str) {
        Some("enter") if r.participants.contains_key(&id) => "joined",
        Some("enter") if r.lobby => {
            let _ = crate::jitsi::act(&mut rooms, &room, "knock", &[json!(id), json!(name)]);
            "knocking"
        }
        Some("enter") => {
            let _ = crate::jitsi::act(&mut rooms, &room, "join", &[json!(id), json!(name)]);
            "joined"
        }
        Some("leave") => {
            let r = rooms.ensure(&room, "");
            r.knocking.remove(&id);
            if r.participants.contains_key(&id) {
                let _ = crate::jitsi::act(&mut rooms, &room, "leave", &[json!(id)]);
            }
            "left"
        }
        _ => return bad("action must be enter or leave"),
    };
    json_response(StatusCode::OK, &json!({"state": state, "id": id}))
}

/// Mints a meeting link for `room`, claims shaped as the telehealth join's (§4.2).
fn link(st: &AppState, room: &str, name: &str, moderator: bool) -> Value {
    let now = st.now().unix_timestamp();
    let id = if moderator {
        util::uuid_v4()
    } else {
        format!("pat-{}", util::b64url(&util::random_bytes(6)))
    };
    let domain = st.jitsi_domain();
    let claims = json!({
        "iss": crate::telehealth::JITSI_APP_ID, "aud": "jitsi", "sub": domain, "room": room,
        "iat": now, "nbf": now - 10, "exp": now + 4 * 3600,
        "moderator": moderator,
        "context": {"user": {"id": id, "name": name, "email": "", "avatar": "",
                             "affiliation": if moderator { "owner" } else { "member" }}}
    });
    let jwt = crate::jwt::sign_hs256(&claims, &st.keys.jitsi_secret);
    let hash = format!(
        "userInfo.displayName={}",
        util::query_encode(&json!(name).to_string())
    );
    json!({
        "url": format!("https://{domain}/{room}?jwt={jwt}#{hash}"),
        "id": id, "jwt": jwt, "moderator": moderator,
    })
}

fn link_response(
    st: &AppState,
    room: &str,
    body: &[u8],
    moderator: bool,
    default: &str,
) -> Response {
    if !crate::jitsi::valid_room(room) {
        return bad("room names are appt-[a-z0-9-]+");
    }
    let v: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return bad("JSON body required"),
        }
    };
    let name = v.get("name").and_then(Value::as_str).unwrap_or(default);
    st.rooms.lock().expect("rooms lock").ensure(room, "");
    json_response(StatusCode::OK, &link(st, room, name, moderator))
}

/// Control: `POST /control/jitsi/rooms/{room}/patient-link` `{name?}` → `{url, id, jwt}`.
pub async fn patient_link(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    body: Bytes,
) -> Response {
    link_response(&st, &room, &body, false, "Patient")
}

/// Control: `POST /control/jitsi/rooms/{room}/host-link` `{name?}` → `{url, id, jwt}` (moderator).
pub async fn host_link(
    State(st): State<Arc<AppState>>,
    Path(room): Path<String>,
    body: Bytes,
) -> Response {
    link_response(&st, &room, &body, true, "Sandbox Host")
}

const MEDIA_JS: &str = include_str!("jitsi_media.js");
const E2EE_JS: &str = include_str!("jitsi_e2ee.js");
