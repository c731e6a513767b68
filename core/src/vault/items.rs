//! Per-profile keychain items, the way aws-vault keeps them.
//!
//! Every item lives under the service [`SERVICE`] with the account `<profile>/<kind>`:
//! `<profile>/refresh` (the OAuth2 refresh token, the long-lived secret), `<profile>/session`
//! (the access token) and `<profile>/client` (the client secret of a self-registered client).
//! Each item carries its expiry **next to** the secret, so listing, purging and `rounds-cli
//! sessions list` never read a secret:
//!
//! - Secret Service: item attributes `rounds_profile`, `rounds_kind`, `rounds_expires` (unix
//!   seconds, `0` = no expiry) and, for the client item, `rounds_client_id`; the label says what
//!   the item is ("Rounds: <profile> session") for Seahorse / `secret-tool`.
//! - Stores without attributes (kernel keyutils, and the platform stores until tested there): a
//!   companion item `<profile>/<kind>#meta` holding the same non-secret fields as JSON.
//!
//! An item is written first and its expiry right after; if the expiry cannot be written the
//! item is deleted again, so no secret ever sits in the keychain without an expiry. A secret
//! past its expiry is never returned: [`Vault::get`] deletes it and answers `None`.

use super::{Backend, SERVICE, Vault, VaultError};
use crate::secret::Secret;
use keyring_core::Entry;
use serde::Serialize;
use std::collections::HashMap;

const A_PROFILE: &str = "rounds_profile";
const A_KIND: &str = "rounds_kind";
const A_EXPIRES: &str = "rounds_expires";
const A_CLIENT_ID: &str = "rounds_client_id";

/// What an item holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// The OAuth2 refresh token (long-lived; rotates on every use).
    Refresh,
    /// The access token of the current session.
    Session,
    /// The client secret of a client this app registered (RFC 7591).
    Client,
    /// The key of the profile's encrypted schedule cache (no expiry; gone with the profile).
    CacheKey,
}

impl ItemKind {
    pub const ALL: [ItemKind; 4] = [
        ItemKind::Refresh,
        ItemKind::Session,
        ItemKind::Client,
        ItemKind::CacheKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refresh => "refresh",
            Self::Session => "session",
            Self::Client => "client",
            Self::CacheKey => "cache-key",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The non-secret facts about one item: what `rounds-cli sessions list` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ItemInfo {
    pub profile: String,
    pub kind: ItemKind,
    /// Unix seconds; `None` = does not expire (the client secret).
    pub expires_at: Option<i64>,
    /// For [`ItemKind::Client`]: the client id the secret belongs to (not secret).
    pub client_id: Option<String>,
}

impl ItemInfo {
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// A secret read back from the keychain, with its facts.
#[derive(Debug)]
pub struct Stored {
    pub secret: Secret,
    pub info: ItemInfo,
}

/// The keychain account of an item: `<profile>/<kind>`.
pub fn account(profile: &str, kind: ItemKind) -> String {
    format!("{profile}/{kind}")
}

fn parse_account(account: &str) -> Option<(&str, ItemKind)> {
    let (p, k) = account.rsplit_once('/')?;
    let k = ItemKind::parse(k)?;
    valid_profile(p).then_some((p, k))
}

/// Profile ids are `[a-z0-9-]{1,64}` (as `config` checks); anything else is refused here too so
/// an id can never address another profile's items.
pub fn valid_profile(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[derive(Serialize, serde::Deserialize)]
struct Meta {
    expires_at: Option<i64>,
    client_id: Option<String>,
}

impl Vault {
    /// Whether this backend keeps attributes beside the secret (else: `#meta` companion items).
    fn has_attributes(&self) -> bool {
        self.backend == Backend::SecretService
    }

    fn item_entry(&self, profile: &str, kind: ItemKind) -> Result<Entry, VaultError> {
        if !valid_profile(profile) {
            return Err(VaultError::Platform {
                backend: self.backend,
                detail: "profile id is not valid for a keychain item".into(),
            });
        }
        let acct = account(profile, kind);
        if self.has_attributes() {
            let label = format!("Rounds: {profile} {kind}");
            let mods = HashMap::from([("label", label.as_str())]);
            self.store
                .build(SERVICE, &acct, Some(&mods))
                .map_err(|e| self.map_err(e))
        } else {
            self.entry(&acct)
        }
    }

    fn meta_entry(&self, profile: &str, kind: ItemKind) -> Result<Entry, VaultError> {
        self.entry(&format!("{}#meta", account(profile, kind)))
    }

    /// Stores `secret` as `<profile>/<kind>` with its expiry, replacing what was there (one
    /// keychain write for the secret, so a rotated refresh token replaces the old one whole).
    pub fn put(
        &self,
        profile: &str,
        kind: ItemKind,
        secret: &Secret,
        expires_at: Option<i64>,
        client_id: Option<&str>,
    ) -> Result<(), VaultError> {
        let entry = self.item_entry(profile, kind)?;
        entry
            .set_password(secret.expose())
            .map_err(|e| self.map_err(e))?;
        let meta = self.write_meta(&entry, profile, kind, expires_at, client_id);
        if let Err(e) = meta {
            // Never leave a secret without its expiry.
            let _ = entry.delete_credential();
            return Err(e);
        }
        tracing::debug!(profile, kind = %kind, "keychain item written");
        Ok(())
    }

    fn write_meta(
        &self,
        entry: &Entry,
        profile: &str,
        kind: ItemKind,
        expires_at: Option<i64>,
        client_id: Option<&str>,
    ) -> Result<(), VaultError> {
        if self.has_attributes() {
            let exp = expires_at.unwrap_or(0).to_string();
            let mut attrs = HashMap::from([
                (A_PROFILE, profile),
                (A_KIND, kind.as_str()),
                (A_EXPIRES, exp.as_str()),
            ]);
            if let Some(c) = client_id {
                attrs.insert(A_CLIENT_ID, c);
            }
            entry.update_attributes(&attrs).map_err(|e| self.map_err(e))
        } else {
            let meta = Meta {
                expires_at,
                client_id: client_id.map(str::to_string),
            };
            let text = serde_json::to_string(&meta).map_err(|e| VaultError::Platform {
                backend: self.backend,
                detail: e.to_string(),
            })?;
            self.meta_entry(profile, kind)?
                .set_password(&text)
                .map_err(|e| self.map_err(e))
        }
    }

    /// The facts of one item, without reading its secret; `None` if there is no such item.
    pub fn info(&self, profile: &str, kind: ItemKind) -> Result<Option<ItemInfo>, VaultError> {
        let entry = self.item_entry(profile, kind)?;
        if self.has_attributes() {
            match entry.get_attributes() {
                Ok(a) => Ok(Some(info_from_attrs(profile, kind, &a))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(self.map_err(e)),
            }
        } else {
            match self.meta_entry(profile, kind)?.get_password() {
                Ok(text) => {
                    let m: Option<Meta> = serde_json::from_str(&text).ok();
                    Ok(Some(ItemInfo {
                        profile: profile.into(),
                        kind,
                        // Unreadable facts: treat as expired (purged, never used).
                        expires_at: m.as_ref().map_or(Some(0), |m| m.expires_at),
                        client_id: m.and_then(|m| m.client_id),
                    }))
                }
                Err(keyring_core::Error::NoEntry) => {
                    // A secret without its companion (half-written): expired.
                    match entry.get_password() {
                        Ok(_) => Ok(Some(ItemInfo {
                            profile: profile.into(),
                            kind,
                            expires_at: Some(0),
                            client_id: None,
                        })),
                        Err(keyring_core::Error::NoEntry) => Ok(None),
                        Err(e) => Err(self.map_err(e)),
                    }
                }
                Err(e) => Err(self.map_err(e)),
            }
        }
    }

    /// Reads a secret that has not expired at `now`. An expired item is deleted, not returned.
    pub fn get(
        &self,
        profile: &str,
        kind: ItemKind,
        now: i64,
    ) -> Result<Option<Stored>, VaultError> {
        let Some(info) = self.info(profile, kind)? else {
            return Ok(None);
        };
        if info.expired(now) {
            self.delete(profile, kind)?;
            tracing::info!(profile, kind = %kind, "expired keychain item purged on read");
            return Ok(None);
        }
        match self.item_entry(profile, kind)?.get_password() {
            Ok(v) => Ok(Some(Stored {
                secret: Secret::new(v),
                info,
            })),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.map_err(e)),
        }
    }

    /// Deletes one item (and its companion); `Ok(false)` if there was none.
    pub fn delete(&self, profile: &str, kind: ItemKind) -> Result<bool, VaultError> {
        let gone = match self.item_entry(profile, kind)?.delete_credential() {
            Ok(()) => true,
            Err(keyring_core::Error::NoEntry) => false,
            Err(e) => return Err(self.map_err(e)),
        };
        if !self.has_attributes() {
            match self.meta_entry(profile, kind)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => {}
                Err(e) => return Err(self.map_err(e)),
            }
        }
        Ok(gone)
    }

    /// Deletes every item of a profile (sign-out on a shared PC, or removing the profile).
    /// Returns how many items were deleted.
    pub fn delete_profile(&self, profile: &str) -> Result<usize, VaultError> {
        let mut n = 0;
        for kind in ItemKind::ALL {
            n += usize::from(self.delete(profile, kind)?);
        }
        Ok(n)
    }

    /// Every Rounds item's facts, no secret read. On the Secret Service this finds every item
    /// under [`SERVICE`] (also profiles no longer in the settings); other stores cannot search,
    /// so only `known_profiles` are looked at there.
    pub fn list(&self, known_profiles: &[&str]) -> Result<Vec<ItemInfo>, VaultError> {
        let mut out = Vec::new();
        if self.has_attributes() {
            let spec = HashMap::from([("service", SERVICE)]);
            let found = self.store.search(&spec).map_err(|e| self.map_err(e))?;
            for e in found {
                let attrs = e.get_attributes().map_err(|e| self.map_err(e))?;
                let Some((profile, kind)) = attrs.get("username").and_then(|a| parse_account(a))
                else {
                    continue;
                };
                out.push(info_from_attrs(profile, kind, &attrs));
            }
        } else {
            for p in known_profiles {
                for kind in ItemKind::ALL {
                    if let Some(i) = self.info(p, kind)? {
                        out.push(i);
                    }
                }
            }
        }
        out.sort_by(|a, b| (&a.profile, a.kind.as_str()).cmp(&(&b.profile, b.kind.as_str())));
        out.dedup();
        Ok(out)
    }

    /// Deletes every item whose expiry is at or before `now` (at start and on a timer).
    /// Returns the facts of what was deleted.
    pub fn purge_expired(
        &self,
        known_profiles: &[&str],
        now: i64,
    ) -> Result<Vec<ItemInfo>, VaultError> {
        let mut gone = Vec::new();
        for i in self.list(known_profiles)? {
            if i.expired(now) {
                self.delete(&i.profile, i.kind)?;
                gone.push(i);
            }
        }
        if !gone.is_empty() {
            tracing::info!(count = gone.len(), "expired keychain items purged");
        }
        Ok(gone)
    }
}

fn info_from_attrs(profile: &str, kind: ItemKind, a: &HashMap<String, String>) -> ItemInfo {
    // A missing or unreadable expiry means the item was half-written: treat it as expired.
    let expires_at = match a.get(A_EXPIRES).map(|s| s.parse::<i64>()) {
        Some(Ok(0)) => None,
        Some(Ok(t)) => Some(t),
        _ => Some(0),
    };
    ItemInfo {
        profile: profile.into(),
        kind,
        expires_at,
        client_id: a.get(A_CLIENT_ID).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_round_trip_and_refuse_odd_profiles() {
        assert_eq!(account("general", ItemKind::Refresh), "general/refresh");
        assert_eq!(
            parse_account("two-words/session"),
            Some(("two-words", ItemKind::Session))
        );
        assert_eq!(parse_account("rounds-probe"), None);
        assert_eq!(parse_account("a/b/session"), None);
        assert_eq!(parse_account("Upper/session"), None);
        assert!(!valid_profile("../x"));
    }

    #[test]
    fn missing_or_bad_expiry_counts_as_expired() {
        let none = HashMap::new();
        assert!(info_from_attrs("p", ItemKind::Session, &none).expired(1));
        let bad = HashMap::from([(A_EXPIRES.to_string(), "soon".to_string())]);
        assert!(info_from_attrs("p", ItemKind::Session, &bad).expired(1));
        let never = HashMap::from([(A_EXPIRES.to_string(), "0".to_string())]);
        assert!(!info_from_attrs("p", ItemKind::Client, &never).expired(i64::MAX));
        let later = HashMap::from([(A_EXPIRES.to_string(), "100".to_string())]);
        let i = info_from_attrs("p", ItemKind::Refresh, &later);
        assert!(!i.expired(99) && i.expired(100));
    }
}
