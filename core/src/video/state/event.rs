//! The view's event wire format: each IFrame API message parsed, bounded and checked into a
//! [`VisitEvent`] before the state machine sees it.

use serde::Deserialize;
use serde_json::Value;

use super::{E2ee, FailReason, MAX_EVENT_BYTES, MAX_ID_CHARS, MAX_NAME_CHARS};

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
