//! The audit log's two keychain items (see `audit::keys` for why they exist). They sit beside
//! the profile items under the same service but outside every profile, so signing out,
//! `sessions clear` or removing a profile never deletes the key that authenticates the log.

use std::collections::HashMap;

use super::{Backend, Vault, VaultError};

/// The HMAC key of the audit chain (64 hex digits).
pub const AUDIT_KEY: &str = "_audit/mac-key";
/// The last record's `seq` and hash, as JSON (not secret; must not be writable by the file's
/// owner without the keychain).
pub const AUDIT_CHECKPOINT: &str = "_audit/checkpoint";

impl Vault {
    fn audit_entry(&self, account: &str) -> Result<keyring_core::Entry, VaultError> {
        if self.backend() == Backend::SecretService {
            let label = if account == AUDIT_KEY {
                "Rounds: audit log key"
            } else {
                "Rounds: audit log checkpoint"
            };
            let mods = HashMap::from([("label", label)]);
            self.store
                .build(super::SERVICE, account, Some(&mods))
                .map_err(|e| self.map_err(e))
        } else {
            self.entry(account)
        }
    }

    /// One of the audit items; `None` if it does not exist.
    pub(crate) fn audit_get(&self, account: &str) -> Result<Option<String>, VaultError> {
        match self.audit_entry(account)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.map_err(e)),
        }
    }

    pub(crate) fn audit_put(&self, account: &str, value: &str) -> Result<(), VaultError> {
        self.audit_entry(account)?
            .set_password(value)
            .map_err(|e| self.map_err(e))
    }
}
