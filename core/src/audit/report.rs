//! What `verify` answers: a status, the first broken record and what is wrong with it, in
//! words for IT and as JSON (`rounds-cli audit verify --json`).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every record authenticated, linked and in order; the tail matches the checkpoint.
    Intact,
    /// Nothing broken found, but not everything could be authenticated (no key, unkeyed
    /// records, no checkpoint).
    Unverified,
    Broken,
}

/// What is wrong at the first broken record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Not a chain record (edited into invalid JSON, or a line without the chain's fields).
    Unparsable,
    /// The file ends in a line without its newline (cut mid-record, or a crash mid-write).
    TornLine,
    BadMac,
    BrokenLink,
    SeqGap {
        expected: u64,
        found: u64,
    },
    OutOfOrder {
        expected: u64,
        found: u64,
    },
    /// The app found the tail cut at a start and wrote `audit.tail_missing` here.
    TailMissing {
        checkpoint_seq: u64,
        last_seq: u64,
    },
    /// The log ends before the checkpoint: its last records were removed.
    TruncatedTail {
        checkpoint_seq: u64,
        last_seq: u64,
    },
    /// The record at the checkpoint's `seq` is not the one the checkpoint saw.
    CheckpointMismatch,
    /// The oldest kept record is newer than the one the checkpoint says is the oldest kept.
    OlderRecordsMissing {
        expected: u64,
        found: u64,
    },
    /// A chain started because the log the keychain knew was gone (`audit.started`,
    /// `log_missing`), or there is no log at all but a checkpoint.
    LogMissing {
        checkpoint_seq: u64,
    },
    /// The chain starts from a legacy file whose SHA-256 no longer matches.
    LegacyChanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    /// 1-based line in `file`.
    pub line: usize,
    pub seq: Option<u64>,
    #[serde(flatten)]
    pub problem: Problem,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    pub file: String,
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub status: Status,
    pub files: Vec<FileSummary>,
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub broken: Option<Finding>,
    /// MACs were checked (the key was read from the keychain).
    pub mac_checked: bool,
    pub checkpoint_checked: bool,
    /// Records written without a MAC (keychain locked at the time).
    pub unkeyed: u64,
    /// Records after the checkpoint (the app stopped before it could move it).
    pub after_checkpoint: u64,
    pub notes: Vec<String>,
}

pub(crate) fn message(p: &Problem, seq: Option<u64>) -> String {
    let s = seq.map_or("?".into(), |s| s.to_string());
    match p {
        Problem::Unparsable => "not an audit record (edited or damaged)".into(),
        Problem::TornLine => "the last line is cut off (file truncated mid-record)".into(),
        Problem::BadMac => format!("record {s}: bad MAC (edited, or not written by Rounds)"),
        Problem::BrokenLink => {
            format!("record {s}: broken link (the record before it was changed or removed)")
        }
        Problem::SeqGap { expected, found } => {
            format!("record {expected} missing: found {found} (record deleted)")
        }
        Problem::OutOfOrder { expected, found } => {
            format!(
                "out of order: record {found} where {expected} was expected (moved or inserted)"
            )
        }
        Problem::TailMissing {
            checkpoint_seq,
            last_seq,
        } => format!(
            "records {}..={checkpoint_seq} were removed while Rounds was not running (found at its next start)",
            last_seq + 1
        ),
        Problem::TruncatedTail {
            checkpoint_seq,
            last_seq,
        } => format!(
            "truncated tail: the log ends at record {last_seq}, the keychain's checkpoint is at {checkpoint_seq}"
        ),
        Problem::CheckpointMismatch => {
            format!(
                "record {s} is not the record the keychain's checkpoint recorded (log replaced)"
            )
        }
        Problem::OlderRecordsMissing { expected, found } => format!(
            "the oldest kept record is {found}, the keychain says {expected} (older file deleted)"
        ),
        Problem::LogMissing { checkpoint_seq } => {
            format!("the log the keychain knew (up to record {checkpoint_seq}) was deleted")
        }
        Problem::LegacyChanged => "the legacy file this chain starts from was changed".into(),
    }
}
