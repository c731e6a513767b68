//! Where policy comes from: one trait, one implementation per platform mechanism.

use super::managed_prefs;
use super::registry::{Hive, RegEntry, RegistrySource};
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
}

pub trait PolicySource: Send + Sync {
    /// Human name shown as a setting's source ("Group Policy", "Policy file").
    fn name(&self) -> &str;
    /// Path or registry key, for IT.
    fn location(&self) -> String;
    /// `Ok(None)` when the source holds no policy.
    fn load(&self) -> Result<Option<PolicyDocument>, PolicyError>;
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
        super::document::validate(&doc).map_err(invalid)?;
        Ok(Some(doc))
    }
}

/// Replacements for this machine's policy locations, honoured only by debug builds (tests,
/// the demo), so a user cannot point a managed install at a policy of their own.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `ROUNDS_POLICY_FILE`: replaces the policy file.
    pub file: Option<PathBuf>,
    /// `ROUNDS_MANAGED_PREFS_DIR`: stands in for `/Library/Managed Preferences` (on any OS).
    pub managed_prefs: Option<PathBuf>,
    /// `ROUNDS_REGISTRY_JSON`: `{"HKLM": [{"key", "name", "value": {"Dword": 5}}…], "HKCU": …}`
    /// stands in for the registry (on any OS).
    pub registry: Option<PathBuf>,
}

impl Overrides {
    /// The debug-only variables; all `None` in release builds.
    pub fn from_debug_env() -> Self {
        if !cfg!(debug_assertions) {
            return Self::default();
        }
        let var = |k: &str| std::env::var_os(k).map(PathBuf::from);
        Self {
            file: var("ROUNDS_POLICY_FILE"),
            managed_prefs: var("ROUNDS_MANAGED_PREFS_DIR"),
            registry: var("ROUNDS_REGISTRY_JSON"),
        }
    }
}

/// The sources of this platform, highest precedence first: Group Policy (machine, then user),
/// managed preferences (device, then user), the policy file. Platforms without a mechanism
/// simply do not list it.
pub fn platform_sources(o: Overrides) -> Vec<Box<dyn PolicySource>> {
    let mut v: Vec<Box<dyn PolicySource>> = Vec::new();
    for hive in [Hive::Machine, Hive::User] {
        if let Some(table) = o.registry.clone() {
            v.push(Box::new(RegistrySource::new(hive, move || {
                table_file(&table, hive)
            })));
        } else {
            #[cfg(windows)]
            v.push(Box::new(RegistrySource::new(hive, move || {
                super::registry_win::read(hive)
            })));
        }
    }
    let prefs = o.managed_prefs.map(|dir| (dir, std::env::var("USER").ok()));
    #[cfg(target_os = "macos")]
    let prefs = prefs.or_else(|| {
        Some((
            PathBuf::from(managed_prefs::MANAGED_PREFERENCES),
            login_name(),
        ))
    });
    if let Some((dir, user)) = prefs {
        for s in managed_prefs::sources_in(&dir, user.as_deref()) {
            v.push(Box::new(s));
        }
    }
    let file = o.file.unwrap_or_else(|| {
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

/// One hive of a `ROUNDS_REGISTRY_JSON` file (debug builds).
fn table_file(path: &std::path::Path, hive: Hive) -> Result<Vec<RegEntry>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut table: std::collections::BTreeMap<String, Vec<RegEntry>> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(table.remove(hive.prefix()).unwrap_or_default())
}

/// The login name, for the user's own managed preferences. Not `$USER`: a user could point
/// that at someone else's profile (or none) and shed the settings made for them.
#[cfg(target_os = "macos")]
fn login_name() -> Option<String> {
    let out = std::process::Command::new("/usr/bin/id")
        .arg("-un")
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}
