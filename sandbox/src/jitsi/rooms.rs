//! The rooms of the Jitsi stand-in as data: events, participants, lobby, and each room's
//! signalling queue ([`MediaState`]). No handlers and no `AppState`, so [`AppState`] can hold
//! [`Rooms`] without the two modules importing each other.
//!
//! [`AppState`]: crate::state::AppState

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::util;

/// One conference room.
#[derive(Debug, Default)]
pub struct Room {
    pub appointment_id: String,
    /// Events in order; `seq` starts at 1.
    pub events: Vec<Value>,
    /// Commands the embedding app executed (`{name, args}`), for tests.
    pub commands: Vec<Value>,
    /// Remote participants currently in the room, id → display name.
    pub participants: HashMap<String, String>,
    /// Participants waiting in the lobby, id → name.
    pub knocking: HashMap<String, String>,
    pub lobby: bool,
    pub password: Option<String>,
    pub ended: bool,
    /// Whether a moderator's meeting page has loaded (local participant joined).
    pub joined: bool,
    /// Set by the `toggleE2EE` command: media pages encrypt frames end to end.
    pub e2ee: bool,
    /// Signalling queue and media stats of the pages.
    pub media: MediaState,
    pub(crate) notify: Arc<Notify>,
}

/// All rooms by name.
#[derive(Debug, Default)]
pub struct Rooms {
    pub rooms: HashMap<String, Room>,
}

impl Rooms {
    /// Creates the room if needed.
    pub fn ensure(&mut self, room: &str, appointment_id: &str) -> &mut Room {
        let r = self.rooms.entry(room.to_string()).or_default();
        if r.appointment_id.is_empty() {
            r.appointment_id = appointment_id.to_string();
        }
        r
    }

    /// Appends an event and wakes long-polls. Returns its sequence number.
    pub fn push(&mut self, room: &str, name: &str, data: Value) -> u64 {
        let r = self.ensure(room, "");
        let seq = r.events.len() as u64 + 1;
        r.events
            .push(json!({"seq": seq, "name": name, "data": data}));
        r.notify.notify_waiters();
        seq
    }

    /// JSON summary for the control API.
    pub fn summary(&self, name: &str) -> Option<Value> {
        let r = self.rooms.get(name)?;
        Some(json!({
            "room": name, "appointment_id": r.appointment_id, "joined": r.joined, "ended": r.ended,
            "lobby": r.lobby, "password_set": r.password.is_some(),
            "participants": r.participants.iter().map(|(id, n)| json!({"id": id, "displayName": n})).collect::<Vec<_>>(),
            "knocking": r.knocking.iter().map(|(id, n)| json!({"id": id, "name": n})).collect::<Vec<_>>(),
            "commands": r.commands, "events": r.events, "e2ee": r.e2ee, "media": r.media.stats,
        }))
    }
}

/// Applies a control-API or app action to a room, producing the events Jitsi would emit.
pub fn act(rooms: &mut Rooms, room: &str, name: &str, args: &[Value]) -> Result<(), String> {
    let arg_str = |i: usize| args.get(i).and_then(Value::as_str).map(String::from);
    match name {
        "knock" => {
            let id = arg_str(0).unwrap_or_else(|| util::b64url(&util::random_bytes(4)));
            let who = arg_str(1).unwrap_or_else(|| "Guest".into());
            rooms
                .ensure(room, "")
                .knocking
                .insert(id.clone(), who.clone());
            rooms.push(
                room,
                "knockingParticipant",
                json!({"participant": {"id": id, "name": who}}),
            );
        }
        "join" => {
            let id = arg_str(0).unwrap_or_else(|| util::b64url(&util::random_bytes(4)));
            let who = arg_str(1).unwrap_or_else(|| "Guest".into());
            rooms
                .ensure(room, "")
                .participants
                .insert(id.clone(), who.clone());
            rooms.push(
                room,
                "participantJoined",
                json!({"id": id, "displayName": who}),
            );
        }
        "leave" => {
            let id = arg_str(0).ok_or("leave needs a participant id")?;
            rooms.ensure(room, "").participants.remove(&id);
            rooms.push(room, "participantLeft", json!({"id": id}));
        }
        "end" => {
            let ids: Vec<String> = rooms
                .ensure(room, "")
                .participants
                .drain()
                .map(|(k, _)| k)
                .collect();
            for id in ids {
                rooms.push(room, "participantLeft", json!({"id": id}));
            }
            rooms.ensure(room, "").ended = true;
            rooms.push(room, "videoConferenceLeft", json!({"roomName": room}));
            rooms.push(room, "readyToClose", json!({}));
        }
        _ => return Err(format!("unknown action {name}")),
    }
    Ok(())
}

/// Handles a command the app ran through `executeCommand` (forwarded by the meeting page).
pub(crate) fn command(rooms: &mut Rooms, room: &str, name: &str, args: &[Value]) {
    rooms
        .ensure(room, "")
        .commands
        .push(json!({"name": name, "args": args}));
    let arg_str = |i: usize| args.get(i).and_then(Value::as_str).map(String::from);
    match name {
        "hangup" => {
            rooms.push(room, "videoConferenceLeft", json!({"roomName": room}));
            rooms.push(room, "readyToClose", json!({}));
        }
        "endConference" => {
            let _ = act(rooms, room, "end", &[]);
        }
        "answerKnockingParticipant" => {
            let id = arg_str(0).unwrap_or_default();
            let approved = args.get(1).and_then(Value::as_bool).unwrap_or(false);
            let who = rooms.ensure(room, "").knocking.remove(&id);
            match (approved, who) {
                (true, Some(who)) => {
                    let _ = act(rooms, room, "join", &[json!(id), json!(who)]);
                }
                // The knocker's page learns it through the signalling channel (not an event).
                (false, Some(_)) => {
                    rooms
                        .ensure(room, "")
                        .media
                        .signal("sandbox", &id, "denied", json!({}));
                }
                _ => {}
            }
        }
        "kickParticipant" => {
            let id = arg_str(0).unwrap_or_default();
            if rooms.ensure(room, "").participants.remove(&id).is_some() {
                rooms.push(
                    room,
                    "participantKickedOut",
                    json!({"kicked": {"id": id, "local": false}, "kicker": {"id": "local"}}),
                );
                rooms.push(room, "participantLeft", json!({"id": id}));
            }
        }
        "grantModerator" => {
            let id = arg_str(0).unwrap_or_default();
            rooms.push(
                room,
                "participantRoleChanged",
                json!({"id": id, "role": "moderator"}),
            );
        }
        "toggleLobby" => {
            rooms.ensure(room, "").lobby = args.first().and_then(Value::as_bool).unwrap_or(false)
        }
        "password" => rooms.ensure(room, "").password = arg_str(0),
        "toggleE2EE" => {
            let r = rooms.ensure(room, "");
            r.e2ee = args.first().and_then(Value::as_bool).unwrap_or(false);
            r.media.notify.notify_waiters();
        }
        // muteEveryone, setMediaEncryptionKey, device choices (handled in the page), ...: recorded only
        _ => {}
    }
}

/// Oldest signals are dropped beyond this many per room.
const MAX_SIGNALS: usize = 10_000;

/// A room's signalling queue and the latest media stats of each page.
#[derive(Debug, Default)]
pub struct MediaState {
    /// `{seq, from, to, kind, data}`; `seq` is the index + 1 (+ `dropped`).
    pub signals: Vec<Value>,
    dropped: u64,
    /// Participant id → latest stats (with `received_at_ms`).
    pub stats: HashMap<String, Value>,
    pub notify: Arc<Notify>,
}

impl MediaState {
    /// Queues a signal and wakes long-polls. Returns its sequence number.
    pub fn signal(&mut self, from: &str, to: &str, kind: &str, data: Value) -> u64 {
        if self.signals.len() >= MAX_SIGNALS {
            self.signals.remove(0);
            self.dropped += 1;
        }
        let seq = self.next();
        self.signals
            .push(json!({"seq": seq, "from": from, "to": to, "kind": kind, "data": data}));
        self.notify.notify_waiters();
        seq
    }

    /// Sequence number of the next signal (= the last one's + 1).
    pub fn next(&self) -> u64 {
        self.dropped + self.signals.len() as u64 + 1
    }

    /// Signals after `since` addressed to `peer` (or to everyone, except its own).
    pub(crate) fn for_peer(&self, peer: &str, since: u64) -> Vec<Value> {
        self.signals
            .iter()
            .filter(|s| s["seq"].as_u64().unwrap_or(0) > since)
            .filter(|s| s["to"] == peer || (s["to"] == "*" && s["from"] != peer))
            .cloned()
            .collect()
    }
}
