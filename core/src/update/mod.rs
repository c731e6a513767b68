//! Updates under IT's policy: what to ask, what to accept, and what to tell the clinician.
//!
//! The decisions are plain functions here ([`plan`] before any request, [`judge`] on the
//! manifest), tested without a window or a server. [`service::Updates`] runs them with the
//! core's own network client (hospital CA, pins, https only) and minisign ([`sign`]); the
//! desktop shell hands only the verified artifact to tauri-plugin-updater's installer step.
//!
//! Rules: `off` never contacts a server; `channel` takes the newest signed version on the
//! channel; `pinned` moves only to exactly `pinned_version` and never past it; no mode ever
//! goes below the running version. Nothing happens during a visit: no check, no install, no
//! restart. A refused update changes nothing: the running version keeps working.

pub mod manifest;
mod service;
pub mod sign;
#[cfg(test)]
mod tests;

pub use manifest::{Manifest, Platform};
pub use service::{Installer, UpdateContext, Updates, VerifiedUpdate};

use crate::net::NetError;
use crate::policy::{UpdateChannel, UpdateMode};
use semver::Version;
use serde::Serialize;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("the update server sent an update list Rounds cannot read ({detail})")]
    Manifest { detail: String },
    #[error("the update offers nothing for this computer (looked for {targets})")]
    NoPlatform { targets: String },
    #[error(
        "the update server offers {offered}, older than the running {running}; Rounds never goes back a version"
    )]
    Downgrade { offered: String, running: String },
    #[error(
        "the update is signed with another key (id {key_id}) than the one your organisation set; it was refused"
    )]
    WrongKey { key_id: String },
    #[error("the update's signature is not valid ({detail}); it was refused")]
    BadSignature { detail: String },
    #[error(
        "the update is signed for version {signed}, not the {announced} it claims; it was refused"
    )]
    SignedVersionMismatch { signed: String, announced: String },
    #[error(
        "the downloaded update does not match its signature (changed or damaged); it was refused"
    )]
    Tampered,
    #[error("updates cannot be installed during a visit; this waits until the visit ends")]
    VisitOpen,
    #[error("there is no update to install")]
    NothingToInstall,
    #[error("updates are off or not set up on this computer")]
    NotAllowed,
    #[error("the update could not be installed ({detail}); this version keeps running")]
    Install { detail: String },
    #[error(transparent)]
    Net(#[from] NetError),
}

impl UpdateError {
    /// A short code for the log and the UI (no values).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Manifest { .. } => "manifest",
            Self::NoPlatform { .. } => "no_platform",
            Self::Downgrade { .. } => "downgrade",
            Self::WrongKey { .. } => "wrong_key",
            Self::BadSignature { .. } => "bad_signature",
            Self::SignedVersionMismatch { .. } => "signed_version_mismatch",
            Self::Tampered => "tampered",
            Self::VisitOpen => "visit_open",
            Self::NothingToInstall => "nothing_to_install",
            Self::NotAllowed => "not_allowed",
            Self::Install { .. } => "install",
            Self::Net(_) => "network",
        }
    }

    /// Refused on the signature or version rule (not a network hiccup).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Downgrade { .. }
                | Self::WrongKey { .. }
                | Self::BadSignature { .. }
                | Self::SignedVersionMismatch { .. }
                | Self::Tampered
        )
    }
}

/// What IT's policy says about updates (`app` maps the policy into this).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatePolicy {
    pub mode: UpdateMode,
    pub channel: UpdateChannel,
    pub pinned_version: Option<String>,
    pub endpoint: Option<String>,
    pub public_key: Option<String>,
    /// `updates.mode` is mandatory policy (shown locked).
    pub locked: bool,
}

/// `updates.endpoint`'s rule: a URL Rounds' network accepts once `{channel}` is filled in, with
/// no user name or password in it.
pub fn check_endpoint(template: &str) -> Result<Url, String> {
    let url = Url::parse(&template.replace("{channel}", "stable"))
        .map_err(|e| format!("`{template}` is not a URL: {e}"))?;
    crate::net::check_url_allowed(&url).map_err(|e| e.to_string())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials do not belong in the update address".into());
    }
    Ok(url)
}

/// Before any request: skip (and why), or the manifest to fetch.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Skip(UpdateState),
    Fetch(Url),
}

pub fn plan(p: &UpdatePolicy, running: &Version) -> Plan {
    if p.mode == UpdateMode::Off {
        return Plan::Skip(UpdateState::Off);
    }
    let (Some(endpoint), Some(_)) = (&p.endpoint, &p.public_key) else {
        return Plan::Skip(UpdateState::NotSetUp);
    };
    if p.mode == UpdateMode::Pinned {
        let Some(pinned) = p
            .pinned_version
            .as_deref()
            .and_then(|v| Version::parse(v).ok())
        else {
            return Plan::Skip(UpdateState::NotSetUp);
        };
        if pinned <= *running {
            // Equal: held there. Lower: Rounds never goes back; IT reinstalls if it must.
            return Plan::Skip(UpdateState::Held {
                pinned: pinned.to_string(),
                offered: None,
            });
        }
    }
    match check_endpoint(&endpoint.replace("{channel}", p.channel.as_str())) {
        Ok(url) => Plan::Fetch(url),
        Err(_) => Plan::Skip(UpdateState::NotSetUp),
    }
}

/// An update the server offers and policy allows (signature header already checked).
#[derive(Debug, Clone)]
pub struct Offer {
    pub version: Version,
    pub notes: Option<String>,
    pub pub_date: Option<String>,
    pub target: String,
    pub artifact: manifest::Artifact,
    pub raw: serde_json::Value,
}

/// The manifest against policy and the running version: an offer, "nothing to do" (as a
/// state), or a refusal.
pub fn judge(
    p: &UpdatePolicy,
    running: &Version,
    m: &Manifest,
    platform: &Platform,
    key: &sign::UpdateKey,
) -> Result<Result<Offer, UpdateState>, UpdateError> {
    if m.version < *running {
        return Err(UpdateError::Downgrade {
            offered: m.version.to_string(),
            running: running.to_string(),
        });
    }
    if p.mode == UpdateMode::Pinned {
        let pinned = p
            .pinned_version
            .as_deref()
            .and_then(|v| Version::parse(v).ok());
        if pinned.as_ref() != Some(&m.version) {
            return Ok(Err(UpdateState::Held {
                pinned: pinned.map(|v| v.to_string()).unwrap_or_default(),
                offered: Some(m.version.to_string()),
            }));
        }
    }
    if m.version == *running {
        return Ok(Err(UpdateState::UpToDate));
    }
    let (target, artifact) = m.artifact_for(platform)?;
    sign::check_header(key, &artifact.signature, &m.version)?;
    Ok(Ok(Offer {
        version: m.version.clone(),
        notes: m.notes.clone(),
        pub_date: m.pub_date.clone(),
        target,
        artifact: artifact.clone(),
        raw: m.raw.clone(),
    }))
}

/// Where updates stand, for the notice and `rounds-cli update check`.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum UpdateState {
    /// Policy `off`: no server is ever asked.
    Off,
    /// No update server or signing key set: nothing is checked.
    NotSetUp,
    /// Not asked yet (or waiting for a visit to end).
    NotChecked,
    UpToDate,
    /// `pinned`: Rounds stays on `pinned` (the server may offer another version).
    Held {
        pinned: String,
        offered: Option<String>,
    },
    Available {
        version: String,
        notes: Option<String>,
        date: Option<String>,
        /// Downloaded and verified; installs when Rounds closes.
        #[serde(rename = "atClose")]
        at_close: bool,
    },
    /// Installed; the new version starts with the next start of Rounds.
    Installed {
        version: String,
    },
    /// Refused on the signature or version rule; `reason` is for people, `code` for scripts.
    Refused {
        code: String,
        reason: String,
    },
    /// The server could not be asked (network, unreadable list); tried again later.
    Failed {
        reason: String,
    },
}

/// The notice's words: what changes and when, in plain language.
pub fn describe(state: &UpdateState, running: &str, visit_open: bool) -> String {
    let after_visit = if visit_open {
        " After your visit, you can install it now."
    } else {
        ""
    };
    match state {
        UpdateState::Off => {
            format!("Updates are turned off by your organisation. Rounds stays on {running}.")
        }
        UpdateState::NotSetUp => format!("No update server is set up. Rounds stays on {running}."),
        UpdateState::NotChecked if visit_open => "Updates wait until your visit ends.".into(),
        UpdateState::NotChecked => "Rounds has not checked for updates yet.".into(),
        UpdateState::UpToDate => format!("Rounds {running} is up to date."),
        UpdateState::Held { pinned, .. } => {
            format!(
                "Your organisation keeps Rounds at version {pinned}. Rounds {running} is running."
            )
        }
        UpdateState::Available {
            version,
            at_close: true,
            ..
        } => {
            format!("Rounds {version} will install when you close Rounds.{after_visit}")
        }
        UpdateState::Available { version, .. } => format!(
            "Rounds {version} is available (you have {running}). It installs when you choose: now, or when you close Rounds.{after_visit}"
        ),
        UpdateState::Installed { version } => {
            format!("Rounds {version} is installed. It starts the next time you open Rounds.")
        }
        UpdateState::Refused { reason, .. } => {
            format!("An update was refused: {reason}. Rounds {running} keeps working.")
        }
        UpdateState::Failed { reason } => {
            format!("Rounds could not check for updates: {reason}. It tries again later.")
        }
    }
}

/// What the UI and the CLI show.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UpdateView {
    pub running: String,
    pub mode: UpdateMode,
    pub channel: UpdateChannel,
    pub pinned_version: Option<String>,
    /// IT set the mode (shown locked, like other policy).
    pub locked: bool,
    pub state: UpdateState,
    pub message: String,
    pub visit_open: bool,
    /// "Install now" may be offered: an update is available and no visit is open.
    pub can_install_now: bool,
}
