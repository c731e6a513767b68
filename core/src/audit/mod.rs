//! The local audit log of security-relevant events: append-only JSON lines, times and event
//! kinds only, chained and keyed so that an edit shows (HIPAA §164.312(b), (c)).
//!
//! One line per [`AuditEntry`], with its place in the chain ([`chain`]):
//! `{"seq":7,"appointment":"<id>","at":"2026-11-24T14:50:00Z","detail":{"participants":1},"kind":"visit.joined","prev":"<sha-256>","mac":"<hmac>"}`.
//!
//! What can be written is fixed by the types, not by care at each call site: the kind is a
//! closed enum ([`AuditKind`]), the detail keys and codes are `&'static str` and the values are
//! counts, flags, sequence numbers or those static codes ([`DetailValue`]); the appointment id
//! is written only when it has the shape of an id (else `"invalid"`). So no name, room, token,
//! display name or free text from a server or the meeting can reach the file. The chain adds
//! only numbers and hex digests.
//!
//! Files: `<dir>/audit.jsonl` (current), `audit.1.jsonl` (newest rotated) … `audit.N.jsonl`,
//! mode 0600 on unix, flushed after every line (no fsync). Writing: [`log`] (file names and
//! tail reads: [`files`]); the MAC key and the tail checkpoint in the keychain: [`keys`];
//! checking: [`verify`], its answer: [`report`]; IT's copy: [`export`].

pub mod chain;
pub mod export;
pub mod files;
pub mod keys;
pub mod log;
pub mod report;
pub mod verify;

#[cfg(test)]
mod tamper_tests;

pub use keys::{AuditKeys, Checkpoint, MemoryAuditKeys};
pub use log::{AuditLog, AuditRecord, Rotation};
pub use verify::{Problem, Report, Status};

use serde_json::{Map, Value, json};

use crate::schedule::instant::format_instant;

/// The current file's name inside the directory given to [`AuditLog::open`].
pub const FILE_NAME: &str = "audit.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("could not write the audit log: {0}")]
    Write(String),
    #[error("could not read the audit log: {0}")]
    Read(String),
}

impl AuditError {
    pub(crate) fn write(e: std::io::Error) -> Self {
        Self::Write(e.to_string())
    }
    pub(crate) fn read(e: std::io::Error) -> Self {
        Self::Read(e.to_string())
    }
}

/// Every kind of line the log can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// The clinic issued a room + token for the appointment.
    VisitTicket,
    /// The clinic refused to (detail `reason`).
    VisitTicketRefused,
    VisitJoined,
    VisitLeft,
    VisitEnded,
    /// A fatal error, an expired token, a view that failed to load (detail `reason`).
    VisitFailed,
    /// A non-fatal meeting error (detail `type`).
    VisitError,
    ParticipantJoined,
    ParticipantLeft,
    /// Someone knocked in the lobby.
    Knock,
    /// The local role changed (detail `moderator`).
    RoleChanged,
    /// The local user was removed from the meeting.
    KickedOut,
    Lobby,
    E2ee,
    PasswordRequired,
    /// A host control the app executed (detail `command`).
    HostCommand,
    /// A new chain begins (detail `reason`: `new`, `legacy` = an unchained file of an earlier
    /// version was moved aside, `log_missing` = the keychain knew a log that is gone,
    /// `key_missing` = the log was keyed but the key is gone).
    LogStarted,
    /// At start the app found fewer records than the keychain's checkpoint (detail
    /// `checkpoint_seq`, `last_seq`): the tail was cut while the app was not running.
    TailMissing,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VisitTicket => "visit.ticket",
            Self::VisitTicketRefused => "visit.ticket_refused",
            Self::VisitJoined => "visit.joined",
            Self::VisitLeft => "visit.left",
            Self::VisitEnded => "visit.ended",
            Self::VisitFailed => "visit.failed",
            Self::VisitError => "visit.error",
            Self::ParticipantJoined => "visit.participant_joined",
            Self::ParticipantLeft => "visit.participant_left",
            Self::Knock => "visit.knock",
            Self::RoleChanged => "visit.role_changed",
            Self::KickedOut => "visit.kicked_out",
            Self::Lobby => "visit.lobby",
            Self::E2ee => "visit.e2ee",
            Self::PasswordRequired => "visit.password_required",
            Self::HostCommand => "visit.host_command",
            Self::LogStarted => "audit.started",
            Self::TailMissing => "audit.tail_missing",
        }
    }
}

/// A detail value: never free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailValue {
    Count(u32),
    /// A record's sequence number (the chain's own records only).
    Seq(u64),
    Flag(bool),
    Code(&'static str),
}

impl DetailValue {
    fn to_json(self) -> Value {
        match self {
            Self::Count(n) => json!(n),
            Self::Seq(n) => json!(n),
            Self::Flag(b) => json!(b),
            Self::Code(c) => json!(c),
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    at: i64,
    kind: AuditKind,
    appointment: String,
    detail: Vec<(&'static str, DetailValue)>,
}

/// Appointment ids as the core accepts them in a path: `[A-Za-z0-9-]{1,64}`.
pub fn is_appointment_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl AuditEntry {
    /// `at` is unix seconds. An `appointment` that is not id-shaped is written as `"invalid"`.
    pub fn new(at: i64, kind: AuditKind, appointment: &str) -> Self {
        Self {
            at,
            kind,
            appointment: if is_appointment_id(appointment) {
                appointment.to_string()
            } else {
                "invalid".into()
            },
            detail: Vec::new(),
        }
    }

    pub fn count(mut self, key: &'static str, n: usize) -> Self {
        self.detail.push((
            key,
            DetailValue::Count(u32::try_from(n).unwrap_or(u32::MAX)),
        ));
        self
    }

    pub fn flag(mut self, key: &'static str, b: bool) -> Self {
        self.detail.push((key, DetailValue::Flag(b)));
        self
    }

    pub(crate) fn seq(mut self, key: &'static str, n: u64) -> Self {
        self.detail.push((key, DetailValue::Seq(n)));
        self
    }

    pub fn code(mut self, key: &'static str, code: &'static str) -> Self {
        self.detail.push((key, DetailValue::Code(code)));
        self
    }

    pub fn at(&self) -> i64 {
        self.at
    }

    pub fn kind(&self) -> AuditKind {
        self.kind
    }

    pub fn appointment(&self) -> &str {
        &self.appointment
    }

    pub fn detail(&self) -> &[(&'static str, DetailValue)] {
        &self.detail
    }

    /// The value of one detail key.
    pub fn get(&self, key: &str) -> Option<DetailValue> {
        self.detail.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The JSON line (without the newline).
    pub fn to_line(&self) -> String {
        let detail: Map<String, Value> = self
            .detail
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.to_json()))
            .collect();
        json!({
            "at": format_instant(self.at),
            "kind": self.kind.as_str(),
            "appointment": self.appointment,
            "detail": detail,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_530_000; // 2026-11-24T14:20:00Z

    #[test]
    fn line_shape() {
        let e = AuditEntry::new(T, AuditKind::VisitJoined, "abc-123")
            .count("participants", 2)
            .flag("moderator", true)
            .code("reason", "fatal");
        let v: Value = serde_json::from_str(&e.to_line()).expect("json");
        assert_eq!(
            v,
            json!({"at": "2026-11-24T14:20:00Z", "kind": "visit.joined", "appointment": "abc-123",
                   "detail": {"participants": 2, "moderator": true, "reason": "fatal"}})
        );
    }

    #[test]
    fn odd_appointment_ids_are_not_written() {
        for bad in ["", "Jane Doe", "a/b", &"x".repeat(65), "ä"] {
            let e = AuditEntry::new(T, AuditKind::VisitEnded, bad);
            assert_eq!(e.appointment(), "invalid", "{bad}");
        }
    }
}
