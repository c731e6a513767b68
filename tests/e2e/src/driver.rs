//! The X display (a private Xvfb unless `$DISPLAY` is set), the tauri-driver binary, and the
//! WebDriver session that starts the app.

use fantoccini::{Client, ClientBuilder};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::group::{Group, spawn_group};

/// A WebDriver session (which starts the app), retried for 30 s while tauri-driver comes up.
pub(crate) async fn connect(url: &str, caps: &serde_json::Map<String, Value>) -> Result<Client> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::rustls()?
            .capabilities(caps.clone())
            .connect(url)
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(format!("no WebDriver session: {e}").into()),
        }
    }
}

/// tauri-driver: `$TAURI_DRIVER`, else `cargo install`'s `~/.cargo/bin/tauri-driver`.
pub(crate) fn tauri_driver() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return Ok(PathBuf::from(p));
    }
    let home_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin/tauri-driver"));
    match home_bin {
        Some(p) if p.is_file() => Ok(p),
        _ => Err("tauri-driver not found: run `make setup` (cargo install tauri-driver)".into()),
    }
}

/// Uses `$DISPLAY` when there is one; otherwise starts a private Xvfb at 1280×800.
pub(crate) fn display() -> Result<(String, Option<Group>)> {
    if let Some(d) = std::env::var_os("DISPLAY").filter(|d| !d.is_empty()) {
        return Ok((d.to_string_lossy().into_owned(), None));
    }
    for n in 100..200u32 {
        if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let mut cmd = Command::new("Xvfb");
        cmd.args([
            &format!(":{n}"),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        let mut g = spawn_group(&mut cmd)?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if socket.exists() {
                return Ok((format!(":{n}"), Some(g)));
            }
            if let Ok(Some(_)) = g.0.try_wait() {
                break; // lost a race for this display number; try the next
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Err("could not start Xvfb on any display :100-:199".into())
}
