//! The end-to-end harness: one call starts the sandbox clinic, a private X display, a private
//! D-Bus session with an unlocked throwaway keyring, tauri-driver, and the real Rounds binary;
//! dropping it tears everything down. Every later feature's window tests reuse it.
//!
//! Nothing is mocked: the app talks TLS to the sandbox with the CA the sandbox made at start,
//! handed over through a policy file the way hospital IT would.
//!
//! One file per concern: `harness` (start/stop, what the app did), `sandbox` (the clinic
//! process), `driver` (display, tauri-driver, WebDriver session), `group` (process groups,
//! watchdog), `signin` (sign-in steps). Paths and ports shared by all of them are here.

pub mod authenticator;
pub mod chromium;
mod driver;
mod group;
mod harness;
pub mod procs;
mod sandbox;
pub mod scan;
mod signin;

pub use group::Watchdog;
pub(crate) use group::{Group, spawn_group};
pub use harness::{Harness, Options};
pub use sandbox::{DEMO_PASSWORD, PolicyFn, Sandbox, default_policy};

use std::net::TcpListener;
use std::path::{Path, PathBuf};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// `$CARGO_TARGET_DIR`, else the workspace's `target/`: where the binaries under test are.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A built binary: `ROUNDS_<NAME>_BIN` wins, else `target/debug/<file>`.
pub(crate) fn binary(env: &str, file: &str) -> Result<PathBuf> {
    let p = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug").join(file));
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} not found: run `make build` first (or set {env})",
            p.display()
        )
        .into())
    }
}

/// Where humans find the screenshots: `target/e2e/`.
pub fn screenshot_dir() -> PathBuf {
    let d = target_dir().join("e2e");
    let _ = std::fs::create_dir_all(&d);
    d
}

/// A loopback port free right now (for tauri-driver and Chromium).
pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
