//! The OS keychain, in the style of aws-vault: per-profile items, never a file fallback.
//!
//! [`Vault`] picks the platform's backend and can prove it is reachable; [`items`] keeps the
//! per-profile items (refresh token, session, client secret), each with its expiry readable
//! without the secret. On Linux the Secret Service (gnome-keyring, KWallet) is preferred and
//! kernel keyutils is the fallback when no Secret Service runs; there is deliberately no
//! plaintext store to fall back to.

mod audit_items;
pub mod items;

pub use audit_items::{AUDIT_CHECKPOINT, AUDIT_KEY};
pub use items::{ItemInfo, ItemKind};

use keyring_core::{CredentialStore, Entry};
use serde::Serialize;
use std::sync::Arc;

/// Keychain service name for every Rounds item; the profile id goes in the account field.
pub const SERVICE: &str = "app.rounds.desktop";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no keychain is available on this computer ({detail})")]
    Unavailable { detail: String },
    #[error("the {backend} keychain is locked or refused access ({detail})")]
    Locked { backend: Backend, detail: String },
    #[error("the {backend} keychain failed: {detail}")]
    Platform { backend: Backend, detail: String },
    #[error("no such item in the keychain")]
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    SecretService,
    Keyutils,
    MacosKeychain,
    WindowsCredentialManager,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::SecretService => "Secret Service",
            Self::Keyutils => "kernel keyutils",
            Self::MacosKeychain => "macOS Keychain",
            Self::WindowsCredentialManager => "Windows Credential Manager",
        })
    }
}

/// What `rounds-cli doctor` and the UI show about the keychain.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct VaultStatus {
    pub backend: Option<Backend>,
    pub reachable: bool,
    pub detail: String,
}

pub struct Vault {
    backend: Backend,
    store: Arc<CredentialStore>,
}

impl Vault {
    /// Opens the best backend for this platform; it does not touch any item yet.
    pub fn open() -> Result<Self, VaultError> {
        open_platform()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Proves the keychain works end to end with a throwaway item (write, read back, delete):
    /// a locked collection answers "exists" happily but fails here, which is what we must know.
    pub fn probe(&self) -> Result<(), VaultError> {
        let entry = self.entry("rounds-probe")?;
        let marker = "probe";
        entry.set_password(marker).map_err(|e| self.map_err(e))?;
        let back = entry.get_password().map_err(|e| self.map_err(e));
        let _ = entry.delete_credential();
        match back? {
            v if v == marker => Ok(()),
            _ => Err(VaultError::Platform {
                backend: self.backend,
                detail: "item read back differs from what was written".into(),
            }),
        }
    }

    pub fn status() -> VaultStatus {
        match Self::open() {
            Err(e) => VaultStatus {
                backend: None,
                reachable: false,
                detail: e.to_string(),
            },
            Ok(v) => match v.probe() {
                Ok(()) => VaultStatus {
                    backend: Some(v.backend),
                    reachable: true,
                    detail: format!("{} is unlocked and answering", v.backend),
                },
                Err(e) => VaultStatus {
                    backend: Some(v.backend),
                    reachable: false,
                    detail: e.to_string(),
                },
            },
        }
    }

    /// Opens the Secret Service only (no keyutils fallback): tests and `rounds-cli` use it to
    /// talk to exactly that store.
    #[cfg(target_os = "linux")]
    pub fn open_secret_service() -> Result<Self, VaultError> {
        let store: Arc<CredentialStore> =
            dbus_secret_service_keyring_store::Store::new().map_err(|e| {
                VaultError::Unavailable {
                    detail: e.to_string(),
                }
            })?;
        Ok(Vault {
            backend: Backend::SecretService,
            store,
        })
    }

    fn entry(&self, account: &str) -> Result<Entry, VaultError> {
        self.store
            .build(SERVICE, account, None)
            .map_err(|e| self.map_err(e))
    }

    fn map_err(&self, e: keyring_core::Error) -> VaultError {
        map_keyring_err(self.backend, e)
    }
}

fn map_keyring_err(backend: Backend, e: keyring_core::Error) -> VaultError {
    use keyring_core::Error as K;
    match e {
        K::NoEntry => VaultError::NotFound,
        K::NoStorageAccess(inner) => VaultError::Locked {
            backend,
            detail: inner.to_string(),
        },
        other => VaultError::Platform {
            backend,
            detail: other.to_string(),
        },
    }
}

#[cfg(target_os = "linux")]
fn open_platform() -> Result<Vault, VaultError> {
    // Secret Service first: it persists and is what desktop users and IT expect.
    match dbus_secret_service_keyring_store::Store::new() {
        Ok(store) => {
            let store: Arc<CredentialStore> = store;
            let v = Vault {
                backend: Backend::SecretService,
                store,
            };
            // A session bus without a Secret Service daemon answers only on first use.
            if secret_service_answers(&v) {
                return Ok(v);
            }
            tracing::info!("Secret Service not answering; trying kernel keyutils");
        }
        Err(e) => tracing::info!(error = %e, "no Secret Service; trying kernel keyutils"),
    }
    let store: Arc<CredentialStore> =
        linux_keyutils_keyring_store::Store::new().map_err(|e| VaultError::Unavailable {
            detail: format!("neither Secret Service nor keyutils: {e}"),
        })?;
    Ok(Vault {
        backend: Backend::Keyutils,
        store,
    })
}

#[cfg(target_os = "linux")]
fn secret_service_answers(v: &Vault) -> bool {
    match v.entry("rounds-probe").map(|e| e.get_password()) {
        Ok(Ok(_)) | Ok(Err(keyring_core::Error::NoEntry)) => true,
        // Locked still means a Secret Service is there: report it as such, don't fall back.
        Ok(Err(keyring_core::Error::NoStorageAccess(_))) => true,
        _ => false,
    }
}

#[cfg(target_os = "macos")]
fn open_platform() -> Result<Vault, VaultError> {
    let store: Arc<CredentialStore> =
        apple_native_keyring_store::keychain::Store::new().map_err(|e| {
            VaultError::Unavailable {
                detail: e.to_string(),
            }
        })?;
    Ok(Vault {
        backend: Backend::MacosKeychain,
        store,
    })
}

#[cfg(target_os = "windows")]
fn open_platform() -> Result<Vault, VaultError> {
    let store: Arc<CredentialStore> =
        windows_native_keyring_store::Store::new().map_err(|e| VaultError::Unavailable {
            detail: e.to_string(),
        })?;
    Ok(Vault {
        backend: Backend::WindowsCredentialManager,
        store,
    })
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn open_platform() -> Result<Vault, VaultError> {
    Err(VaultError::Unavailable {
        detail: "this platform has no supported keychain".into(),
    })
}
