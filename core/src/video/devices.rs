//! The device check's choices, remembered per computer: camera, microphone and speaker by
//! their labels (browsers re-key device ids per profile, and the visit window's profile is
//! new for every visit, so the label is what stays the same). Not secret, no PHI; a small
//! JSON file in the app's data dir, replaced atomically.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Longest label kept (browsers' labels are short; anything longer is not a label).
const MAX_LABEL: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceChoice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microphone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
}

impl DeviceChoice {
    /// Labels only: bounded, no control characters.
    pub fn is_valid(&self) -> bool {
        [&self.camera, &self.microphone, &self.speaker]
            .into_iter()
            .flatten()
            .all(|l| l.chars().count() <= MAX_LABEL && !l.chars().any(char::is_control))
    }
}

/// The remembered choice; nothing (not an error) when there is none or the file is bad.
pub fn load(file: &Path) -> DeviceChoice {
    std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice::<DeviceChoice>(&b).ok())
        .filter(DeviceChoice::is_valid)
        .unwrap_or_default()
}

pub fn save(file: &Path, choice: &DeviceChoice) -> std::io::Result<()> {
    if let Some(d) = file.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(choice).unwrap_or_default())?;
    std::fs::rename(tmp, file)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot set up should stop there
mod tests {
    use super::*;

    #[test]
    fn remembers_labels_and_ignores_a_bad_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("devices.json");
        assert_eq!(load(&f), DeviceChoice::default());
        let c = DeviceChoice {
            camera: Some("Integrated Camera (04f2:b6dd)".into()),
            microphone: Some("Jabra Evolve2 65".into()),
            speaker: None,
        };
        save(&f, &c).unwrap();
        assert_eq!(load(&f), c);
        std::fs::write(&f, b"{not json").unwrap();
        assert_eq!(load(&f), DeviceChoice::default());
        let bad = DeviceChoice {
            camera: Some("a\nb".into()),
            ..Default::default()
        };
        assert!(!bad.is_valid());
        assert!(
            !DeviceChoice {
                speaker: Some("x".repeat(201)),
                ..Default::default()
            }
            .is_valid()
        );
    }
}
