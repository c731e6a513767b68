//! The user's own settings: clinic profiles (non-secret), as aws-vault keeps `~/.aws/config`.
//!
//! A profile names a clinic account: display name, server, OpenEMR site and user name. Secrets
//! for a profile never live here; they are in the keychain under the profile's id. The file is
//! typed and validated on load: an unknown key or a bad URL is an error the user can read, not
//! a silently ignored line.

use crate::net::{self, NetError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("settings file {path} is not valid: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("settings file {path}: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("could not save settings file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    #[serde(default)]
    pub profiles: Vec<Profile>,
    #[serde(default)]
    pub active_profile: Option<String>,
    /// The user's own choices for settings policy leaves open (`"appearance.theme": "dark"`);
    /// keys and values are checked against policy when read and when written.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub settings: std::collections::BTreeMap<String, serde_json::Value>,
    /// Profile id → the user name that last signed in there (not secret; what the sign-in form
    /// pre-fills and the signed-in screen shows after a restart). Cleared on a shared PC's
    /// sign-out.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub last_users: std::collections::BTreeMap<String, String>,
    /// Profile id → the signed-in clinician's FHIR id (`fhirUser`), so the offline day view
    /// shows their own visits as the online one does. A staff id, not patient data.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fhir_users: std::collections::BTreeMap<String, String>,
    /// Profiles whose session is locked: a restart (or a crash) must not open the lock while
    /// the session is still in the keychain.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub locked_profiles: std::collections::BTreeSet<String>,
    /// `<profile id>/<user name>` → the local date (`YYYY-MM-DD`) the password reminder was
    /// snoozed on; it shows again the next day. Not secret.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub password_snoozed: std::collections::BTreeMap<String, String>,
    /// Profile id → when the session's full sign-in (password + code, or the clinic's page)
    /// happened, unix seconds: the posture panel's "MFA age". Renewals do not move it; sign-out
    /// removes it. A time, not a secret; the keychain's items rotate and cannot tell it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub mfa_at: std::collections::BTreeMap<String, i64>,
}

/// One clinic account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Stable key for keychain items and cache files: `[a-z0-9-]`, never PHI.
    pub id: String,
    pub display_name: String,
    pub server_url: Url,
    #[serde(default = "default_site")]
    pub site: String,
    #[serde(default)]
    pub username: Option<String>,
}

pub fn default_site() -> String {
    "default".to_string()
}

impl UserConfig {
    /// Loads the file if it exists; a missing file is an empty config (first run).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.into(),
                    source,
                });
            }
        };
        let cfg: Self = serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            detail: e.to_string(),
        })?;
        cfg.validate().map_err(|detail| ConfigError::Invalid {
            path: path.into(),
            detail,
        })?;
        Ok(cfg)
    }

    /// Writes the file atomically (temp file + rename), so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let io = |source| ConfigError::Write {
            path: path.into(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| ConfigError::Invalid {
            path: path.into(),
            detail: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for p in &self.profiles {
            validate_id(&p.id)?;
            if !seen.insert(p.id.as_str()) {
                return Err(format!("profile id `{}` appears twice", p.id));
            }
            validate_server(&p.server_url).map_err(|e| format!("profile `{}`: {e}", p.id))?;
            validate_site(&p.site).map_err(|e| format!("profile `{}`: {e}", p.id))?;
        }
        if let Some(active) = &self.active_profile
            && !self.profiles.iter().any(|p| &p.id == active)
        {
            return Err(format!("active_profile `{active}` is not a profile"));
        }
        Ok(())
    }

    pub fn active(&self) -> Option<&Profile> {
        match &self.active_profile {
            Some(id) => self.profiles.iter().find(|p| &p.id == id),
            None => self.profiles.first(),
        }
    }
}

fn validate_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "profile id `{id}` must be 1-64 characters of a-z, 0-9 and -"
        ))
    }
}

/// OpenEMR site ids are folder names; keep them to a safe charset so they can go in a URL path.
pub fn validate_site(site: &str) -> Result<(), String> {
    let ok = !site.is_empty()
        && site.len() <= 64
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("site `{site}` must be letters, digits, - or _"))
    }
}

/// A clinic server must be an origin Rounds is allowed to talk to (https, or http on loopback).
pub fn validate_server(url: &Url) -> Result<(), String> {
    net::check_url_allowed(url).map_err(|e: NetError| e.to_string())?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "server `{url}` must be an origin only (like https://emr.example.org)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("server URL must not carry a user name or password".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("config.json");
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn missing_file_is_first_run() {
        let d = tempfile::tempdir().expect("tmp");
        let cfg = UserConfig::load(&d.path().join("nope.json")).expect("ok");
        assert!(cfg.profiles.is_empty());
    }

    #[test]
    fn loads_a_profile() {
        let d = tempfile::tempdir().expect("tmp");
        let p = write(
            d.path(),
            r#"{"profiles":[{"id":"north","display_name":"North Clinic","server_url":"https://emr.north.example"}]}"#,
        );
        let cfg = UserConfig::load(&p).expect("ok");
        let a = cfg.active().expect("active");
        assert_eq!(a.site, "default");
        assert_eq!(a.server_url.host_str(), Some("emr.north.example"));
    }

    #[test]
    fn rejects_unknown_keys_plain_http_and_paths() {
        let d = tempfile::tempdir().expect("tmp");
        for (text, needle) in [
            (r#"{"profiles":[],"colour":"red"}"#, "unknown field"),
            (
                r#"{"profiles":[{"id":"a","display_name":"A","server_url":"http://emr.example"}]}"#,
                "https",
            ),
            (
                r#"{"profiles":[{"id":"a","display_name":"A","server_url":"https://emr.example/x"}]}"#,
                "origin only",
            ),
            (
                r#"{"profiles":[{"id":"A b","display_name":"A","server_url":"https://emr.example"}]}"#,
                "profile id",
            ),
            (r#"{"active_profile":"ghost"}"#, "not a profile"),
        ] {
            let p = write(d.path(), text);
            let err = UserConfig::load(&p).expect_err(text).to_string();
            assert!(err.contains(needle), "{text} → {err}");
        }
    }

    #[test]
    fn loopback_http_is_allowed_for_local_development() {
        let d = tempfile::tempdir().expect("tmp");
        let p = write(
            d.path(),
            r#"{"profiles":[{"id":"dev","display_name":"Dev","server_url":"http://127.0.0.1:8080"}]}"#,
        );
        assert!(UserConfig::load(&p).is_ok());
    }
}
