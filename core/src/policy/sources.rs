//! Where policy comes from: one trait, one implementation per platform mechanism.

use super::{PolicyDocument, PolicyError};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum SourceStatus {
    /// Nothing there: this source sets nothing.
    Absent,
    /// Loaded and in force.
    Active,
    /// Present but invalid: none of it applies; secure defaults are kept.
    Rejected,
    /// This build cannot read this source yet (shown so IT is never misled).
    Unsupported,
}

pub trait PolicySource: Send + Sync {
    /// Human name shown as a setting's source ("Group Policy", "Policy file").
    fn name(&self) -> &str;
    /// Path or registry key, for IT.
    fn location(&self) -> String;
    /// `Ok(None)` when the source holds no policy.
    fn load(&self) -> Result<Option<PolicyDocument>, PolicyError>;
    fn absent_status(&self) -> SourceStatus {
        SourceStatus::Absent
    }
}

/// A JSON policy document on disk.
pub struct FileSource {
    name: String,
    path: PathBuf,
}

impl FileSource {
    pub fn new(name: &str, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
        }
    }
}

impl PolicySource for FileSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn location(&self) -> String {
        self.path.display().to_string()
    }
    fn load(&self) -> Result<Option<PolicyDocument>, PolicyError> {
        let location = self.location();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(PolicyError::Read {
                    location,
                    detail: e.to_string(),
                });
            }
        };
        let invalid = |detail: String| PolicyError::Invalid {
            location: location.clone(),
            detail,
        };
        let doc: PolicyDocument =
            serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        doc.mandatory
            .validate()
            .map_err(|e| invalid(format!("mandatory.{e}")))?;
        doc.recommended
            .validate()
            .map_err(|e| invalid(format!("recommended.{e}")))?;
        Ok(Some(doc))
    }
}

/// A platform mechanism this build cannot read yet; reported as `Unsupported`, never silently.
pub struct PendingSource {
    name: &'static str,
    location: &'static str,
}

impl PolicySource for PendingSource {
    fn name(&self) -> &str {
        self.name
    }
    fn location(&self) -> String {
        self.location.into()
    }
    fn load(&self) -> Result<Option<PolicyDocument>, PolicyError> {
        Ok(None)
    }
    fn absent_status(&self) -> SourceStatus {
        SourceStatus::Unsupported
    }
}

/// The sources of this platform, highest precedence first.
///
/// `override_file` (debug builds only, from `ROUNDS_POLICY_FILE`) replaces the file source so
/// tests and the demo can run without writing to `/etc`.
pub fn platform_sources(override_file: Option<PathBuf>) -> Vec<Box<dyn PolicySource>> {
    let mut v: Vec<Box<dyn PolicySource>> = Vec::new();
    if cfg!(windows) {
        v.push(Box::new(PendingSource {
            name: "Group Policy",
            location: r"HKLM\Software\Policies\Rounds",
        }));
    }
    if cfg!(target_os = "macos") {
        v.push(Box::new(PendingSource {
            name: "Configuration profile",
            location: "/Library/Managed Preferences/app.rounds.desktop.plist",
        }));
    }
    let file = override_file.unwrap_or_else(|| {
        if cfg!(target_os = "linux") {
            PathBuf::from(super::LINUX_POLICY_PATH)
        } else if cfg!(target_os = "macos") {
            // Not inside Rounds.app: adding a file there would break its code signature.
            PathBuf::from("/Library/Application Support/Rounds/policy.json")
        } else {
            // Beside the installed executable, where the MSI/NSIS installer can drop it.
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("policy.json")))
                .unwrap_or_else(|| PathBuf::from("policy.json"))
        }
    });
    v.push(Box::new(FileSource::new("Policy file", file)));
    v
}
