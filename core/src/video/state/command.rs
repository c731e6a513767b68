//! Host controls: the only meeting commands the view may run, and the check of each against
//! the visit's state, kept apart so the allow-list is read in one place.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{E2ee, VisitPhase, VisitState};

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
