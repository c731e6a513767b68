//! The plain, serializable state the UI and the CLI show. Nothing here is ever secret.

use crate::paths::Paths;
use crate::policy::{Origin, SourceReport};
use crate::vault::VaultStatus;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub display_name: String,
    /// Origin only (scheme, host, port): safe to show and to log.
    pub origin: String,
    pub host: String,
    pub site: String,
    /// True when IT's policy sets the server (the UI shows it as locked).
    pub managed: bool,
    pub username: Option<String>,
}

/// "Managed by your organisation": every source and every setting policy touches.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    pub managed: bool,
    /// The first rejected source's reason (then secure defaults apply for it).
    pub problem: Option<String>,
    pub sources: Vec<SourceReport>,
    /// Settings set by policy (mandatory or recommended), in a stable order.
    pub settings: Vec<SettingView>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingView {
    /// Dotted key as in the policy file, e.g. `session.idle_lock_minutes`.
    pub key: String,
    pub label: String,
    /// The value in force, as shown to a person.
    pub value: String,
    pub origin: Origin,
    pub locked: bool,
}

/// One row of the user's settings screen.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UserSetting {
    pub key: String,
    pub label: String,
    pub control: Control,
    pub origin: Origin,
    pub locked: bool,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Control {
    Toggle {
        value: bool,
    },
    Choice {
        value: String,
        options: Vec<ChoiceOption>,
    },
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ChoiceOption {
    pub value: String,
    pub label: String,
}

/// Look and feel, applied by the UI on every screen.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Appearance {
    pub theme: crate::policy::Theme,
    pub text_size: crate::policy::TextSize,
}

/// What the first screen needs to draw itself.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub server: Option<ServerInfo>,
    pub policy: PolicyView,
    pub appearance: Appearance,
    /// A settings-file problem the user should know about (the app still starts).
    pub config_problem: Option<String>,
}

/// The result of reaching the clinic server over a verified TLS connection.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ServerCheck {
    pub origin: String,
    pub encrypted: bool,
}

/// The session as the UI sees it (defined by `auth`): state only, never a token.
pub use crate::auth::SessionState;

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub version: String,
    pub keychain: VaultStatus,
    pub policy: PolicyView,
    pub server: Option<ServerInfo>,
    pub config_problem: Option<String>,
    pub paths: Paths,
}

/// A new value for a user setting, typed so the UI cannot send the wrong shape.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "kind", content = "value")]
pub enum SettingValue {
    Toggle(bool),
    Choice(String),
}

impl SettingValue {
    pub fn into_json(self) -> serde_json::Value {
        match self {
            Self::Toggle(b) => serde_json::Value::Bool(b),
            Self::Choice(s) => serde_json::Value::String(s),
        }
    }
}
