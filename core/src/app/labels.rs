//! Words for settings, as a clinician or IT would read them in the panels.

use serde_json::Value;

pub fn label(key: &str) -> String {
    match key {
        "clinic.servers" => "Clinic servers",
        "mfa.required" => "Two-step sign-in (password + code)",
        "mfa.session_hours" => "Sign-in lasts (hours)",
        "password.min_length" => "Minimum password length",
        "password.rotation_days" => "Password change every (days)",
        "password.reminder_days" => "Reminders before a password change (days)",
        "session.idle_lock_minutes" => "Lock after inactivity (minutes)",
        "session.shared_pc" => "Shared computer mode",
        "session.on_lock_video" => "Video visit when the screen locks",
        "network.ca_bundle" => "Hospital certificate authority",
        "network.ca_only" => "Trust only the hospital certificate authority",
        "network.spki_pins" => "Pinned server keys",
        "network.proxy" => "Proxy",
        "video.e2ee_required" => "End-to-end encryption required for visits",
        "video.linux_window" => "Window for video visits (Linux)",
        "video.browser_path" => "Browser for the visit window (Linux)",
        "video.allowed_domains" => "Video servers visits may open",
        "video.links_in_text" => "Visit links read from appointment notes",
        "notifications.content" => "What notifications may show",
        "notifications.sound" => "Notification sound",
        "updates.mode" => "Updates",
        "updates.channel" => "Update channel",
        "updates.pinned_version" => "Pinned version",
        "updates.endpoint" => "Update server",
        "updates.public_key" => "Update signing key",
        "sync.days_back" => "Schedule kept for past days",
        "sync.days_ahead" => "Schedule synced for days ahead",
        "sync.interval_seconds" => "Schedule refresh (seconds)",
        "logging.level" => "Log detail",
        "appearance.theme" => "Theme",
        "appearance.text_size" => "Text size",
        other => other,
    }
    .to_string()
}

/// A value as a person reads it (lists joined, booleans as On/Off, null as "not set").
pub fn show(key: &str, v: &Value) -> String {
    match v {
        Value::Bool(true) => "On".into(),
        Value::Bool(false) => "Off".into(),
        Value::Null => "Not set".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if key == "clinic.servers" => items
            .iter()
            .map(|s| {
                let name = s["display_name"].as_str().unwrap_or("?");
                let url = s["url"].as_str().unwrap_or("?");
                format!("{name} ({url})")
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(items) => items
            .iter()
            .map(|i| show(key, i))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(m) if m.is_empty() => "None".into(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}: {}", show(key, v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The choices offered for a user setting, with their words.
pub fn options(key: &str) -> Vec<(&'static str, &'static str)> {
    match key {
        "appearance.theme" => vec![
            ("system", "Same as my computer"),
            ("light", "Light"),
            ("dark", "Dark"),
            ("high_contrast", "High contrast"),
        ],
        "appearance.text_size" => vec![
            ("normal", "Normal"),
            ("large", "Large (117%)"),
            ("larger", "Larger (150%)"),
            ("largest", "Largest (200%)"),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::{TextSize, Theme};

    /// Every value the settings accept is offered in words, and nothing else is.
    #[test]
    fn appearance_options_cover_every_choice() {
        let offered = |key| {
            super::options(key)
                .into_iter()
                .map(|(v, _)| v)
                .collect::<Vec<_>>()
        };
        let themes = [
            Theme::System,
            Theme::Light,
            Theme::Dark,
            Theme::HighContrast,
        ];
        assert_eq!(offered("appearance.theme"), themes.map(Theme::as_str));
        let sizes = [
            TextSize::Normal,
            TextSize::Large,
            TextSize::Larger,
            TextSize::Largest,
        ];
        assert_eq!(offered("appearance.text_size"), sizes.map(TextSize::as_str));
        for v in offered("appearance.theme") {
            assert!(serde_json::from_value::<Theme>(v.into()).is_ok(), "{v}");
        }
        for v in offered("appearance.text_size") {
            assert!(serde_json::from_value::<TextSize>(v.into()).is_ok(), "{v}");
        }
    }
}
