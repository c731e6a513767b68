//! Every setting IT can set, typed, with its secure default and its allowed range.
//!
//! Two shapes of the same tree: [`Settings`] (every field optional: what one policy document or
//! the user sets) and [`Effective`] (every field present: what the app runs with). A policy
//! document is validated against both the types (serde, `deny_unknown_fields`) and the ranges
//! and "only stricter" rules in [`Settings::validate`]; the published JSON Schema is generated
//! from these types (`rounds-cli policy schema`), so the two cannot drift.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One policy document: values IT enforces, and defaults the user may change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// Optional link to the published schema (editors use it for completion); ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Locked: the user sees the value and cannot change it.
    #[serde(default)]
    pub mandatory: Settings,
    /// Defaults the user may change (Chrome's "recommended").
    #[serde(default)]
    pub recommended: Settings,
}

macro_rules! settings_tree {
    ($( $(#[$sm:meta])* $section:ident : $S:ident / $E:ident {
        $( $(#[$fm:meta])* $field:ident : $ty:ty = $default:expr ),* $(,)?
    } )*) => {
        /// Any subset of the settings (a policy document's half, or the user's own).
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct Settings {
            $( $(#[$sm])* #[serde(default, skip_serializing_if = "Option::is_none")]
               pub $section: Option<$S>, )*
        }
        /// Every setting with the value in force.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Effective { $( pub $section: $E, )* }
        impl Default for Effective {
            fn default() -> Self { Self { $( $section: $E::default(), )* } }
        }
        $(
            $(#[$sm])*
            #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
            #[serde(deny_unknown_fields)]
            pub struct $S { $( $(#[$fm])* #[serde(default, skip_serializing_if = "Option::is_none")]
                               pub $field: Option<$ty>, )* }
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $E { $( pub $field: $ty, )* }
            impl Default for $E {
                fn default() -> Self { Self { $( $field: $default, )* } }
            }
        )*
    };
}

settings_tree! {
    /// Where clinicians sign in.
    clinic: ClinicSettings / ClinicEffective {
        /// Clinic servers offered on this machine; with `mandatory`, no others can be added.
        servers: Vec<ServerEntry> = Vec::new(),
    }
    /// Multi-factor authentication: always on; policy may only make it stricter.
    mfa: MfaSettings / MfaEffective {
        /// Must be true: Rounds never signs in without a second factor.
        required: bool = true,
        /// Hours a signed-in session lasts before password + code are asked again.
        #[schemars(range(min = 1, max = 24))]
        session_hours: u8 = 12,
    }
    /// Password rules and rotation (rotation is always done by the user, never automatically).
    password: PasswordSettings / PasswordEffective {
        /// Minimum length (NIST SP 800-63B and HIPAA guidance: at least 8).
        #[schemars(range(min = 8, max = 128))]
        min_length: u16 = 8,
        /// Days until a password must be changed; 0 = never.
        #[schemars(range(max = 3650))]
        rotation_days: u16 = 180,
        /// Days before expiry on which the user is reminded.
        reminder_days: Vec<u16> = vec![14, 7, 3, 1],
    }
    /// Automatic logoff and shared computers.
    session: SessionSettings / SessionEffective {
        /// Minutes without input before the screen locks and PHI is cleared (HIPAA logoff).
        #[schemars(range(min = 1, max = 60))]
        idle_lock_minutes: u16 = 15,
        /// Shared hospital PC: nothing long-lived is kept; sign-out wipes the session.
        shared_pc: bool = false,
        /// What an idle lock does to a running video visit.
        on_lock_video: LockVideo = LockVideo::Hide,
    }
    /// The network client's trust rules.
    network: NetworkSettings / NetworkEffective {
        /// The hospital's CA bundle (PEM, absolute path), added to the OS trust store.
        ca_bundle: Option<PathBuf> = None,
        /// Trust only `ca_bundle`, not the operating system's roots.
        ca_only: bool = false,
        /// Host → SPKI pins (`sha256/<base64>`); a chain matching none is refused.
        spki_pins: BTreeMap<String, Vec<String>> = BTreeMap::new(),
        /// `system`, `direct`, or a proxy URL (`http://proxy.example:3128`).
        proxy: String = "system".to_string(),
    }
    /// The video visit.
    video: VideoSettings / VideoEffective {
        /// Refuse to start a visit where end-to-end encryption is not available.
        e2ee_required: bool = false,
        /// Linux, where the embedded view cannot carry a call: a Chrome/Chromium/Edge app
        /// window on a throwaway profile (`app_window`), or the default browser.
        linux_window: LinuxWindowMode = LinuxWindowMode::AppWindow,
        /// The Chromium-family browser for the app window (absolute path); unset = the first
        /// of Chrome, Chromium, Edge found on PATH.
        browser_path: Option<PathBuf> = None,
        /// Jitsi servers a visit may open: `host` or `host:port`, `*.example.org` for its
        /// subdomains. Empty: only the server the clinic's telehealth service names, and
        /// links written in appointments are refused. When set, it binds that service too.
        allowed_domains: Vec<String> = Vec::new(),
        /// The clinic writes visit links into the appointment's comment or patient
        /// instruction (not only the FHIR `virtualService`): read them there too.
        links_in_text: bool = false,
    }
    /// Desktop notifications (they can show on a locked or shared screen).
    notifications: NotificationSettings / NotificationEffective {
        /// What a notification may say.
        content: NotificationContent = NotificationContent::Generic,
        /// Play a sound with notifications.
        sound: bool = true,
    }
    /// Application updates: signed, never mid-visit, never below the running version.
    updates: UpdateSettings / UpdateEffective {
        /// `off`: never asks any server. `channel`: the newest signed version on `channel`.
        /// `pinned`: moves only to exactly `pinned_version`, never past it, never back.
        mode: UpdateMode = UpdateMode::Channel,
        channel: UpdateChannel = UpdateChannel::Stable,
        /// With `mode: pinned`: the exact version to stay on, e.g. `1.4.2`.
        pinned_version: Option<String> = None,
        /// The update manifest (Tauri's static JSON), https; `{channel}` in it becomes the
        /// channel's name. Unset: this build knows no update server and checks nothing.
        endpoint: Option<String> = None,
        /// The minisign public key every update must be signed with: the `RW…` line of the
        /// `.pub` file, or Tauri's base64 of the whole file. Unset: no update is accepted.
        public_key: Option<String> = None,
    }
    /// Schedule sync.
    sync: SyncSettings / SyncEffective {
        #[schemars(range(max = 365))]
        days_back: u16 = 7,
        #[schemars(range(min = 1, max = 365))]
        days_ahead: u16 = 30,
        #[schemars(range(min = 15, max = 3600))]
        interval_seconds: u32 = 60,
    }
    /// Logging (never secrets or PHI, at any level).
    logging: LoggingSettings / LoggingEffective {
        level: LogLevel = LogLevel::Info,
    }
    /// Look and feel (the user's own unless IT locks it).
    appearance: AppearanceSettings / AppearanceEffective {
        theme: Theme = Theme::System,
        text_size: TextSize = TextSize::Normal,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    /// Origin only: `https://emr.example.org` (plain http only for loopback).
    pub url: String,
    #[serde(default = "default_site")]
    pub site: String,
    pub display_name: String,
}

fn default_site() -> String {
    "default".into()
}

macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, specta::Type)]
        pub enum $name { $( #[serde(rename = $text)] $variant, )+ }
        impl $name {
            pub fn as_str(self) -> &'static str { match self { $( Self::$variant => $text, )+ } }
        }
    };
}

choice!(LockVideo { Hide = "hide", End = "end" });
choice!(LinuxWindowMode { AppWindow = "app_window", SystemBrowser = "system_browser" });
choice!(NotificationContent { None = "none", Generic = "generic", PatientName = "patient_name" });
choice!(UpdateMode { Off = "off", Channel = "channel", Pinned = "pinned" });
choice!(UpdateChannel { Stable = "stable", Beta = "beta" });
choice!(LogLevel { Error = "error", Warn = "warn", Info = "info", Debug = "debug" });
choice!(
    /// `system` follows the OS: dark or light, and high contrast when the OS asks for more
    /// contrast (WCAG 1.4.6 / 1.4.11).
    Theme { System = "system", Light = "light", Dark = "dark", HighContrast = "high_contrast" }
);
choice!(
    /// Up to 200% of the normal size (WCAG 1.4.4) without clipped controls at 1280×800.
    TextSize { Normal = "normal", Large = "large", Larger = "larger", Largest = "largest" }
);

/// Keys (dotted) the user may change in the settings screen when policy leaves them open.
pub const USER_KEYS: &[&str] = &[
    "appearance.theme",
    "appearance.text_size",
    "notifications.sound",
];

impl Settings {
    /// Range and "only stricter" rules the types cannot express. Each error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(c) = &self.clinic {
            for s in c.servers.iter().flatten() {
                let url = url::Url::parse(&s.url)
                    .map_err(|e| format!("clinic.servers: `{}` is not a URL: {e}", s.url))?;
                crate::config::validate_server(&url).map_err(|e| format!("clinic.servers: {e}"))?;
                crate::config::validate_site(&s.site)
                    .map_err(|e| format!("clinic.servers: {e}"))?;
                if s.display_name.trim().is_empty() {
                    return Err("clinic.servers: display_name must not be empty".into());
                }
            }
        }
        if let Some(m) = &self.mfa {
            if m.required == Some(false) {
                return Err(
                    "mfa.required: MFA is always on; policy can only make it stricter".into(),
                );
            }
            range("mfa.session_hours", m.session_hours, 1, 24)?;
        }
        if let Some(p) = &self.password {
            range("password.min_length", p.min_length, 8, 128)?;
            if let Some(d) = p.rotation_days
                && d > 3650
            {
                return Err(format!("password.rotation_days: {d} is above 3650"));
            }
            for d in p.reminder_days.iter().flatten() {
                range("password.reminder_days", Some(*d), 1, 90)?;
            }
        }
        if let Some(s) = &self.session {
            range("session.idle_lock_minutes", s.idle_lock_minutes, 1, 60)?;
        }
        if let Some(n) = &self.network {
            if let Some(Some(ca)) = &n.ca_bundle
                && !ca.is_absolute()
            {
                return Err(format!(
                    "network.ca_bundle: `{}` must be an absolute path",
                    ca.display()
                ));
            }
            if n.ca_only == Some(true) && !matches!(n.ca_bundle, Some(Some(_))) {
                return Err("network.ca_only: needs network.ca_bundle in the same document".into());
            }
            for (host, pins) in n.spki_pins.iter().flatten() {
                if host.is_empty()
                    || host.contains(['/', ':'])
                    || host != &host.to_ascii_lowercase()
                {
                    return Err(format!(
                        "network.spki_pins: `{host}` must be a lowercase host name"
                    ));
                }
                if pins.is_empty() {
                    return Err(format!("network.spki_pins.{host}: give at least one pin"));
                }
                for pin in pins {
                    check_pin(pin).map_err(|e| format!("network.spki_pins.{host}: {e}"))?;
                }
            }
            if let Some(p) = &n.proxy {
                check_proxy(p).map_err(|e| format!("network.proxy: {e}"))?;
            }
        }
        if let Some(v) = &self.video
            && let Some(Some(p)) = &v.browser_path
            && !p.is_absolute()
        {
            return Err(format!(
                "video.browser_path: `{}` must be an absolute path",
                p.display()
            ));
        }
        if let Some(v) = &self.video {
            for d in v.allowed_domains.iter().flatten() {
                check_domain_rule(d).map_err(|e| format!("video.allowed_domains: {e}"))?;
            }
        }
        if let Some(u) = &self.updates {
            if let Some(Some(v)) = &u.pinned_version
                && !is_version(v)
            {
                return Err(format!(
                    "updates.pinned_version: `{v}` is not a version like 1.4.2"
                ));
            }
            if u.mode == Some(UpdateMode::Pinned) && !matches!(u.pinned_version, Some(Some(_))) {
                return Err("updates.mode: `pinned` needs updates.pinned_version".into());
            }
            if let Some(Some(e)) = &u.endpoint {
                crate::update::check_endpoint(e).map_err(|e| format!("updates.endpoint: {e}"))?;
            }
            if let Some(Some(k)) = &u.public_key {
                crate::update::sign::parse_public_key(k)
                    .map_err(|e| format!("updates.public_key: {e}"))?;
            }
        }
        if let Some(s) = &self.sync {
            range("sync.days_back", s.days_back, 0, 365)?;
            range("sync.days_ahead", s.days_ahead, 1, 365)?;
            range("sync.interval_seconds", s.interval_seconds, 15, 3600)?;
        }
        Ok(())
    }
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    v: Option<T>,
    min: T,
    max: T,
) -> Result<(), String> {
    match v {
        Some(v) if v < min || v > max => Err(format!("{key}: {v} is outside {min}..={max}")),
        _ => Ok(()),
    }
}

/// `sha256/` + base64 of 32 bytes (44 characters with padding), as in RFC 7469 / curl.
fn check_pin(pin: &str) -> Result<(), String> {
    let b64 = pin
        .strip_prefix("sha256/")
        .ok_or_else(|| format!("pin `{pin}` must start with sha256/"))?;
    let ok = b64.len() == 44
        && b64.ends_with('=')
        && b64[..43]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if ok {
        Ok(())
    } else {
        Err(format!("pin `{pin}` is not base64 of a SHA-256 hash"))
    }
}

/// `host`, `host:port` or `*.host` (lower case, as Rounds compares them).
fn check_domain_rule(d: &str) -> Result<(), String> {
    let bare = d.strip_prefix("*.").unwrap_or(d);
    match crate::net::host::host_port(bare) {
        Some(h) if h == bare && !bare.contains('*') => Ok(()),
        _ => Err(format!(
            "`{d}` must be a lower-case host, host:port or *.domain (no scheme, no path)"
        )),
    }
}

fn check_proxy(p: &str) -> Result<(), String> {
    if p == "system" || p == "direct" {
        return Ok(());
    }
    let url =
        url::Url::parse(p).map_err(|e| format!("`{p}` is not system, direct or a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{p}` must be an http:// or https:// proxy URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("proxy credentials do not belong in a policy file".into());
    }
    Ok(())
}

fn is_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}
