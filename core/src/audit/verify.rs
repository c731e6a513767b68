//! Checking the chain: every kept file, oldest first, record by record, and the tail against
//! the keychain's checkpoint. The first broken record is named (file, line, seq, what is
//! wrong) and checking stops there: after a break nothing further can be trusted.
//!
//! Per record, in this order (the first that fails is the finding):
//! `seq` (one more than the last: a larger one is a gap, or out of order when the missing one
//! comes next; a smaller one is out of order), the link (`prev` = SHA-256 of the line before),
//! the MAC, and, at the checkpoint's `seq`, the checkpoint's hash. At the end: a log shorter
//! than the checkpoint had its tail cut.
//!
//! What it can say without the key: whether order and links hold. That is not proof (anyone
//! can recompute SHA-256), so the status is then [`Status::Unverified`], as it is for records
//! written `mac: null` while the keychain was locked.

use std::path::Path;

use super::chain::{self, Hash, MacKey, ZERO_HASH};
use super::files::chain_files;
use super::keys::{AuditKeys, Checkpoint};
use super::report::message;
pub use super::report::{FileSummary, Finding, Problem, Report, Status};

/// Verifies `dir` with the key and checkpoint from `keys` (read only: never makes a key).
pub fn verify(dir: &Path, keys: Option<&dyn AuditKeys>) -> Report {
    let mut notes = Vec::new();
    let key = match keys.map(|k| k.get_key()) {
        Some(Ok(Some(k))) => MacKey::from_hex(k.expose()),
        Some(Ok(None)) => {
            notes.push("the keychain holds no audit key: MACs not checked".into());
            None
        }
        Some(Err(e)) => {
            notes.push(format!("audit key not readable ({e}): MACs not checked"));
            None
        }
        None => None,
    };
    let checkpoint = keys.and_then(|k| k.checkpoint().ok().flatten());
    let mut r = verify_with(dir, key.as_ref(), checkpoint.as_ref());
    notes.append(&mut r.notes);
    r.notes = notes;
    r
}

struct Walk<'a> {
    key: Option<&'a MacKey>,
    checkpoint: Option<&'a Checkpoint>,
    report: Report,
    prev: Option<(u64, Hash)>,
}

/// Verifies `dir` with an explicit key and checkpoint (tests, the bench).
pub fn verify_with(dir: &Path, key: Option<&MacKey>, checkpoint: Option<&Checkpoint>) -> Report {
    let mut w = Walk {
        key,
        checkpoint,
        report: Report {
            status: Status::Intact,
            files: Vec::new(),
            records: 0,
            first_seq: None,
            last_seq: None,
            broken: None,
            mac_checked: key.is_some(),
            checkpoint_checked: checkpoint.is_some(),
            unkeyed: 0,
            after_checkpoint: 0,
            notes: Vec::new(),
        },
        prev: None,
    };
    let files = chain_files(dir);
    for (n, path) in &files {
        let name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                w.report.notes.push(format!("{name}: not readable ({e})"));
                w.report.status = Status::Broken;
                return w.report;
            }
        };
        w.report.files.push(FileSummary {
            file: name.clone(),
            records: 0,
        });
        if let Err((line, seq, p)) = w.file(dir, &bytes, *n == 0) {
            let message = message(&p, seq);
            w.report.broken = Some(Finding {
                file: name,
                line,
                seq,
                problem: p,
                message,
            });
            w.report.status = Status::Broken;
            return w.report;
        }
    }
    w.finish(files.last().map(|(_, p)| p.as_path()));
    w.report
}

type Break = (usize, Option<u64>, Problem);

impl Walk<'_> {
    fn file(&mut self, dir: &Path, bytes: &[u8], current: bool) -> Result<(), Break> {
        let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        let torn = lines.pop().is_some_and(|l| !l.is_empty());
        for (i, line) in lines.iter().enumerate() {
            let no = i + 1;
            if line.is_empty() {
                // The newline the app writes after a torn line: only the torn line counts.
                continue;
            }
            let link = chain::parse(line).map_err(|_| (no, None, Problem::Unparsable))?;
            let seq = link.seq;
            let fail = |p| (no, Some(seq), p);
            let hash = chain::line_hash(line);
            match self.prev {
                None => self.first_record(dir, &link).map_err(fail)?,
                Some((last, prev_hash)) => {
                    let expected = last + 1;
                    let out_of_order = |found| Problem::OutOfOrder { expected, found };
                    if seq < expected {
                        return Err(fail(out_of_order(seq)));
                    }
                    let next_seq = lines
                        .get(i + 1)
                        .and_then(|l| chain::parse(l).ok())
                        .map(|l| l.seq);
                    let tail_missing = link.kind == "audit.tail_missing";
                    if seq > expected && !tail_missing {
                        return Err(fail(if next_seq == Some(expected) {
                            out_of_order(seq)
                        } else {
                            Problem::SeqGap {
                                expected,
                                found: seq,
                            }
                        }));
                    }
                    if link.prev != prev_hash {
                        return Err(fail(Problem::BrokenLink));
                    }
                    self.check_mac(line, &link).map_err(fail)?;
                    if tail_missing {
                        let cp = link
                            .detail
                            .get("checkpoint_seq")
                            .and_then(|v| v.as_u64())
                            .unwrap_or(seq);
                        return Err(fail(Problem::TailMissing {
                            checkpoint_seq: cp,
                            last_seq: last,
                        }));
                    }
                }
            }
            if self.prev.is_none() {
                self.check_mac(line, &link).map_err(fail)?;
            }
            if let Some(c) = self.checkpoint
                && c.seq == seq
                && c.hash != chain::hex(&hash)
            {
                return Err(fail(Problem::CheckpointMismatch));
            }
            self.prev = Some((seq, hash));
            self.report.records += 1;
            self.report.last_seq = Some(seq);
            if let Some(f) = self.report.files.last_mut() {
                f.records += 1;
            }
        }
        if torn && current {
            return Err((lines.len() + 1, None, Problem::TornLine));
        }
        if torn {
            return Err((lines.len() + 1, None, Problem::Unparsable));
        }
        Ok(())
    }

    fn check_mac(&mut self, line: &[u8], link: &chain::Link) -> Result<(), Problem> {
        match (link.mac, self.key) {
            (None, _) => {
                self.report.unkeyed += 1;
                Ok(())
            }
            (Some(_), Some(k)) if !chain::mac_ok(k, line, link) => Err(Problem::BadMac),
            _ => Ok(()),
        }
    }

    /// The oldest kept record: a chain's start, or where rotation cut older files off.
    fn first_record(&mut self, dir: &Path, link: &chain::Link) -> Result<(), Problem> {
        self.report.first_seq = Some(link.seq);
        if let Some(c) = self.checkpoint
            && link.seq > c.first
        {
            return Err(Problem::OlderRecordsMissing {
                expected: c.first,
                found: link.seq,
            });
        }
        let reason = link.detail.get("reason").and_then(|v| v.as_str());
        match (link.kind.as_str(), reason) {
            ("audit.started", Some("new")) if link.prev != ZERO_HASH => Err(Problem::BrokenLink),
            ("audit.started", Some("log_missing")) => Err(Problem::LogMissing {
                checkpoint_seq: link.seq.saturating_sub(1),
            }),
            ("audit.started", Some("legacy")) => self.legacy(dir, &link.prev),
            ("audit.started", Some("key_missing")) => {
                self.report.notes.push(
                    "the chain before this one could not be checked (its key was gone); \
                     it is kept as audit.unverifiable-*.jsonl"
                        .into(),
                );
                Ok(())
            }
            ("audit.started", _) => Ok(()),
            _ if self.checkpoint.is_none() => {
                self.report.notes.push(format!(
                    "the oldest kept record is {} (older files rotated away)",
                    link.seq
                ));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn legacy(&mut self, dir: &Path, prev: &Hash) -> Result<(), Problem> {
        let legacy: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("audit.legacy"))
            .collect();
        if legacy.is_empty() {
            self.report
                .notes
                .push("the legacy file this chain started from is no longer here".into());
            return Ok(());
        }
        let matches = legacy
            .iter()
            .any(|e| std::fs::read(e.path()).is_ok_and(|b| chain::line_hash(&b) == *prev));
        if matches {
            Ok(())
        } else {
            Err(Problem::LegacyChanged)
        }
    }

    fn finish(&mut self, current: Option<&Path>) {
        let r = &mut self.report;
        let name = current
            .and_then(|p| p.file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| super::FILE_NAME.into());
        let cut = |problem: Problem, line: usize, seq: Option<u64>| Finding {
            message: message(&problem, seq),
            file: name.clone(),
            line,
            seq,
            problem,
        };
        let lines = r.files.last().map_or(0, |f| f.records as usize);
        match (self.checkpoint, r.last_seq) {
            (Some(c), None) => {
                r.broken = Some(cut(
                    Problem::LogMissing {
                        checkpoint_seq: c.seq,
                    },
                    1,
                    None,
                ));
            }
            (Some(c), Some(last)) if last < c.seq => {
                r.broken = Some(cut(
                    Problem::TruncatedTail {
                        checkpoint_seq: c.seq,
                        last_seq: last,
                    },
                    lines + 1,
                    Some(last + 1),
                ));
            }
            (Some(c), Some(last)) => r.after_checkpoint = last - c.seq,
            (None, _) => {}
        }
        if r.broken.is_some() {
            r.status = Status::Broken;
        } else if !r.mac_checked || !r.checkpoint_checked || r.unkeyed > 0 {
            r.status = Status::Unverified;
        }
        if r.after_checkpoint > 0 {
            r.notes.push(format!(
                "{} record(s) after the keychain's checkpoint (Rounds stopped before it could \
                 move it); their MACs are good",
                r.after_checkpoint
            ));
        }
    }
}
