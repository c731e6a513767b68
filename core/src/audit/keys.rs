//! Where the audit MAC key and the tail checkpoint live: the OS keychain, never a file.
//!
//! The key is 32 random bytes (64 hex digits) in the item `_audit/mac-key` of the user's
//! keychain (service `app.rounds.desktop`; `_` is outside the profile alphabet, so no profile
//! can ever name it), made on first use like the schedule cache key. It is per user and per
//! computer: the log is in the user's data dir and so is the key's reach.
//!
//! The **checkpoint** (`_audit/checkpoint`: the last record's `seq` and hash, and the first
//! `seq` still kept) is what a file-only attacker cannot roll back: a log cut at the tail, or
//! replaced by an older copy, still verifies record by record, and only the checkpoint knows
//! it once went further. It moves after every append, but off the append path (a thread in
//! `log.rs`): one gnome-keyring write costs ~8 ms (p99 ~30 ms: it rewrites its keyring file),
//! an append ~4 µs (see the bench), and the visit page appends from its event handler. The
//! trade-off: the newest records are uncheckpointed for those milliseconds (and if the app
//! dies in them), and a cut of exactly those is not seen. Checkpointing every N records or on
//! a timer would be cheaper still but widen that window to N records; once per append with
//! coalescing (a burst costs one or two writes) keeps it at one keychain write. Rotation
//! waits for its checkpoint, so a deleted old file is never mistaken for retention. If the app
//! stops between a line and its checkpoint, the log is ahead of the checkpoint: `verify`
//! notes it and does not call it broken (the extra records still carry good MACs).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::Secret;
use crate::vault::{Vault, VaultError};

/// The keychain's idea of the log's tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `seq` of the last record appended.
    pub seq: u64,
    /// SHA-256 of that record's line, hex.
    pub hash: String,
    /// `seq` of the first record of the oldest file kept (rotation deletes older ones).
    pub first: u64,
}

/// The key and checkpoint store. The app uses the OS keychain ([`Vault`]); unit tests and the
/// bench use [`MemoryAuditKeys`].
pub trait AuditKeys: Send + Sync {
    fn get_key(&self) -> Result<Option<Secret>, VaultError>;
    fn put_key(&self, key: &Secret) -> Result<(), VaultError>;
    fn checkpoint(&self) -> Result<Option<Checkpoint>, VaultError>;
    fn set_checkpoint(&self, c: &Checkpoint) -> Result<(), VaultError>;
}

impl AuditKeys for Vault {
    fn get_key(&self) -> Result<Option<Secret>, VaultError> {
        self.audit_get(crate::vault::AUDIT_KEY)
            .map(|v| v.map(Secret::new))
    }

    fn put_key(&self, key: &Secret) -> Result<(), VaultError> {
        self.audit_put(crate::vault::AUDIT_KEY, key.expose())
    }

    fn checkpoint(&self) -> Result<Option<Checkpoint>, VaultError> {
        let text = self.audit_get(crate::vault::AUDIT_CHECKPOINT)?;
        // An unreadable checkpoint is as good as none: verify then says it could not check
        // the tail, which is the truth.
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    fn set_checkpoint(&self, c: &Checkpoint) -> Result<(), VaultError> {
        let text = serde_json::to_string(c).map_err(|e| VaultError::Platform {
            backend: self.backend(),
            detail: e.to_string(),
        })?;
        self.audit_put(crate::vault::AUDIT_CHECKPOINT, &text)
    }
}

/// A key store in memory. `set_locked(true)` makes it answer as a locked gnome-keyring does:
/// reads find nothing, writes fail.
#[derive(Default)]
pub struct MemoryAuditKeys {
    key: Mutex<Option<Zeroizing<String>>>,
    checkpoint: Mutex<Option<Checkpoint>>,
    locked: AtomicBool,
    /// Counts checkpoint writes (the bench and tests look).
    pub checkpoint_writes: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for MemoryAuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryAuditKeys([redacted])")
    }
}

impl MemoryAuditKeys {
    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
    }

    /// Tests: the keychain item was deleted.
    pub fn forget_key(&self) {
        if let Ok(mut k) = self.key.lock() {
            *k = None;
        }
    }

    /// Tests: what the keychain holds now.
    pub fn set_checkpoint_raw(&self, c: Option<Checkpoint>) {
        if let Ok(mut s) = self.checkpoint.lock() {
            *s = c;
        }
    }

    fn locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    fn guard(&self) -> Result<(), VaultError> {
        if self.locked() {
            return Err(VaultError::Unavailable {
                detail: "in-memory keychain locked (test)".into(),
            });
        }
        Ok(())
    }
}

fn poisoned() -> VaultError {
    VaultError::Unavailable {
        detail: "in-memory key store poisoned".into(),
    }
}

impl AuditKeys for MemoryAuditKeys {
    fn get_key(&self) -> Result<Option<Secret>, VaultError> {
        if self.locked() {
            return Ok(None);
        }
        let k = self.key.lock().map_err(|_| poisoned())?;
        Ok(k.as_ref().map(|k| Secret::new(k.to_string())))
    }

    fn put_key(&self, key: &Secret) -> Result<(), VaultError> {
        self.guard()?;
        *self.key.lock().map_err(|_| poisoned())? = Some(Zeroizing::new(key.expose().into()));
        Ok(())
    }

    fn checkpoint(&self) -> Result<Option<Checkpoint>, VaultError> {
        if self.locked() {
            return Ok(None);
        }
        Ok(self.checkpoint.lock().map_err(|_| poisoned())?.clone())
    }

    fn set_checkpoint(&self, c: &Checkpoint) -> Result<(), VaultError> {
        self.guard()?;
        self.checkpoint_writes.fetch_add(1, Ordering::Relaxed);
        *self.checkpoint.lock().map_err(|_| poisoned())? = Some(c.clone());
        Ok(())
    }
}

/// No keychain at all on this computer: every call fails, so records are unkeyed.
pub(crate) struct Unavailable;

impl AuditKeys for Unavailable {
    fn get_key(&self) -> Result<Option<Secret>, VaultError> {
        Err(none())
    }
    fn put_key(&self, _: &Secret) -> Result<(), VaultError> {
        Err(none())
    }
    fn checkpoint(&self) -> Result<Option<Checkpoint>, VaultError> {
        Err(none())
    }
    fn set_checkpoint(&self, _: &Checkpoint) -> Result<(), VaultError> {
        Err(none())
    }
}

fn none() -> VaultError {
    VaultError::Unavailable {
        detail: "no keychain on this computer".into(),
    }
}
