//! Writing the chain: open (carry on from the last record, or start a chain), append, rotate.
//!
//! At open the log picks up where the files end. What it finds decides the first record it
//! writes, so nothing that happened while the app was not running is laundered by the next
//! checkpoint:
//! - no files and no checkpoint: `audit.started` (`new`);
//! - an unchained file from an earlier version: moved aside as `audit.legacy.jsonl` (never
//!   deleted) and `audit.started` (`legacy`) whose `prev` is that file's SHA-256;
//! - no files but a checkpoint: `audit.started` (`log_missing`), `seq` after the checkpoint;
//! - a keyed tail but no key in the keychain: the old files are moved aside as
//!   `audit.unverifiable-<time>[.N].jsonl` and `audit.started` (`key_missing`) links to them;
//! - fewer records than the checkpoint: `audit.tail_missing`, numbered after the checkpoint,
//!   so the gap stays in the chain for `verify` to report.
//!
//! A locked or absent keychain never loses an event and never fails the app: lines are then
//! written with `"mac":null` (still numbered and linked; `verify` reports them as not
//! authenticated) and the key is asked for again at most once a minute.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::chain::{self, Hash, MacKey, ZERO_HASH};
use super::files::{chain_files, file_path, first_line, last_line, open_append, set_aside};
use super::keys::{AuditKeys, Checkpoint};
use super::{AuditEntry, AuditError, AuditKind};

/// When the current file is rotated and how many rotated files are kept.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub max_bytes: u64,
    /// Rotated files kept beside the current one (`audit.1.jsonl` … `audit.<keep>.jsonl`).
    pub keep: u32,
}

impl Default for Rotation {
    /// 10 MiB is about 50,000 records; 10 of them are years of visits on one computer.
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            keep: 10,
        }
    }
}

const KEY_RETRY: Duration = Duration::from_secs(60);

/// A line read back from the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditRecord {
    #[serde(default)]
    pub seq: Option<u64>,
    pub at: String,
    pub kind: String,
    pub appointment: String,
    #[serde(default)]
    pub detail: Map<String, Value>,
}

struct State {
    file: File,
    size: u64,
    next_seq: u64,
    last: Hash,
    first: u64,
    mac: Option<MacKey>,
    next_key_try: Instant,
}

/// The append-only, chained log.
pub struct AuditLog {
    dir: PathBuf,
    path: PathBuf,
    rotation: Rotation,
    keys: Arc<dyn AuditKeys>,
    state: Mutex<State>,
    checkpoints: Checkpointer,
}

impl Drop for AuditLog {
    /// The last checkpoint reaches the keychain before the log goes away.
    fn drop(&mut self) {
        self.checkpoints.stop();
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish()
    }
}

impl AuditLog {
    /// Opens the log in `dir` with the MAC key and checkpoint in this user's OS keychain.
    pub fn open(dir: &Path) -> Result<Self, AuditError> {
        let keys: Arc<dyn AuditKeys> = match crate::vault::Vault::open() {
            Ok(v) => Arc::new(v),
            Err(e) => {
                tracing::warn!(error = %e, "no keychain for the audit key; records unkeyed");
                Arc::new(super::keys::Unavailable)
            }
        };
        Self::with_keys(dir, keys, Rotation::default())
    }

    /// Opens (creates) the log in `dir` with the given key store and rotation.
    pub fn with_keys(
        dir: &Path,
        keys: Arc<dyn AuditKeys>,
        rotation: Rotation,
    ) -> Result<Self, AuditError> {
        std::fs::create_dir_all(dir).map_err(AuditError::write)?;
        let now = crate::vault::items::unix_now();
        let key = keys.get_key();
        let checkpoint = keys.checkpoint().ok().flatten();
        let mut first_record: Option<AuditEntry> = None;
        let mut files = chain_files(dir);
        let started =
            |reason| AuditEntry::new(now, AuditKind::LogStarted, "-").code("reason", reason);

        // An unchained file of an earlier version: moved aside, its hash starts the chain.
        let mut genesis_prev = ZERO_HASH;
        if let Some((0, cur)) = files.last()
            && let Some(l) = first_line(cur)
            && chain::parse(&l).is_err()
            && serde_json::from_slice::<AuditRecord>(&l).is_ok_and(|r| r.seq.is_none())
        {
            let bytes = std::fs::read(cur).map_err(AuditError::read)?;
            genesis_prev = chain::line_hash(&bytes);
            set_aside(dir, "legacy")?;
            let lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty());
            first_record = Some(started("legacy").count("legacy_lines", lines.count()));
            files = chain_files(dir);
        }

        // The newest record on disk.
        let mut tail: Option<(chain::Link, Hash)> = None;
        let mut torn = false;
        for (n, p) in files.iter().rev() {
            let (line, ends_nl) = last_line(p)?;
            torn |= *n == 0 && !ends_nl;
            if let Some(l) = line {
                if let Ok(link) = chain::parse(&l) {
                    tail = Some((link, chain::line_hash(&l)));
                }
                break;
            }
        }

        let mac_key = match &key {
            Ok(Some(k)) => MacKey::from_hex(k.expose()),
            Ok(None) if tail.as_ref().is_some_and(|(l, _)| l.mac.is_some()) => {
                // Keyed records but no key. A locked gnome-keyring also answers "no such
                // item", so the chain is set aside only once a new key could be stored (the
                // keychain is open and really lacks it); else: unkeyed, and ask again later.
                let k = new_key(keys.as_ref());
                if k.is_some() {
                    tracing::warn!("audit key missing from the keychain; starting a new chain");
                    set_aside(dir, &format!("unverifiable-{now}"))?;
                    first_record = Some(started("key_missing"));
                    files = chain_files(dir);
                }
                k
            }
            Ok(None) => new_key(keys.as_ref()),
            Err(e) => {
                tracing::warn!(error = %e, "audit key unavailable; records unkeyed until it is");
                None
            }
        };

        let (mut next_seq, mut last) = match &tail {
            Some((l, h)) => (l.seq + 1, *h),
            None => (0, genesis_prev),
        };
        if first_record.is_none() {
            match (&tail, &checkpoint) {
                (None, Some(c)) => {
                    first_record = Some(started("log_missing").seq("checkpoint_seq", c.seq));
                    next_seq = c.seq + 1;
                    last = chain::hex_hash(&c.hash).unwrap_or(ZERO_HASH);
                }
                (None, None) => first_record = Some(started("new")),
                (Some((l, h)), Some(c))
                    if c.seq > l.seq || (c.seq == l.seq && c.hash != chain::hex(h)) =>
                {
                    first_record = Some(
                        AuditEntry::new(now, AuditKind::TailMissing, "-")
                            .seq("checkpoint_seq", c.seq)
                            .seq("last_seq", l.seq),
                    );
                    next_seq = next_seq.max(c.seq + 1);
                }
                _ => {}
            }
        }
        let first = match files.first() {
            Some((_, p)) => first_line(p)
                .and_then(|l| chain::parse(&l).ok())
                .map_or(next_seq, |l| l.seq),
            None => next_seq,
        };
        let path = file_path(dir, 0);
        let mut file = open_append(&path)?;
        if torn {
            // A line cut by a crash stays (verify names it); the next record starts clean.
            file.write_all(b"\n").map_err(AuditError::write)?;
        }
        let size = file.metadata().map_err(AuditError::write)?.len();
        let checkpoints = Checkpointer::start(keys.clone());
        let log = Self {
            dir: dir.to_path_buf(),
            path,
            rotation,
            keys,
            checkpoints,
            state: Mutex::new(State {
                file,
                size,
                next_seq,
                last,
                first,
                mac: mac_key,
                next_key_try: Instant::now() + KEY_RETRY,
            }),
        };
        if let Some(r) = first_record {
            log.append(&r)?;
        }
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns once the newest checkpoint is in the keychain (tests; before the app exits).
    pub fn sync(&self) {
        self.checkpoints.wait();
    }

    /// Appends one record, flushes it and moves the checkpoint.
    pub fn append(&self, entry: &AuditEntry) -> Result<(), AuditError> {
        self.append_all(std::slice::from_ref(entry))
    }

    /// Appends several records (e.g. what `VisitState::apply` returned); one checkpoint write.
    pub fn append_all(&self, entries: &[AuditEntry]) -> Result<(), AuditError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut s = self
            .state
            .lock()
            .map_err(|_| AuditError::Write("the audit log lock is poisoned".into()))?;
        if s.mac.is_none() && Instant::now() >= s.next_key_try {
            s.next_key_try = Instant::now() + KEY_RETRY;
            s.mac = match self.keys.get_key() {
                Ok(Some(k)) => MacKey::from_hex(k.expose()),
                Ok(None) => new_key(self.keys.as_ref()),
                Err(_) => None,
            };
        }
        for e in entries {
            let mut line = chain::make_line(s.next_seq, e, &s.last, s.mac.as_ref());
            let hash = chain::line_hash(line.as_bytes());
            line.push('\n');
            let len = line.len() as u64;
            if s.size > 0 && s.size + len > self.rotation.max_bytes {
                self.rotate(&mut s)?;
            }
            s.file
                .write_all(line.as_bytes())
                .and_then(|()| s.file.flush())
                .map_err(AuditError::write)?;
            s.size += len;
            s.next_seq += 1;
            s.last = hash;
        }
        self.checkpoint(&s, false);
        Ok(())
    }

    fn checkpoint(&self, s: &State, wait: bool) {
        if s.mac.is_some() && s.next_seq > 0 {
            let c = Checkpoint {
                seq: s.next_seq - 1,
                hash: chain::hex(&s.last),
                first: s.first,
            };
            self.checkpoints.submit(c, wait);
        }
    }

    /// `audit.jsonl` becomes `audit.1.jsonl` (older ones move up, beyond `keep` deleted).
    fn rotate(&self, s: &mut State) -> Result<(), AuditError> {
        let w = AuditError::write;
        let keep = self.rotation.keep;
        // The checkpoint learns the new oldest record before the file before it is deleted:
        // a crash in between leaves one file more than it says, never one less.
        s.first = (0..keep)
            .rev()
            .map(|n| file_path(&self.dir, n))
            .find(|p| p.exists())
            .and_then(|p| first_line(&p))
            .and_then(|l| chain::parse(&l).ok())
            .map_or(s.next_seq, |l| l.seq);
        self.checkpoint(s, true);
        let _ = std::fs::remove_file(file_path(&self.dir, keep));
        for n in (1..keep).rev() {
            let from = file_path(&self.dir, n);
            if from.exists() {
                std::fs::rename(&from, file_path(&self.dir, n + 1)).map_err(w)?;
            }
        }
        if keep == 0 {
            std::fs::remove_file(&self.path).map_err(w)?;
        } else {
            std::fs::rename(&self.path, file_path(&self.dir, 1)).map_err(w)?;
        }
        s.file = open_append(&self.path)?;
        s.size = 0;
        Ok(())
    }

    /// The last `n` records of the current file, oldest first (tests, CLI). Lines that do not
    /// parse are skipped.
    pub fn read_recent(&self, n: usize) -> Result<Vec<AuditRecord>, AuditError> {
        let f = File::open(&self.path).map_err(AuditError::read)?;
        let mut ring = std::collections::VecDeque::with_capacity(n.min(1024));
        for line in BufReader::new(f).lines() {
            let line = line.map_err(AuditError::read)?;
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

/// Makes and stores a fresh key; `None` (unkeyed) if the keychain will not take it.
fn new_key(keys: &dyn AuditKeys) -> Option<MacKey> {
    let k = crate::schedule::key::new_raw_key().ok()?;
    match keys.put_key(&k) {
        Ok(()) => MacKey::from_hex(k.expose()),
        Err(e) => {
            tracing::warn!(error = %e, "audit key not stored; records unkeyed");
            None
        }
    }
}

/// Writes checkpoints to the keychain off the append path: a keychain write costs
/// milliseconds (gnome-keyring rewrites its file), an append microseconds. The newest
/// checkpoint replaces one not yet written, so a burst costs one or two writes. The price is
/// a window of milliseconds in which the newest records are not yet checkpointed.
struct Checkpointer {
    shared: Arc<(Mutex<Pending>, Condvar)>,
    worker: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Pending {
    next: Option<(Checkpoint, u64)>,
    submitted: u64,
    written: u64,
    stop: bool,
}

impl Checkpointer {
    fn start(keys: Arc<dyn AuditKeys>) -> Self {
        let shared: Arc<(Mutex<Pending>, Condvar)> = Arc::default();
        let s = shared.clone();
        let worker = std::thread::Builder::new()
            .name("audit-checkpoint".into())
            .spawn(move || {
                let (lock, cv) = &*s;
                loop {
                    let Ok(mut p) = lock.lock() else { return };
                    while p.next.is_none() && !p.stop {
                        let Ok(g) = cv.wait(p) else { return };
                        p = g;
                    }
                    let Some((c, n)) = p.next.take() else { return };
                    drop(p);
                    if let Err(e) = keys.set_checkpoint(&c) {
                        tracing::warn!(error = %e, "audit checkpoint not written");
                    }
                    let Ok(mut p) = lock.lock() else { return };
                    p.written = n;
                    cv.notify_all();
                }
            })
            .ok();
        Self { shared, worker }
    }

    /// Queues `c`; with `wait`, returns once it is written.
    fn submit(&self, c: Checkpoint, wait: bool) {
        let (lock, cv) = &*self.shared;
        let Ok(mut p) = lock.lock() else { return };
        p.submitted += 1;
        let n = p.submitted;
        p.next = Some((c, n));
        cv.notify_all();
        while wait && p.written < n && self.worker.is_some() {
            match cv.wait(p) {
                Ok(g) => p = g,
                Err(_) => return,
            }
        }
    }

    /// Returns once every queued checkpoint is written (or the worker is gone).
    fn wait(&self) {
        let (lock, cv) = &*self.shared;
        let Ok(mut p) = lock.lock() else { return };
        while p.written < p.submitted && self.worker.is_some() {
            match cv.wait(p) {
                Ok(g) => p = g,
                Err(_) => return,
            }
        }
    }

    /// Writes what is queued, then ends the worker.
    fn stop(&mut self) {
        if let Ok(mut p) = self.shared.0.lock() {
            p.stop = true;
            self.shared.1.notify_all();
        }
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}
