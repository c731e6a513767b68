//! The cache key: 32 random bytes, kept only in the OS keychain.
//!
//! It is handed to SQLCipher as a *raw* key (`x'<64 hex>'`), which skips PBKDF2: the key is
//! already uniformly random, so deriving it again would only cost ~100+ ms at every open (see
//! the benchmark's passphrase figure) and buy nothing. The key never touches the disk, a log or
//! a file name; [`crate::secret::Secret`] keeps it out of `Debug` and zeroes it on drop.

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::secret::Secret;
use crate::vault::VaultError;

/// Where the cache key of each profile lives. The app implements it on the OS keychain
/// (`Vault`, item `<profile>/cache-key`); tests use [`MemoryKeyStore`].
pub trait KeyStore: Send + Sync {
    fn get_key(&self, profile: &str) -> Result<Option<Secret>, VaultError>;
    fn put_key(&self, profile: &str, key: &Secret) -> Result<(), VaultError>;
}

/// A key store in memory: tests, and a throw-away cache for a one-off CLI run.
#[derive(Default)]
pub struct MemoryKeyStore(Mutex<HashMap<String, Zeroizing<String>>>);

impl MemoryKeyStore {
    /// Replaces a profile's key (tests: a wrong key in the keychain).
    pub fn set(&self, profile: &str, key: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(profile.to_string(), Zeroizing::new(key.to_string()));
        }
    }

    /// Forgets a profile's key (tests: the keychain item was deleted).
    pub fn forget(&self, profile: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(profile);
        }
    }
}

impl KeyStore for MemoryKeyStore {
    fn get_key(&self, profile: &str) -> Result<Option<Secret>, VaultError> {
        let m = self.0.lock().map_err(|_| VaultError::Unavailable {
            detail: "in-memory key store poisoned".into(),
        })?;
        Ok(m.get(profile).map(|k| Secret::new(k.to_string())))
    }

    fn put_key(&self, profile: &str, key: &Secret) -> Result<(), VaultError> {
        self.set(profile, key.expose());
        Ok(())
    }
}

/// The app's store: the OS keychain, item `<profile>/cache-key` (no expiry; deleted with the
/// profile, and on a shared PC's sign-out).
impl KeyStore for crate::vault::Vault {
    fn get_key(&self, profile: &str) -> Result<Option<Secret>, VaultError> {
        let now = crate::vault::items::unix_now();
        Ok(self
            .get(profile, crate::vault::ItemKind::CacheKey, now)?
            .map(|s| s.secret))
    }

    fn put_key(&self, profile: &str, key: &Secret) -> Result<(), VaultError> {
        self.put(profile, crate::vault::ItemKind::CacheKey, key, None, None)
    }
}

impl std::fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryKeyStore([redacted])")
    }
}

/// How a cache file is keyed.
pub enum CacheKey {
    /// 64 hex digits (what [`new_raw_key`] makes and the keychain stores): no key derivation.
    Raw(Secret),
    /// A passphrase, stretched by SQLCipher's PBKDF2 (256,000 rounds) at every open. Not used
    /// by the app; here to measure what the raw key saves.
    Passphrase(Secret),
    /// No encryption at all: only for the benchmark's plain-SQLite floor. Never in the app.
    UnencryptedForBenchmark,
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Raw(_) => "CacheKey::Raw([redacted])",
            Self::Passphrase(_) => "CacheKey::Passphrase([redacted])",
            Self::UnencryptedForBenchmark => "CacheKey::UnencryptedForBenchmark",
        })
    }
}

impl CacheKey {
    /// The `PRAGMA key` statement, or `None` for an unencrypted file. A raw key that is not
    /// exactly 64 hex digits is refused: the keychain content must never become SQL.
    pub(crate) fn pragma(&self) -> Result<Option<Zeroizing<String>>, ()> {
        match self {
            Self::Raw(k) => {
                let k = k.expose();
                if k.len() != 64 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(());
                }
                Ok(Some(Zeroizing::new(format!("PRAGMA key = \"x'{k}'\";"))))
            }
            Self::Passphrase(p) => Ok(Some(Zeroizing::new(format!(
                "PRAGMA key = '{}';",
                p.expose().replace('\'', "''")
            )))),
            Self::UnencryptedForBenchmark => Ok(None),
        }
    }
}

/// 32 fresh random bytes as 64 lowercase hex digits.
pub fn new_raw_key() -> Result<Secret, VaultError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    aws_lc_rs::rand::fill(bytes.as_mut()).map_err(|_| VaultError::Unavailable {
        detail: "the system random generator failed".into(),
    })?;
    let mut hex = String::with_capacity(64);
    for b in bytes.iter() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    Ok(Secret::new(hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys_are_random_hex_and_never_printed() {
        let a = new_raw_key().expect("rng");
        let b = new_raw_key().expect("rng");
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.expose(), b.expose());
        let k = CacheKey::Raw(a);
        assert!(!format!("{k:?}").contains(&b.expose()[..8]));
        let p = k.pragma().expect("valid").expect("encrypted");
        assert!(p.starts_with("PRAGMA key = \"x'") && p.ends_with("'\";"));
    }

    #[test]
    fn a_raw_key_that_is_not_hex_never_becomes_sql() {
        for bad in [
            "",
            "zz",
            &"a".repeat(63),
            &format!("{}'; DROP TABLE x; --", "a".repeat(50)),
        ] {
            assert!(
                CacheKey::Raw(Secret::new(bad.to_string()))
                    .pragma()
                    .is_err(),
                "{bad}"
            );
        }
        let p = CacheKey::Passphrase(Secret::new("it's".into()))
            .pragma()
            .expect("ok")
            .expect("some");
        assert_eq!(p.as_str(), "PRAGMA key = 'it''s';");
    }
}
