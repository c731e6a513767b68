//! Cameras and microphones found without opening them (Linux).
//!
//! Opening a device to list it would turn on a camera's light and wake the audio stack ten
//! minutes before a visit, so Rounds reads what the kernel already publishes: cameras from
//! `/sys/class/video4linux/*/name` with their `/dev/videoN` node (a camera's metadata node has
//! `index` 1 and is skipped), microphones from `/proc/asound/cards` with a capture node
//! `/dev/snd/pcmC<card>D<n>c`. A PipeWire/PulseAudio source is backed by one of these.
//!
//! "Permitted" is the part Rounds can know ahead: whether this user may open the device node
//! (group `video`/`audio` or the seat's ACL, asked with `access(2)`, which opens nothing).
//! Rounds itself always grants camera and microphone to the visit's two origins (see
//! `video::permissions`), so there is no Rounds-side refusal to report. The roots are
//! injectable so tests point them at a tree they build.

use super::{Check, CheckKind};
use std::path::{Path, PathBuf};

/// Where the system's device entries are (`/sys`, `/dev`, `/proc` on a real computer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub sys: PathBuf,
    pub dev: PathBuf,
    pub proc: PathBuf,
}

impl Roots {
    pub fn system() -> Self {
        Self {
            sys: "/sys".into(),
            dev: "/dev".into(),
            proc: "/proc".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub name: String,
    pub node: PathBuf,
    /// This user may open the node.
    pub permitted: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub cameras: Vec<Device>,
    pub microphones: Vec<Device>,
}

/// Lists the cameras and capture devices under `roots`. Never fails: what cannot be read is
/// simply not there.
pub fn discover(roots: &Roots) -> Found {
    Found {
        cameras: cameras(roots),
        microphones: microphones(roots),
    }
}

fn cameras(roots: &Roots) -> Vec<Device> {
    let class = roots.sys.join("class/video4linux");
    let Ok(entries) = std::fs::read_dir(&class) else {
        return Vec::new();
    };
    let mut out: Vec<Device> = entries
        .flatten()
        .filter_map(|e| {
            let node_name = e.file_name().to_string_lossy().into_owned();
            if !node_name.starts_with("video") {
                return None;
            }
            let dir = e.path();
            let index = read_trimmed(&dir.join("index")).unwrap_or_else(|| "0".into());
            if index != "0" {
                return None;
            }
            let node = roots.dev.join(&node_name);
            if !node.exists() {
                return None;
            }
            let name = read_trimmed(&dir.join("name")).unwrap_or_else(|| node_name.clone());
            Some(Device {
                name,
                permitted: may_open(&node),
                node,
            })
        })
        .collect();
    out.sort_by(|a, b| a.node.cmp(&b.node));
    out
}

fn microphones(roots: &Roots) -> Vec<Device> {
    let Some(cards) = std::fs::read_to_string(roots.proc.join("asound/cards")).ok() else {
        return Vec::new();
    };
    let snd = roots.dev.join("snd");
    let nodes: Vec<String> = std::fs::read_dir(&snd)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    // " 0 [PCH            ]: HDA-Intel - HDA Intel PCH" (a second, indented line follows).
    for line in cards.lines() {
        let Some((num, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let Ok(card) = num.parse::<u32>() else {
            continue;
        };
        let name = rest
            .split_once(" - ")
            .map_or(rest, |(_, n)| n)
            .trim()
            .to_string();
        let prefix = format!("pcmC{card}D");
        let mut capture: Vec<&String> = nodes
            .iter()
            .filter(|n| n.starts_with(&prefix) && n.ends_with('c'))
            .collect();
        capture.sort();
        if let Some(n) = capture.first() {
            let node = snd.join(n);
            out.push(Device {
                name,
                permitted: may_open(&node),
                node,
            });
        }
    }
    out
}

fn read_trimmed(p: &Path) -> Option<String> {
    let s = std::fs::read_to_string(p).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Whether this user may open the node for reading and writing (asked, not opened).
fn may_open(node: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{Access, access};
        access(node, Access::READ_OK | Access::WRITE_OK).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        node.exists()
    }
}

impl Found {
    pub(super) fn camera_check(&self) -> Check {
        check(
            CheckKind::Camera,
            &self.cameras,
            "camera",
            "The camera is not connected. Plug it in, or pick another one in the device check when the visit opens.",
        )
    }

    pub(super) fn microphone_check(&self) -> Check {
        check(
            CheckKind::Microphone,
            &self.microphones,
            "microphone",
            "No microphone is connected. Plug in a headset or microphone, or pick another one in the device check when the visit opens.",
        )
    }
}

fn check(kind: CheckKind, found: &[Device], what: &str, missing: &str) -> Check {
    let usable: Vec<&Device> = found.iter().filter(|d| d.permitted).collect();
    match (found.first(), usable.first()) {
        (None, _) => {
            let (says, todo) = missing.split_once(". ").unwrap_or((missing, ""));
            Check::attention(kind, format!("{says}."), todo)
        }
        (Some(d), None) => Check::attention(
            kind,
            format!(
                "The {what} ({}) is connected, but this computer does not let you use it.",
                d.name
            ),
            format!(
                "Call IT: your account needs access to the {what} (the `{}` group).",
                if kind == CheckKind::Camera {
                    "video"
                } else {
                    "audio"
                }
            ),
        ),
        (_, Some(d)) => {
            let more = usable.len() - 1;
            let others = match more {
                0 => String::new(),
                1 => " and 1 more".into(),
                n => format!(" and {n} more"),
            };
            let mut says = format!("{}{others} is connected.", d.name);
            if let Some(first) = says.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            Check::ok(kind, says)
        }
    }
}
