//! Clinic accounts on this computer (aws-vault's profiles): list, add, switch, remove.
//!
//! A profile is non-secret (name, server, site, last user name) and lives in the settings file;
//! its secrets live in the keychain under its id. Removing one deletes its keychain items too,
//! so nothing of it is left behind. When IT's policy sets the clinic server, profiles cannot be
//! added or switched from the app (the UI shows why).

use super::Core;
use crate::config::{Profile, validate_server, validate_site};
use crate::error::CoreError;
use crate::net::{Url, origin};
use crate::policy::Origin;
use crate::vault::Vault;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub id: String,
    pub display_name: String,
    pub origin: String,
    pub site: String,
    pub username: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfilesView {
    pub profiles: Vec<ProfileView>,
    /// IT's policy sets the clinic server: no adding or switching here.
    pub locked: bool,
}

/// What the "Add a clinic" form sends.
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NewProfile {
    pub display_name: String,
    pub server_url: String,
    pub site: Option<String>,
}

/// A profile id from a display name: lowercase a-z, 0-9 and `-`, unique among `taken`.
fn slug(name: &str, taken: &[String]) -> String {
    let mut s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let base: String = s.trim_matches('-').chars().take(40).collect();
    let base = if base.is_empty() {
        "clinic".to_string()
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn invalid(reason: impl Into<String>) -> CoreError {
    CoreError::InvalidProfile {
        reason: reason.into(),
    }
}

impl Core {
    fn servers_locked(&self) -> bool {
        self.resolved()
            .origin("clinic.servers")
            .is_some_and(Origin::locked)
    }

    pub fn profiles(&self) -> ProfilesView {
        let cfg = self.config.read().map(|c| c.clone()).unwrap_or_default();
        let active = cfg.active().map(|p| p.id.clone());
        ProfilesView {
            locked: self.servers_locked(),
            profiles: cfg
                .profiles
                .iter()
                .map(|p| ProfileView {
                    id: p.id.clone(),
                    display_name: p.display_name.clone(),
                    origin: origin(&p.server_url),
                    site: p.site.clone(),
                    username: p
                        .username
                        .clone()
                        .or_else(|| cfg.last_users.get(&p.id).cloned()),
                    active: active.as_deref() == Some(p.id.as_str()),
                })
                .collect(),
        }
    }

    /// Adds a clinic account and makes it the active one.
    pub fn add_profile(&self, req: NewProfile) -> Result<ProfilesView, CoreError> {
        if self.servers_locked() {
            return Err(invalid(
                "Your organisation sets the clinic server on this computer.",
            ));
        }
        let name = req.display_name.trim();
        if name.is_empty() || name.len() > 80 {
            return Err(invalid("Give the clinic a name (up to 80 characters)."));
        }
        let text = req.server_url.trim();
        let text = if text.contains("://") {
            text.to_string()
        } else {
            format!("https://{text}")
        };
        let url = Url::parse(&text)
            .map_err(|_| invalid("That is not a web address, like https://emr.example.org."))?;
        validate_server(&url).map_err(|_| {
            invalid("Use the clinic's https address, like https://emr.example.org (no path).")
        })?;
        let site = req
            .site
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(crate::config::default_site);
        validate_site(&site).map_err(invalid)?;
        self.update_config(|c| {
            let taken: Vec<String> = c.profiles.iter().map(|p| p.id.clone()).collect();
            let id = slug(name, &taken);
            c.profiles.push(Profile {
                id: id.clone(),
                display_name: name.to_string(),
                server_url: url,
                site,
                username: None,
            });
            c.active_profile = Some(id);
        })?;
        tracing::info!("clinic profile added");
        Ok(self.profiles())
    }

    /// Makes another clinic account the active one (the sign-in screen's picker).
    pub fn switch_profile(&self, id: &str) -> Result<ProfilesView, CoreError> {
        if self.servers_locked() {
            return Err(invalid(
                "Your organisation sets the clinic server on this computer.",
            ));
        }
        self.update_config(|c| c.active_profile = Some(id.to_string()))?;
        tracing::info!(profile = id, "clinic profile switched");
        Ok(self.profiles())
    }

    /// Removes a clinic account: its keychain items first (if the keychain refuses, nothing
    /// is removed and the error says why), its schedule cache, then the profile.
    pub async fn remove_profile(&self, id: &str) -> Result<ProfilesView, CoreError> {
        if !self.profiles().profiles.iter().any(|p| p.id == id) {
            return Err(invalid("That clinic account is not on this computer."));
        }
        let items = Vault::open()?.delete_profile(id)?;
        self.close_schedule(id, true).await;
        self.update_config(|c| {
            c.profiles.retain(|p| p.id != id);
            c.last_users.remove(id);
            c.fhir_users.remove(id);
            if c.active_profile.as_deref() == Some(id) {
                c.active_profile = None;
            }
        })?;
        tracing::info!(
            profile = id,
            items,
            "clinic profile removed with its keychain items"
        );
        Ok(self.profiles())
    }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_safe_ids_and_unique() {
        assert_eq!(slug("North Clinic", &[]), "north-clinic");
        assert_eq!(slug("  Ünïcode & Co. ", &[]), "n-code-co");
        assert_eq!(slug("!!!", &[]), "clinic");
        assert_eq!(slug("North", &["north".into()]), "north-2");
    }
}
