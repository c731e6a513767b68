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

mod command;
mod event;
#[cfg(test)]
mod tests;

pub use command::HostCommand;
pub use event::VisitEvent;

use std::collections::BTreeSet;

use serde::Serialize;

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
