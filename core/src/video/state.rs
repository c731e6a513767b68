//! The visit as the core follows it from the meeting view's IFrame API events (clinic-api §4.3),
//! the view of it the UI draws, and the host commands the view may execute.
//!
//! The view forwards each Jitsi event as `{"event": "<name>", "data": {...}}` (the IFrame API's
//! own payload as `data`), plus a few app-side events it detects itself:
//!
//! | `event` | `data` |
//! |---|---|
//! | `videoConferenceJoined` | `{roomName, id, displayName, avatarURL}` (only `id` is read) |
//! | `videoConferenceLeft` | `{roomName}` (ignored) |
//! | `participantJoined` | `{id, displayName}` (only `id` is read) |
//! | `participantLeft` | `{id}` |
//! | `participantRoleChanged` | `{id, role}` (local role; `role == "moderator"`) |
//! | `knockingParticipant` | `{participant: {id, name}}` |
//! | `participantKickedOut` | `{kicked: {id, local}, kicker: {id}}` |
//! | `errorOccurred` | `{name, message, type: CONFIG\|CONNECTION\|CONFERENCE, isFatal}` (only `type`, `isFatal`) |
//! | `passwordRequired` | — |
//! | `readyToClose` | — |
//! | `e2ee` (app) | `{state: "on"\|"off"\|"notSupported"\|"offByPolicy"}` |
//! | `lobbyEnabled` (app) | `{enabled: bool}` or a bare `bool` |
//! | `tokenExpired` (app) | — |
//! | `loadFailed` (app) | — (`external_api.js` did not load, or the meeting origin was refused) |
//! | `mediaUnsupported` (app) | — (no `RTCPeerConnection` in this webview) |
//!
//! Anything else, or a payload that does not fit (missing id, id longer than 64 characters or
//! with control characters), is ignored. Display names of knocking participants are kept (cut
//! to 64 characters) only in memory, for the in-app notice; they never reach the audit log.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::audit::{AuditEntry, AuditKind};

/// Largest event JSON [`VisitEvent::from_json`] parses.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Remote participants tracked (more are counted as one over the limit: ignored).
pub const MAX_PARTICIPANTS: usize = 256;
/// Lobby knocks tracked at once.
pub const MAX_KNOCKING: usize = 32;
const MAX_ID_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum VisitPhase {
    /// The view is loading the meeting.
    Joining,
    Joined,
    /// This user left the conference (hung up, kicked out); the view may still rejoin.
    Left,
    /// The view closed (`readyToClose`). Terminal.
    Ended,
    /// The meeting could not be joined or broke. Terminal.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum E2ee {
    /// Nothing reported yet.
    Unknown,
    On,
    Off,
    /// The webview has no insertable streams (video-platforms.md).
    NotSupported,
    /// IT policy keeps it off.
    OffByPolicy,
}

impl E2ee {
    fn code(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::On => "on",
            Self::Off => "off",
            Self::NotSupported => "notSupported",
            Self::OffByPolicy => "offByPolicy",
        }
    }
}

/// Why a visit is [`VisitPhase::Failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum FailReason {
    /// `errorOccurred` type `CONNECTION` (includes a JWT the meeting refused).
    Connection,
    Config,
    Conference,
    /// The join token expired before the meeting was joined.
    TokenExpired,
    /// The meeting's script or page did not load.
    LoadFailed,
    /// This webview cannot carry a call (no WebRTC).
    MediaUnsupported,
    Other,
}

impl FailReason {
    fn code(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Config => "config",
            Self::Conference => "conference",
            Self::TokenExpired => "tokenExpired",
            Self::LoadFailed => "loadFailed",
            Self::MediaUnsupported => "mediaUnsupported",
            Self::Other => "other",
        }
    }
}

/// One event from the meeting view. Deserializes from `{"event": name, "data": payload}`;
/// unknown names and unusable payloads become [`VisitEvent::Ignored`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RawEvent")]
pub enum VisitEvent {
    ConferenceJoined { local_id: Option<String> },
    ConferenceLeft,
    ParticipantJoined { id: String },
    ParticipantLeft { id: String },
    RoleChanged { id: Option<String>, moderator: bool },
    Knocking { id: String, name: String },
    KickedOut { local: bool },
    Error { reason: FailReason, fatal: bool },
    PasswordRequired,
    ReadyToClose,
    E2ee(E2ee),
    LobbyEnabled(bool),
    TokenExpired,
    LoadFailed,
    MediaUnsupported,
    Ignored,
}

// Names of people waiting in the lobby stay out of debug output (and so out of logs).
impl std::fmt::Debug for VisitEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Knocking { id, .. } => write!(f, "Knocking {{ id: {id:?}, name: [redacted] }}"),
            Self::ConferenceJoined { local_id } => {
                write!(f, "ConferenceJoined {{ local_id: {local_id:?} }}")
            }
            Self::ConferenceLeft => f.write_str("ConferenceLeft"),
            Self::ParticipantJoined { id } => write!(f, "ParticipantJoined {{ id: {id:?} }}"),
            Self::ParticipantLeft { id } => write!(f, "ParticipantLeft {{ id: {id:?} }}"),
            Self::RoleChanged { id, moderator } => {
                write!(f, "RoleChanged {{ id: {id:?}, moderator: {moderator} }}")
            }
            Self::KickedOut { local } => write!(f, "KickedOut {{ local: {local} }}"),
            Self::Error { reason, fatal } => {
                write!(f, "Error {{ reason: {reason:?}, fatal: {fatal} }}")
            }
            Self::PasswordRequired => f.write_str("PasswordRequired"),
            Self::ReadyToClose => f.write_str("ReadyToClose"),
            Self::E2ee(s) => write!(f, "E2ee({s:?})"),
            Self::LobbyEnabled(b) => write!(f, "LobbyEnabled({b})"),
            Self::TokenExpired => f.write_str("TokenExpired"),
            Self::LoadFailed => f.write_str("LoadFailed"),
            Self::MediaUnsupported => f.write_str("MediaUnsupported"),
            Self::Ignored => f.write_str("Ignored"),
        }
    }
}

#[derive(Deserialize)]
struct RawEvent {
    event: String,
    #[serde(default)]
    data: Value,
}

impl From<RawEvent> for VisitEvent {
    fn from(r: RawEvent) -> Self {
        Self::from_parts(&r.event, &r.data)
    }
}

/// A participant id as Jitsi makes them (short hex); anything long or odd is refused.
fn id_of(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?;
    let ok = (1..=MAX_ID_CHARS).contains(&s.chars().count())
        && s.chars().all(|c| !c.is_control() && !c.is_whitespace());
    ok.then(|| s.to_string())
}

/// A display name for the notice: control characters dropped, cut to 64 characters.
fn name_of(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

impl VisitEvent {
    /// The event named `event` with the IFrame API payload `data`.
    pub fn from_parts(event: &str, data: &Value) -> Self {
        let get = |k: &str| data.get(k);
        let some = |o: Option<Self>| o.unwrap_or(Self::Ignored);
        match event {
            "videoConferenceJoined" => Self::ConferenceJoined {
                local_id: id_of(get("id")),
            },
            "videoConferenceLeft" => Self::ConferenceLeft,
            "participantJoined" => some(id_of(get("id")).map(|id| Self::ParticipantJoined { id })),
            "participantLeft" => some(id_of(get("id")).map(|id| Self::ParticipantLeft { id })),
            "participantRoleChanged" => {
                some(
                    get("role")
                        .and_then(Value::as_str)
                        .map(|role| Self::RoleChanged {
                            id: id_of(get("id")),
                            moderator: role == "moderator",
                        }),
                )
            }
            "knockingParticipant" => {
                let p = get("participant");
                some(id_of(p.and_then(|p| p.get("id"))).map(|id| Self::Knocking {
                    id,
                    name: name_of(p.and_then(|p| p.get("name"))),
                }))
            }
            "participantKickedOut" => Self::KickedOut {
                local: data
                    .pointer("/kicked/local")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            "errorOccurred" => Self::Error {
                reason: match get("type").and_then(Value::as_str) {
                    Some("CONNECTION") => FailReason::Connection,
                    Some("CONFIG") => FailReason::Config,
                    Some("CONFERENCE") => FailReason::Conference,
                    _ => FailReason::Other,
                },
                fatal: get("isFatal").and_then(Value::as_bool).unwrap_or(false),
            },
            "passwordRequired" => Self::PasswordRequired,
            "readyToClose" => Self::ReadyToClose,
            "e2ee" => some(
                match get("state").and_then(Value::as_str) {
                    Some("on") => Some(E2ee::On),
                    Some("off") => Some(E2ee::Off),
                    Some("notSupported") => Some(E2ee::NotSupported),
                    Some("offByPolicy") => Some(E2ee::OffByPolicy),
                    _ => None,
                }
                .map(Self::E2ee),
            ),
            "lobbyEnabled" => some(
                data.as_bool()
                    .or_else(|| get("enabled").and_then(Value::as_bool))
                    .map(Self::LobbyEnabled),
            ),
            "tokenExpired" => Self::TokenExpired,
            "loadFailed" => Self::LoadFailed,
            "mediaUnsupported" => Self::MediaUnsupported,
            _ => Self::Ignored,
        }
    }

    /// Parses the view's JSON text; larger than [`MAX_EVENT_BYTES`] or not an event → `Ignored`.
    pub fn from_json(text: &str) -> Self {
        if text.len() > MAX_EVENT_BYTES {
            return Self::Ignored;
        }
        serde_json::from_str(text).unwrap_or(Self::Ignored)
    }
}

/// Someone waiting in the lobby. `name` is for the in-app notice only.
#[derive(Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Knock {
    pub id: String,
    pub name: String,
    /// When they knocked (unix seconds): the schedule row's "Waiting n min".
    #[specta(type = u32)]
    pub since: i64,
}

impl std::fmt::Debug for Knock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Knock {{ id: {:?}, name: [redacted] }}", self.id)
    }
}

/// The visit as the core knows it. Holds no token and no room name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitState {
    appointment_id: String,
    phase: VisitPhase,
    moderator: bool,
    local_id: Option<String>,
    participants: BTreeSet<String>,
    had_others: bool,
    knocking: Vec<Knock>,
    e2ee: E2ee,
    lobby: bool,
    password_required: bool,
    failure: Option<FailReason>,
    /// This view has no WebRTC: a real meeting cannot carry media here (the UI offers the
    /// system browser). Not a failure by itself: the meeting says when it cannot connect.
    media_unsupported: bool,
    started_at: Option<i64>,
    ended_at: Option<i64>,
}

impl VisitState {
    /// A visit being joined; `moderator` as the clinic's ticket said (the meeting's
    /// `participantRoleChanged` then has the last word).
    pub fn new(appointment_id: &str, moderator: bool) -> Self {
        Self {
            appointment_id: appointment_id.to_string(),
            phase: VisitPhase::Joining,
            moderator,
            local_id: None,
            participants: BTreeSet::new(),
            had_others: false,
            knocking: Vec::new(),
            e2ee: E2ee::Unknown,
            lobby: false,
            password_required: false,
            failure: None,
            media_unsupported: false,
            started_at: None,
            ended_at: None,
        }
    }

    /// For a ticket from [`super::join()`].
    pub fn for_ticket(t: &super::JoinTicket) -> Self {
        Self::new(t.appointment_id(), t.moderator())
    }

    pub fn appointment_id(&self) -> &str {
        &self.appointment_id
    }
    pub fn phase(&self) -> VisitPhase {
        self.phase
    }
    pub fn moderator(&self) -> bool {
        self.moderator
    }
    /// Remote participants in the meeting now.
    pub fn participants(&self) -> usize {
        self.participants.len()
    }
    pub fn knocking(&self) -> &[Knock] {
        &self.knocking
    }
    pub fn is_knocking(&self, id: &str) -> bool {
        self.knocking.iter().any(|k| k.id == id)
    }
    pub fn e2ee(&self) -> E2ee {
        self.e2ee
    }
    pub fn lobby(&self) -> bool {
        self.lobby
    }
    pub fn failure(&self) -> Option<FailReason> {
        self.failure
    }
    pub fn started_at(&self) -> Option<i64> {
        self.started_at
    }
    pub fn ended_at(&self) -> Option<i64> {
        self.ended_at
    }
    pub fn is_over(&self) -> bool {
        matches!(self.phase, VisitPhase::Ended | VisitPhase::Failed)
    }

    /// What the schedule shows for the appointment while this visit runs: `"inProgress"`
    /// while joined, `"done"` once a visit that had the patient (anyone else) in it was
    /// ended by its host (moderator). Otherwise the schedule's own status stands.
    pub fn schedule_badge(&self) -> Option<&'static str> {
        match self.phase {
            VisitPhase::Joined => Some("inProgress"),
            VisitPhase::Ended if self.moderator && self.had_others => Some("done"),
            _ => None,
        }
    }

    fn entry(&self, now: i64, kind: AuditKind) -> AuditEntry {
        AuditEntry::new(now, kind, &self.appointment_id)
    }

    fn fail(&mut self, reason: FailReason, now: i64) -> Vec<AuditEntry> {
        self.phase = VisitPhase::Failed;
        self.failure = Some(reason);
        self.ended_at = Some(now);
        self.knocking.clear();
        self.participants.clear();
        vec![
            self.entry(now, AuditKind::VisitFailed)
                .code("reason", reason.code()),
        ]
    }

    /// Follows one event (`now`: unix seconds). Returns the audit lines to append (times,
    /// kinds and counts only). Pure apart from `self`; never panics. Events after the visit is
    /// over are ignored.
    pub fn apply(&mut self, ev: VisitEvent, now: i64) -> Vec<AuditEntry> {
        use VisitEvent as E;
        use VisitPhase as P;
        if self.is_over() {
            return Vec::new();
        }
        let in_call = self.phase == P::Joined;
        match ev {
            E::ConferenceJoined { local_id } => {
                if in_call {
                    return Vec::new();
                }
                self.phase = P::Joined;
                self.local_id = local_id;
                self.started_at.get_or_insert(now);
                vec![
                    self.entry(now, AuditKind::VisitJoined)
                        .flag("moderator", self.moderator),
                ]
            }
            E::ConferenceLeft if in_call => {
                self.phase = P::Left;
                let n = self.participants.len();
                self.participants.clear();
                self.knocking.clear();
                vec![
                    self.entry(now, AuditKind::VisitLeft)
                        .count("participants", n),
                ]
            }
            E::ParticipantJoined { id } if in_call => {
                self.knocking.retain(|k| k.id != id);
                if self.participants.len() >= MAX_PARTICIPANTS || !self.participants.insert(id) {
                    return Vec::new();
                }
                self.had_others = true;
                vec![
                    self.entry(now, AuditKind::ParticipantJoined)
                        .count("participants", self.participants.len()),
                ]
            }
            E::ParticipantLeft { id } if in_call => {
                if !self.participants.remove(&id) {
                    return Vec::new();
                }
                vec![
                    self.entry(now, AuditKind::ParticipantLeft)
                        .count("participants", self.participants.len()),
                ]
            }
            E::RoleChanged { id, moderator } if matches!(self.phase, P::Joining | P::Joined) => {
                let local = match (&self.local_id, &id) {
                    (Some(l), Some(i)) => l == i,
                    _ => true,
                };
                if !local || self.moderator == moderator {
                    return Vec::new();
                }
                self.moderator = moderator;
                vec![
                    self.entry(now, AuditKind::RoleChanged)
                        .flag("moderator", moderator),
                ]
            }
            E::Knocking { id, name } if in_call => {
                if self.is_knocking(&id)
                    || self.participants.contains(&id)
                    || self.knocking.len() >= MAX_KNOCKING
                {
                    return Vec::new();
                }
                self.knocking.push(Knock {
                    id,
                    name,
                    since: now,
                });
                vec![
                    self.entry(now, AuditKind::Knock)
                        .count("waiting", self.knocking.len()),
                ]
            }
            E::KickedOut { local: true } if in_call => {
                self.phase = P::Left;
                self.participants.clear();
                self.knocking.clear();
                vec![self.entry(now, AuditKind::KickedOut)]
            }
            E::Error {
                reason,
                fatal: true,
            } => self.fail(reason, now),
            E::Error {
                reason,
                fatal: false,
            } => vec![
                self.entry(now, AuditKind::VisitError)
                    .code("type", reason.code()),
            ],
            E::PasswordRequired if !self.password_required => {
                self.password_required = true;
                vec![self.entry(now, AuditKind::PasswordRequired)]
            }
            E::ReadyToClose => {
                self.phase = P::Ended;
                self.ended_at = Some(now);
                let secs = self
                    .started_at
                    .map_or(0, |s| usize::try_from(now - s).unwrap_or(0));
                self.participants.clear();
                self.knocking.clear();
                vec![
                    self.entry(now, AuditKind::VisitEnded)
                        .count("seconds", secs)
                        .flag("had_participants", self.had_others),
                ]
            }
            E::E2ee(s) if s != self.e2ee => {
                self.e2ee = s;
                vec![self.entry(now, AuditKind::E2ee).code("state", s.code())]
            }
            E::LobbyEnabled(b) if b != self.lobby => {
                self.lobby = b;
                vec![self.entry(now, AuditKind::Lobby).flag("enabled", b)]
            }
            // The token bounds joining only (clinic-api §4.2): in a call it changes nothing.
            E::TokenExpired if !in_call => self.fail(FailReason::TokenExpired, now),
            E::LoadFailed => self.fail(FailReason::LoadFailed, now),
            E::MediaUnsupported if !self.media_unsupported => {
                self.media_unsupported = true;
                vec![
                    self.entry(now, AuditKind::E2ee)
                        .code("media", "unsupported"),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// Records a host command the view executed (after [`HostCommand::allowed`]). Jitsi sends
    /// no event for some of them (deny, lobby, E2EE), so their effect is applied here.
    pub fn executed(&mut self, cmd: &HostCommand, now: i64) -> Vec<AuditEntry> {
        if self.is_over() {
            return Vec::new();
        }
        match cmd {
            HostCommand::Admit { id } | HostCommand::Deny { id } => {
                self.knocking.retain(|k| &k.id != id)
            }
            HostCommand::LockRoom(b) => self.lobby = *b,
            HostCommand::ToggleE2ee(b) => self.e2ee = if *b { E2ee::On } else { E2ee::Off },
            _ => {}
        }
        vec![
            self.entry(now, AuditKind::HostCommand)
                .code("command", cmd.code()),
        ]
    }

    /// What the UI draws.
    pub fn view(&self) -> VisitView {
        VisitView {
            appointment_id: self.appointment_id.clone(),
            phase: self.phase,
            moderator: self.moderator,
            can_host: self.moderator && self.phase == VisitPhase::Joined,
            participants: u32::try_from(self.participants.len()).unwrap_or(u32::MAX),
            knocking: self.knocking.clone(),
            e2ee: self.e2ee,
            lobby: self.lobby,
            password_required: self.password_required,
            failure: self.failure,
            media_unsupported: self.media_unsupported,
            started_at: self.started_at,
            ended_at: self.ended_at,
            badge: self.schedule_badge().map(str::to_string),
        }
    }
}

/// The visit for the UI. Never holds the token or the room name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VisitView {
    pub appointment_id: String,
    pub phase: VisitPhase,
    pub moderator: bool,
    /// Host controls may be offered (moderator, in the call).
    pub can_host: bool,
    /// Remote participants in the call now.
    pub participants: u32,
    /// Lobby, oldest first; names only for the notice.
    pub knocking: Vec<Knock>,
    pub e2ee: E2ee,
    pub lobby: bool,
    pub password_required: bool,
    pub failure: Option<FailReason>,
    /// No WebRTC in this view: offer the system browser.
    pub media_unsupported: bool,
    #[specta(type = Option<u32>)]
    pub started_at: Option<i64>,
    #[specta(type = Option<u32>)]
    pub ended_at: Option<i64>,
    /// `"inProgress"` / `"done"` for the schedule row ([`VisitState::schedule_badge`]).
    pub badge: Option<String>,
}

/// The only meeting commands the view may execute for host controls. From the UI as JSON:
/// `"muteEveryone"`, `{"kick": {"id": "…"}}`, `{"admit": {"id": "…"}}`, `{"deny": {"id": "…"}}`,
/// `{"lockRoom": true}`, `"endForAll"`, `"leave"`, `{"toggleE2ee": false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum HostCommand {
    MuteEveryone,
    Kick {
        id: String,
    },
    Admit {
        id: String,
    },
    Deny {
        id: String,
    },
    /// Lobby on/off (Jitsi `toggleLobby`).
    LockRoom(bool),
    EndForAll,
    Leave,
    ToggleE2ee(bool),
}

impl HostCommand {
    /// Jitsi `api.executeCommand(name, ...args)`.
    pub fn to_iframe(&self) -> (String, Value) {
        let (name, args) = match self {
            Self::MuteEveryone => ("muteEveryone", json!(["audio"])),
            Self::Kick { id } => ("kickParticipant", json!([id])),
            Self::Admit { id } => ("answerKnockingParticipant", json!([id, true])),
            Self::Deny { id } => ("answerKnockingParticipant", json!([id, false])),
            Self::LockRoom(b) => ("toggleLobby", json!([b])),
            Self::EndForAll => ("endConference", json!([])),
            Self::Leave => ("hangup", json!([])),
            Self::ToggleE2ee(b) => ("toggleE2EE", json!([b])),
        };
        (name.to_string(), args)
    }

    /// The audit code (no ids).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MuteEveryone => "muteEveryone",
            Self::Kick { .. } => "kick",
            Self::Admit { .. } => "admit",
            Self::Deny { .. } => "deny",
            Self::LockRoom(true) => "lobbyOn",
            Self::LockRoom(false) => "lobbyOff",
            Self::EndForAll => "endForAll",
            Self::Leave => "leave",
            Self::ToggleE2ee(true) => "e2eeOn",
            Self::ToggleE2ee(false) => "e2eeOff",
        }
    }

    /// Whether the view may run it now: `Leave` whenever in or joining the call; everything
    /// else only for a moderator in the call; `Admit`/`Deny` only for someone knocking, `Kick`
    /// only for someone in the call; E2EE on only where it is supported and not off by policy.
    pub fn allowed(&self, state: &VisitState) -> bool {
        let in_call = state.phase == VisitPhase::Joined;
        match self {
            Self::Leave => matches!(state.phase, VisitPhase::Joining | VisitPhase::Joined),
            _ if !(in_call && state.moderator) => false,
            Self::Admit { id } | Self::Deny { id } => state.is_knocking(id),
            Self::Kick { id } => state.participants.contains(id),
            Self::ToggleE2ee(true) => !matches!(state.e2ee, E2ee::NotSupported | E2ee::OffByPolicy),
            Self::MuteEveryone | Self::LockRoom(_) | Self::EndForAll | Self::ToggleE2ee(false) => {
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_530_000;

    fn ev(v: Value) -> VisitEvent {
        serde_json::from_value(v).expect("event")
    }

    fn kinds(v: &[AuditEntry]) -> Vec<&'static str> {
        v.iter().map(|e| e.kind().as_str()).collect()
    }

    #[test]
    fn a_whole_visit() {
        let mut s = VisitState::new("appt-1", true);
        assert_eq!(s.phase(), VisitPhase::Joining);
        let a = s.apply(
            ev(json!({"event": "videoConferenceJoined",
                      "data": {"roomName": "appt-xyz", "id": "loc1", "displayName": "Dr A"}})),
            T,
        );
        assert_eq!(kinds(&a), ["visit.joined"]);
        assert_eq!(s.schedule_badge(), Some("inProgress"));
        s.apply(
            ev(json!({"event": "participantRoleChanged", "data": {"id": "loc1", "role": "moderator"}})),
            T,
        );
        assert!(s.moderator());
        // A remote role change does not touch ours.
        s.apply(
            ev(json!({"event": "participantRoleChanged", "data": {"id": "zz", "role": "none"}})),
            T,
        );
        assert!(s.moderator());

        let a = s.apply(
            ev(json!({"event": "participantJoined", "data": {"id": "p1", "displayName": "Nurse"}})),
            T + 1,
        );
        assert_eq!(kinds(&a), ["visit.participant_joined"]);
        assert_eq!(s.participants(), 1);

        let a = s.apply(
            ev(json!({"event": "knockingParticipant",
                      "data": {"participant": {"id": "k1", "name": "Jane\u{7} Patient"}}})),
            T + 2,
        );
        assert_eq!(kinds(&a), ["visit.knock"]);
        assert_eq!(s.knocking()[0].name, "Jane Patient");
        assert!(!format!("{s:?}").contains("Jane"));

        let admit = HostCommand::Admit { id: "k1".into() };
        assert!(admit.allowed(&s));
        assert!(!HostCommand::Admit { id: "k2".into() }.allowed(&s));
        let a = s.executed(&admit, T + 3);
        assert_eq!(
            a[0].get("command"),
            Some(crate::audit::DetailValue::Code("admit"))
        );
        assert!(s.knocking().is_empty());
        s.apply(
            ev(json!({"event": "participantJoined", "data": {"id": "k1", "displayName": "Jane"}})),
            T + 3,
        );
        assert_eq!(s.participants(), 2);
        assert!(HostCommand::Kick { id: "k1".into() }.allowed(&s));

        s.apply(
            ev(json!({"event": "participantLeft", "data": {"id": "p1"}})),
            T + 4,
        );
        assert_eq!(s.view().participants, 1);
        let a = s.apply(ev(json!({"event": "readyToClose"})), T + 600);
        assert_eq!(kinds(&a), ["visit.ended"]);
        assert_eq!(
            a[0].get("seconds"),
            Some(crate::audit::DetailValue::Count(600))
        );
        assert_eq!(s.phase(), VisitPhase::Ended);
        assert_eq!(s.schedule_badge(), Some("done"));
        assert_eq!(s.view().ended_at, Some(T + 600));

        // After the end nothing changes.
        let before = s.clone();
        for e in [
            json!({"event": "videoConferenceJoined", "data": {}}),
            json!({"event": "participantJoined", "data": {"id": "x"}}),
            json!({"event": "errorOccurred", "data": {"type": "CONNECTION", "isFatal": true}}),
        ] {
            assert!(s.apply(ev(e), T + 700).is_empty());
        }
        assert!(s.executed(&HostCommand::EndForAll, T).is_empty());
        assert_eq!(s, before);
        assert!(!HostCommand::Leave.allowed(&s));
    }

    #[test]
    fn fatal_error_fails_and_non_fatal_does_not() {
        let mut s = VisitState::new("appt-1", false);
        let a = s.apply(
            ev(json!({"event": "errorOccurred",
                      "data": {"name": "x", "message": "Jane Doe's token abc", "type": "CONFERENCE", "isFatal": false}})),
            T,
        );
        assert_eq!(kinds(&a), ["visit.error"]);
        assert_eq!(s.phase(), VisitPhase::Joining);
        assert!(!a[0].to_line().contains("Jane"));
        let a = s.apply(
            ev(json!({"event": "errorOccurred",
                      "data": {"name": "conference.connectionError.notAllowed", "type": "CONNECTION", "isFatal": true}})),
            T,
        );
        assert_eq!(kinds(&a), ["visit.failed"]);
        assert_eq!(s.phase(), VisitPhase::Failed);
        assert_eq!(s.failure(), Some(FailReason::Connection));
        assert_eq!(s.schedule_badge(), None);
    }

    #[test]
    fn token_expiry_matters_only_before_joining() {
        let mut s = VisitState::new("a", true);
        s.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
        assert!(s.apply(ev(json!({"event": "tokenExpired"})), T).is_empty());
        assert_eq!(s.phase(), VisitPhase::Joined);
        let mut s = VisitState::new("a", true);
        s.apply(ev(json!({"event": "tokenExpired"})), T);
        assert_eq!(s.failure(), Some(FailReason::TokenExpired));
    }

    #[test]
    fn unknown_and_odd_events_are_ignored() {
        let mut s = VisitState::new("a", true);
        s.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
        let before = s.clone();
        let huge = "x".repeat(100_000);
        for text in [
            r#"{"event": "somethingNew", "data": {"a": 1}}"#.to_string(),
            r#"{"event": "participantJoined"}"#.into(),
            r#"{"event": "participantJoined", "data": {"id": 5}}"#.into(),
            r#"{"event": "participantJoined", "data": {"id": "a\nb"}}"#.into(),
            format!(
                r#"{{"event": "participantJoined", "data": {{"id": "{}"}}}}"#,
                &huge[..65]
            ),
            format!(r#"{{"event": "participantJoined", "data": {{"id": "{huge}"}}}}"#),
            r#"{"event": "knockingParticipant", "data": {"participant": "nope"}}"#.into(),
            r#"{"event": "e2ee", "data": {"state": "maybe"}}"#.into(),
            r#"{"event": "lobbyEnabled", "data": "yes"}"#.into(),
            r#"{"data": {}}"#.into(),
            "[[[[[[".into(),
            "not json".into(),
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
            String::new(),
        ] {
            let e = VisitEvent::from_json(&text);
            assert_eq!(e, VisitEvent::Ignored, "{}", &text[..text.len().min(60)]);
            assert!(s.apply(e, T).is_empty());
        }
        assert_eq!(s, before);
    }

    #[test]
    fn lists_are_bounded_and_names_cut() {
        let mut s = VisitState::new("a", true);
        s.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
        for i in 0..1000 {
            s.apply(
                VisitEvent::ParticipantJoined {
                    id: format!("p{i}"),
                },
                T,
            );
            s.apply(
                VisitEvent::from_parts(
                    "knockingParticipant",
                    &json!({"participant": {"id": format!("k{i}"), "name": "N".repeat(10_000)}}),
                ),
                T,
            );
        }
        assert_eq!(s.participants(), MAX_PARTICIPANTS);
        assert_eq!(s.knocking().len(), MAX_KNOCKING);
        assert!(s.knocking().iter().all(|k| k.name.chars().count() == 64));
    }

    #[test]
    fn host_commands() {
        let cases = [
            (HostCommand::MuteEveryone, "muteEveryone", json!(["audio"])),
            (
                HostCommand::Kick { id: "p".into() },
                "kickParticipant",
                json!(["p"]),
            ),
            (
                HostCommand::Admit { id: "k".into() },
                "answerKnockingParticipant",
                json!(["k", true]),
            ),
            (
                HostCommand::Deny { id: "k".into() },
                "answerKnockingParticipant",
                json!(["k", false]),
            ),
            (HostCommand::LockRoom(true), "toggleLobby", json!([true])),
            (HostCommand::EndForAll, "endConference", json!([])),
            (HostCommand::Leave, "hangup", json!([])),
            (HostCommand::ToggleE2ee(false), "toggleE2EE", json!([false])),
        ];
        for (c, name, args) in cases {
            assert_eq!(c.to_iframe(), (name.to_string(), args));
        }
        // From the UI's JSON.
        let c: HostCommand = serde_json::from_str(r#"{"kick":{"id":"p1"}}"#).expect("kick");
        assert_eq!(c, HostCommand::Kick { id: "p1".into() });
        let c: HostCommand = serde_json::from_str(r#"{"lockRoom":true}"#).expect("lock");
        assert_eq!(c, HostCommand::LockRoom(true));
        let c: HostCommand = serde_json::from_str(r#""endForAll""#).expect("end");
        assert_eq!(c, HostCommand::EndForAll);
        assert!(serde_json::from_str::<HostCommand>(r#""grantModerator""#).is_err());

        // Not a moderator: only Leave.
        let mut guest = VisitState::new("a", false);
        assert!(HostCommand::Leave.allowed(&guest));
        guest.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
        guest.apply(VisitEvent::ParticipantJoined { id: "p".into() }, T);
        guest.apply(
            VisitEvent::Knocking {
                id: "k".into(),
                name: String::new(),
            },
            T,
        );
        for c in [
            HostCommand::MuteEveryone,
            HostCommand::Kick { id: "p".into() },
            HostCommand::Admit { id: "k".into() },
            HostCommand::Deny { id: "k".into() },
            HostCommand::LockRoom(true),
            HostCommand::EndForAll,
            HostCommand::ToggleE2ee(true),
        ] {
            assert!(!c.allowed(&guest), "{c:?}");
        }
        assert!(HostCommand::Leave.allowed(&guest));

        // Moderator: kick only someone present; E2EE only where possible.
        let mut host = VisitState::new("a", true);
        assert!(
            !HostCommand::MuteEveryone.allowed(&host),
            "not in the call yet"
        );
        host.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
        assert!(HostCommand::MuteEveryone.allowed(&host));
        assert!(!HostCommand::Kick { id: "ghost".into() }.allowed(&host));
        assert!(HostCommand::ToggleE2ee(true).allowed(&host));
        host.apply(VisitEvent::E2ee(E2ee::NotSupported), T);
        assert!(!HostCommand::ToggleE2ee(true).allowed(&host));
        host.executed(&HostCommand::LockRoom(true), T);
        assert!(host.lobby());
        // Losing the moderator role takes the controls away.
        host.apply(
            VisitEvent::RoleChanged {
                id: None,
                moderator: false,
            },
            T,
        );
        assert!(!HostCommand::EndForAll.allowed(&host));
        assert!(!host.view().can_host);
    }

    #[test]
    fn view_json_has_no_secrets_and_is_camel_case() {
        let mut s = VisitState::new("appt-1", true);
        s.apply(
            VisitEvent::ConferenceJoined {
                local_id: Some("l".into()),
            },
            T,
        );
        let v = serde_json::to_value(s.view()).expect("json");
        assert_eq!(v["appointmentId"], "appt-1");
        assert_eq!(v["phase"], "joined");
        assert_eq!(v["canHost"], true);
        assert_eq!(v["startedAt"], T);
        assert_eq!(v["badge"], "inProgress");
        assert_eq!(v["e2ee"], "unknown");
    }
}
