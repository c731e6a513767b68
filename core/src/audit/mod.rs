//! The local audit log of security-relevant events: append-only JSON lines, times and event
//! kinds only.
//!
//! One line per [`AuditEntry`]:
//! `{"at":"2026-11-24T14:50:00Z","kind":"visit.joined","appointment":"<id>","detail":{"participants":1}}`.
//!
//! What can be written is fixed by the types, not by care at each call site: the kind is a
//! closed enum ([`AuditKind`]), the detail keys and codes are `&'static str` and the values are
//! counts, flags or those static codes ([`DetailValue`]); the appointment id is written only
//! when it has the shape of an id (else `"invalid"`). So no name, room, token, display name or
//! free text from a server or the meeting can reach the file.
//!
//! The file is `<dir>/audit.jsonl`, mode 0600 on unix, flushed after every line (no fsync).

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::schedule::instant::format_instant;

/// The file name inside the directory given to [`AuditLog::open`].
pub const FILE_NAME: &str = "audit.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("could not write the audit log: {0}")]
    Write(String),
    #[error("could not read the audit log: {0}")]
    Read(String),
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
        }
    }
}

/// A detail value: never free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailValue {
    Count(u32),
    Flag(bool),
    Code(&'static str),
}

impl DetailValue {
    fn to_json(self) -> Value {
        match self {
            Self::Count(n) => json!(n),
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

/// A line read back from the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditRecord {
    pub at: String,
    pub kind: String,
    pub appointment: String,
    #[serde(default)]
    pub detail: Map<String, Value>,
}

/// The append-only log file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens (creates) `<dir>/audit.jsonl` for appending; creates `dir` if needed.
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        let w = |e: std::io::Error| AuditError::Write(e.to_string());
        std::fs::create_dir_all(dir).map_err(w)?;
        let path = dir.join(FILE_NAME);
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let file = opts.open(&path).map_err(w)?;
        // An existing file made by something else keeps its mode on open: tighten it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(w)?;
        }
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and flushes it.
    pub fn append(&self, entry: &AuditEntry) -> Result<(), AuditError> {
        let mut line = entry.to_line();
        line.push('\n');
        let mut f = self
            .file
            .lock()
            .map_err(|_| AuditError::Write("the audit log lock is poisoned".into()))?;
        f.write_all(line.as_bytes())
            .and_then(|()| f.flush())
            .map_err(|e| AuditError::Write(e.to_string()))
    }

    /// Appends several lines (e.g. what `VisitState::apply` returned).
    pub fn append_all(&self, entries: &[AuditEntry]) -> Result<(), AuditError> {
        entries.iter().try_for_each(|e| self.append(e))
    }

    /// The last `n` lines, oldest first (tests, CLI). Lines that do not parse are skipped.
    pub fn read_recent(&self, n: usize) -> Result<Vec<AuditRecord>, AuditError> {
        let f = File::open(&self.path).map_err(|e| AuditError::Read(e.to_string()))?;
        let mut ring = std::collections::VecDeque::with_capacity(n.min(1024));
        for line in BufReader::new(f).lines() {
            let line = line.map_err(|e| AuditError::Read(e.to_string()))?;
            if let Ok(r) = serde_json::from_str::<AuditRecord>(&line) {
                if ring.len() == n {
                    ring.pop_front();
                }
                if n > 0 {
                    ring.push_back(r);
                }
            }
        }
        Ok(ring.into())
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

    #[test]
    fn appends_flushes_and_reads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = AuditLog::open(dir.path()).expect("open");
        for i in 0..5 {
            log.append(&AuditEntry::new(T + i, AuditKind::ParticipantJoined, "a1").count("n", 1))
                .expect("append");
        }
        let recent = log.read_recent(2).expect("read");
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[1].at, "2026-11-24T14:20:04Z");
        assert_eq!(recent[0].kind, "visit.participant_joined");
        // Reopening appends; nothing is truncated.
        drop(log);
        let log = AuditLog::open(dir.path()).expect("reopen");
        log.append(&AuditEntry::new(T, AuditKind::VisitEnded, "a1"))
            .expect("append");
        assert_eq!(log.read_recent(100).expect("read").len(), 6);
        assert!(log.read_recent(0).expect("read").is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "").expect("pre-existing");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let _log = AuditLog::open(dir.path()).expect("open");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
