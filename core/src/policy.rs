//! System policy set by hospital IT: it overrides the user's settings.
//!
//! This is the skeleton of the policy module (the full settings arrive with the policy issue):
//! one JSON file at a system path, typed, `deny_unknown_fields`, validated on load. A file that
//! fails to load is **rejected closed**: Rounds keeps its secure defaults and says so in the UI
//! and the log; it never half-applies a policy it could not read.

use crate::config::{validate_server, validate_site};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use url::Url;

/// Where IT puts the policy on Linux (Firefox and Chrome use the same `/etc/<app>` pattern).
pub const LINUX_POLICY_PATH: &str = "/etc/rounds/policy.json";

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("could not read policy file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("policy file {path} is not valid: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("this setting is locked by your organisation's policy")]
    Locked,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The clinic server every clinician on this machine signs in to (locks the profile's server).
    #[serde(default)]
    pub server: Option<ServerPolicy>,
    /// Extra trusted roots (PEM): the hospital's own CA, added to the OS trust store.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    #[serde(default)]
    pub log_level: Option<LogLevel>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerPolicy {
    pub url: Url,
    #[serde(default = "crate::config::default_site")]
    pub site: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// What was found at the policy path; `Rejected` keeps secure defaults and is shown to the user.
#[derive(Debug, Clone)]
pub enum PolicyState {
    Absent { path: PathBuf },
    Active { path: PathBuf, policy: Policy },
    Rejected { path: PathBuf, reason: String },
}

impl PolicyState {
    pub fn load(path: &Path) -> Self {
        match Policy::load(path) {
            Ok(Some(policy)) => Self::Active {
                path: path.into(),
                policy,
            },
            Ok(None) => Self::Absent { path: path.into() },
            Err(e) => {
                tracing::warn!(error = %e, "policy rejected; secure defaults in force");
                Self::Rejected {
                    path: path.into(),
                    reason: e.to_string(),
                }
            }
        }
    }

    /// The policy in force: an empty one (secure defaults) unless a valid file was loaded.
    pub fn effective(&self) -> Policy {
        match self {
            Self::Active { policy, .. } => policy.clone(),
            _ => Policy::default(),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Self::Absent { path } | Self::Active { path, .. } | Self::Rejected { path, .. } => path,
        }
    }
}

impl Policy {
    /// `Ok(None)` when no file exists (an unmanaged machine).
    pub fn load(path: &Path) -> Result<Option<Self>, PolicyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(PolicyError::Read {
                    path: path.into(),
                    source,
                });
            }
        };
        let invalid = |detail: String| PolicyError::Invalid {
            path: path.into(),
            detail,
        };
        let policy: Self = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if let Some(s) = &policy.server {
            validate_server(&s.url).map_err(invalid)?;
            validate_site(&s.site).map_err(invalid)?;
        }
        if let Some(ca) = &policy.ca_bundle
            && !ca.is_absolute()
        {
            return Err(invalid(format!(
                "ca_bundle `{}` must be an absolute path",
                ca.display()
            )));
        }
        Ok(Some(policy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_active_and_rejected_closed() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("policy.json");
        assert!(matches!(PolicyState::load(&p), PolicyState::Absent { .. }));

        std::fs::write(
            &p,
            r#"{"server":{"url":"https://emr.example.org","display_name":"General"},"log_level":"warn"}"#,
        )
        .expect("write");
        let st = PolicyState::load(&p);
        assert!(matches!(st, PolicyState::Active { .. }), "{st:?}");
        assert_eq!(st.effective().log_level, Some(LogLevel::Warn));

        // A typo in a key must not be silently ignored, and nothing of the file applies.
        std::fs::write(
            &p,
            r#"{"server":{"url":"https://emr.example.org","display_name":"G"},"ca_bundel":"/x"}"#,
        )
        .expect("write");
        let st = PolicyState::load(&p);
        match &st {
            PolicyState::Rejected { reason, .. } => assert!(reason.contains("ca_bundel")),
            other => panic!("expected rejection, got {other:?}"),
        }
        assert_eq!(st.effective(), Policy::default());
    }

    #[test]
    fn rejects_relative_ca_and_plain_http_server() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("policy.json");
        std::fs::write(&p, r#"{"ca_bundle":"ca.pem"}"#).expect("write");
        assert!(Policy::load(&p).is_err());
        std::fs::write(
            &p,
            r#"{"server":{"url":"http://emr.example.org","display_name":"G"}}"#,
        )
        .expect("write");
        assert!(Policy::load(&p).is_err());
    }
}
