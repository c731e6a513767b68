//! Tauri's static update manifest (`latest.json`): `version`, `notes`, `pub_date` and
//! `platforms` → `{signature, url}` per target (`linux-x86_64-deb`, `linux-x86_64`, …).
//!
//! Read strictly: a version that is not semver, an artifact URL Rounds' network rules refuse
//! (plain http off loopback) or an absurd size is "cannot read", never half used.

use super::UpdateError;
use serde::Deserialize;
use std::collections::BTreeMap;
use url::Url;

/// Longest release note kept (shown as plain text; longer notes are cut, not refused).
const MAX_NOTES: usize = 2000;

#[derive(Deserialize)]
struct Raw {
    version: String,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    pub_date: Option<String>,
    platforms: BTreeMap<String, RawPlatform>,
}

#[derive(Deserialize)]
struct RawPlatform {
    signature: String,
    url: String,
}

/// One release as the server announces it (nothing here is trusted until its signature is).
#[derive(Debug, Clone)]
pub struct Manifest {
    pub version: semver::Version,
    pub notes: Option<String>,
    pub pub_date: Option<String>,
    pub platforms: BTreeMap<String, Artifact>,
    /// The document as received, for the plugin's installer step (`restore_update`).
    pub raw: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct Artifact {
    pub url: Url,
    pub signature: String,
}

/// Which manifest entries fit this computer, best first (Tauri's own order:
/// `{os}-{arch}-{bundle}`, then `{os}-{arch}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    /// How this copy was installed: `deb`, `rpm`, `appimage`, `nsis`, `msi`, `app`.
    pub bundle: Option<String>,
}

impl Platform {
    /// This computer; `bundle` comes from the shell (Tauri knows how it was packaged).
    pub fn current(bundle: Option<&str>) -> Self {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let arch = match std::env::consts::ARCH {
            "x86" => "i686",
            "arm" => "armv7",
            other => other,
        };
        Self {
            os: os.into(),
            arch: arch.into(),
            bundle: bundle.map(str::to_string),
        }
    }

    pub fn targets(&self) -> Vec<String> {
        let base = format!("{}-{}", self.os, self.arch);
        let mut t = Vec::new();
        if let Some(b) = &self.bundle {
            t.push(format!("{base}-{b}"));
        }
        t.push(base);
        t
    }
}

pub fn parse(body: &[u8]) -> Result<Manifest, UpdateError> {
    let bad = |detail: String| UpdateError::Manifest { detail };
    let raw: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    let r: Raw = serde_json::from_value(raw.clone()).map_err(|e| bad(e.to_string()))?;
    let version = semver::Version::parse(r.version.trim_start_matches('v'))
        .map_err(|_| bad("`version` is not a version like 1.4.2".into()))?;
    let mut platforms = BTreeMap::new();
    for (target, p) in r.platforms {
        let url = Url::parse(&p.url).map_err(|_| bad(format!("`{target}`: url is not a URL")))?;
        crate::net::check_url_allowed(&url).map_err(|e| bad(format!("`{target}`: {e}")))?;
        platforms.insert(
            target,
            Artifact {
                url,
                signature: p.signature,
            },
        );
    }
    let notes = r.notes.map(|n| {
        let clean: String = n
            .chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect();
        clean.chars().take(MAX_NOTES).collect::<String>()
    });
    Ok(Manifest {
        version,
        notes: notes.filter(|n| !n.trim().is_empty()),
        pub_date: r.pub_date,
        platforms,
        raw,
    })
}

impl Manifest {
    /// The entry for this computer, and its target name.
    pub fn artifact_for(&self, platform: &Platform) -> Result<(String, &Artifact), UpdateError> {
        let targets = platform.targets();
        targets
            .iter()
            .find_map(|t| self.platforms.get(t).map(|a| (t.clone(), a)))
            .ok_or_else(|| UpdateError::NoPlatform {
                targets: targets.join(", "),
            })
    }
}
