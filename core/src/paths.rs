//! Where Rounds keeps its (non-secret) files on each platform.
//!
//! Only settings, logs and the encrypted schedule cache live here; secrets live in the OS
//! keychain (see [`crate::vault`]). Linux follows XDG (so tests isolate themselves by pointing
//! `HOME`/`XDG_*` at a temp dir), macOS and Windows their native locations.

use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub cache_dir: PathBuf,
}

impl Paths {
    /// The platform's standard locations for the current user.
    pub fn for_current_user() -> Option<Self> {
        let dirs = directories::ProjectDirs::from("app", "Rounds", "Rounds")?;
        let log_dir = if cfg!(target_os = "macos") {
            directories::BaseDirs::new()?
                .home_dir()
                .join("Library/Logs/Rounds")
        } else {
            dirs.data_local_dir().join("logs")
        };
        Some(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_local_dir().to_path_buf(),
            log_dir,
            cache_dir: dirs.cache_dir().to_path_buf(),
        })
    }

    /// All paths under one root: for tests and for `--data-root` in support sessions.
    pub fn under(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
            log_dir: root.join("logs"),
            cache_dir: root.join("cache"),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.json")
    }
}
