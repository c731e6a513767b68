//! IT's policy: system-level settings that override the user's, modelled on Chrome's and
//! Firefox's enterprise policies.
//!
//! Sources, highest precedence first: Windows Group Policy (`HKLM`, then `HKCU`
//! `\Software\Policies\Rounds`), macOS managed preferences (device, then user), then a JSON
//! file (`/etc/rounds/policy.json` on Linux, `policy.json` beside the install on Windows,
//! `/Library/Application Support/Rounds/policy.json` on macOS); then the user's settings; then
//! secure defaults. Each document has `mandatory` (locked) and `recommended` (user may change) halves.
//!
//! A source whose document fails to parse or validate is **rejected as a whole**: none of it
//! applies, the secure defaults stay, and the rejection is shown in the UI, the CLI and the log.

mod document;
pub mod managed_prefs;
pub mod registry;
#[cfg(windows)]
mod registry_win;
mod settings;
mod sources;

pub use managed_prefs::ManagedPrefsSource;
pub use registry::RegistrySource;
pub use settings::*;
pub use sources::{FileSource, Overrides, PolicySource, SourceStatus, platform_sources};

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where IT puts the policy on Linux (Firefox and Chrome use the same `/etc/<app>` pattern).
pub const LINUX_POLICY_PATH: &str = "/etc/rounds/policy.json";

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("could not read policy {location}: {detail}")]
    Read { location: String, detail: String },
    #[error("policy {location} is not valid: {detail}")]
    Invalid { location: String, detail: String },
    #[error("`{key}` is set by your organisation ({source_name})")]
    Locked { key: String, source_name: String },
    #[error("`{key}` is not a setting you can change")]
    NotUserSetting { key: String },
    #[error("`{key}`: {detail}")]
    BadValue { key: String, detail: String },
}

/// What one source yielded, for the "Managed by your organisation" panel and `policy show`.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SourceReport {
    pub name: String,
    pub location: String,
    pub status: SourceStatus,
    /// Why the source was rejected (then nothing of it applies).
    pub problem: Option<String>,
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "kind", content = "source")]
pub enum Origin {
    Default,
    User,
    Recommended(String),
    Mandatory(String),
}

impl Origin {
    pub fn locked(&self) -> bool {
        matches!(self, Self::Mandatory(_))
    }
}

/// One setting in force, with its origin.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub key: String,
    pub value: Value,
    pub origin: Origin,
}

/// The policy documents found on this machine, in precedence order.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    reports: Vec<SourceReport>,
    docs: Vec<(String, PolicyDocument)>,
}

impl Policy {
    pub fn load(sources: &[Box<dyn PolicySource>]) -> Self {
        let mut p = Self::default();
        for s in sources {
            let (status, problem) = match s.load() {
                Ok(Some(doc)) => {
                    p.docs.push((s.name().to_string(), doc));
                    (SourceStatus::Active, None)
                }
                Ok(None) => (SourceStatus::Absent, None),
                // Logged by whoever applies the policy (`Core`), once logging is up.
                Err(e) => (SourceStatus::Rejected, Some(e.to_string())),
            };
            p.reports.push(SourceReport {
                name: s.name().into(),
                location: s.location(),
                status,
                problem,
            });
        }
        p
    }

    /// A policy from one JSON file (tests, `rounds-cli policy validate`).
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        Self::load(&[Box::new(FileSource::new("Policy file", path)) as Box<dyn PolicySource>])
    }

    pub fn reports(&self) -> &[SourceReport] {
        &self.reports
    }

    /// True when any source is in force (the machine is managed).
    pub fn managed(&self) -> bool {
        !self.docs.is_empty()
    }

    /// The first rejection, for a banner.
    pub fn problem(&self) -> Option<&str> {
        self.reports.iter().find_map(|r| r.problem.as_deref())
    }

    /// Combines policy, the user's own settings and the defaults, key by key.
    pub fn resolve(&self, user: &BTreeMap<String, Value>) -> Resolved {
        let defaults = flatten(&to_value(&Effective::default()));
        let layer = |pick: fn(&PolicyDocument) -> &Settings| {
            let mut out: BTreeMap<String, (Value, String)> = BTreeMap::new();
            for (name, doc) in &self.docs {
                for (k, v) in flatten(&to_value(pick(doc))) {
                    out.entry(k).or_insert((v, name.clone()));
                }
            }
            out
        };
        let mandatory = layer(|d| &d.mandatory);
        let recommended = layer(|d| &d.recommended);
        let mut entries = Vec::new();
        let mut merged = BTreeMap::new();
        for (key, default) in defaults {
            let (value, origin) = if let Some((v, s)) = mandatory.get(&key) {
                (v.clone(), Origin::Mandatory(s.clone()))
            } else if let Some(v) = user.get(&key).filter(|_| USER_KEYS.contains(&key.as_str())) {
                (v.clone(), Origin::User)
            } else if let Some((v, s)) = recommended.get(&key) {
                (v.clone(), Origin::Recommended(s.clone()))
            } else {
                (default, Origin::Default)
            };
            merged.insert(key.clone(), value.clone());
            entries.push(Entry { key, value, origin });
        }
        let effective = serde_json::from_value(unflatten(&merged)).unwrap_or_else(|e| {
            // Each layer was validated on load, so this means a bad user value: defaults win.
            tracing::warn!(error = %e, "settings did not combine; using defaults");
            Effective::default()
        });
        Resolved { effective, entries }
    }
}

/// Settings in force and where each came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub effective: Effective,
    pub entries: Vec<Entry>,
}

impl Resolved {
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.origin)
    }
}

/// Checks that `value` is acceptable for user-changeable `key` under this policy.
pub fn check_user_value(resolved: &Resolved, key: &str, value: &Value) -> Result<(), PolicyError> {
    if !USER_KEYS.contains(&key) {
        return Err(PolicyError::NotUserSetting { key: key.into() });
    }
    if let Some(Origin::Mandatory(source)) = resolved.origin(key) {
        return Err(PolicyError::Locked {
            key: key.into(),
            source_name: source.clone(),
        });
    }
    let mut flat = flatten(&to_value(&resolved.effective));
    flat.insert(key.into(), value.clone());
    serde_json::from_value::<Effective>(unflatten(&flat))
        .map(|_| ())
        .map_err(|e| PolicyError::BadValue {
            key: key.into(),
            detail: e.to_string(),
        })
}

/// The JSON Schema of a policy document, generated from the Rust types.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(PolicyDocument);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

fn to_value<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// `{section: {field: v}}` → `{"section.field": v}` (values may themselves be maps or lists).
pub fn flatten(v: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Value::Object(sections) = v {
        for (section, fields) in sections {
            if let Value::Object(fields) = fields {
                for (field, value) in fields {
                    out.insert(format!("{section}.{field}"), value.clone());
                }
            }
        }
    }
    out
}

fn unflatten(flat: &BTreeMap<String, Value>) -> Value {
    let mut root = Map::new();
    for (key, value) in flat {
        if let Some((section, field)) = key.split_once('.') {
            let entry = root
                .entry(section.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                m.insert(field.to_string(), value.clone());
            }
        }
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_admx;
#[cfg(test)]
mod tests_plist;
#[cfg(test)]
mod tests_registry;
