//! Opens a page in the clinician's default browser (the clinic's sign-in page, RFC 8252: never
//! an embedded view, so the password is typed where the clinic and the OS password manager
//! expect it, not into Rounds).
//!
//! Linux honours `$BROWSER` (the long-standing convention, a `:`-separated list; also how the
//! end-to-end tests stand in for a browser), else `xdg-open`; macOS `open`; Windows the URL
//! protocol handler. The URL carries no secret (state and PKCE challenge only), but it is not
//! logged anyway.

use std::process::{Command, Stdio};

pub fn open(url: &rounds_core::net::Url) -> Result<(), String> {
    if !matches!(url.scheme(), "https" | "http") {
        return Err("only web pages are opened".into());
    }
    let mut cmd = command(url.as_str());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    // Reap it in the background; a browser may keep running long after.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[cfg(target_os = "linux")]
fn command(url: &str) -> Command {
    let from_env = std::env::var("BROWSER").ok().and_then(|b| {
        b.split(':')
            .map(str::trim)
            .find(|s| !s.is_empty())
            .map(str::to_string)
    });
    let mut c = Command::new(from_env.unwrap_or_else(|| "xdg-open".into()));
    c.arg(url);
    c
}

#[cfg(target_os = "macos")]
fn command(url: &str) -> Command {
    let mut c = Command::new("open");
    c.arg(url);
    c
}

#[cfg(target_os = "windows")]
fn command(url: &str) -> Command {
    let mut c = Command::new("rundll32");
    c.args(["url.dll,FileProtocolHandler", url]);
    c
}
