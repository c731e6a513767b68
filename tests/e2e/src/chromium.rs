//! Chromium for the call tests: the browser that Rounds' visit window runs (through a wrapper
//! named in policy `video.browser_path`, which adds what a test machine needs: fake camera and
//! microphone, no setuid sandbox as root, a DevTools port for ChromeDriver to attach to), and
//! a second, headless Chromium as the patient.

use crate::{Group, Result, free_port, spawn_group};
use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's Chromium (the Makefile installs it with chromium-driver).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The flags every test Chromium needs on this machine: as root there is no setuid sandbox;
/// the closed network makes background fetches fail slowly.
const MACHINE_FLAGS: &str = "--no-sandbox --disable-gpu --disable-dev-shm-usage";

/// Writes the wrapper Rounds will start as its browser. `fake_media: false` is the fault
/// demonstration: no camera or microphone on this machine at all.
pub fn wrapper(dir: &Path, devtools_port: u16, fake_media: bool) -> Result<PathBuf> {
    let p = dir.join("visit-browser.sh");
    let fake = if fake_media {
        "--use-fake-device-for-media-stream"
    } else {
        ""
    };
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nexec {CHROMIUM} {MACHINE_FLAGS} {fake} \
             --remote-debugging-port={devtools_port} \"$@\"\n"
        ),
    )?;
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(p)
}

/// ChromeDriver attached to a Chromium that is already running (Rounds started it).
pub struct Attached {
    pub client: Client,
    _driver: Group,
}

/// Waits (up to `within`) for the DevTools port, then attaches a WebDriver session to it.
pub async fn attach(devtools_port: u16, within: Duration) -> Result<Attached> {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", devtools_port)).is_err() {
        if Instant::now() > deadline {
            return Err("the visit window (Chromium) did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let port = free_port()?;
    let driver = spawn_group(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    let caps =
        json!({"goog:chromeOptions": {"debuggerAddress": format!("127.0.0.1:{devtools_port}")}});
    let serde_json::Value::Object(caps) = caps else {
        unreachable!("literal object")
    };
    let url = format!("http://127.0.0.1:{port}");
    loop {
        match ClientBuilder::rustls()?
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Ok(Attached {
                    client,
                    _driver: driver,
                });
            }
            Err(e) if Instant::now() > deadline => {
                return Err(format!("ChromeDriver could not attach: {e}").into());
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The patient: a headless Chromium on the patient's link, with fake media and the
/// permission prompt answered yes (a patient clicks Allow). It does not know the sandbox's
/// CA, so it accepts that one key only.
pub struct Patient {
    _proc: Group,
    pub profile: tempfile::TempDir,
}

pub fn patient(url: &str, spki_sha256: &str) -> Result<Patient> {
    let profile = tempfile::Builder::new()
        .prefix("rounds-patient-")
        .tempdir()?;
    let mut cmd = Command::new(CHROMIUM);
    cmd.args(MACHINE_FLAGS.split(' '))
        .args([
            "--headless=new",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .arg(format!(
            "--ignore-certificate-errors-spki-list={spki_sha256}"
        ))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Ok(Patient {
        _proc: spawn_group(&mut cmd)?,
        profile,
    })
}

/// base64 SHA-256 of the SPKI of the certificate at `https://host:port` (for Chromium's
/// `--ignore-certificate-errors-spki-list`), with openssl as a test tool.
pub fn spki_of(base_url: &str) -> Result<String> {
    let hostport = base_url
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let script = format!(
        "openssl s_client -connect {hostport} </dev/null 2>/dev/null | openssl x509 -pubkey -noout \
         | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl enc -base64"
    );
    let out = Command::new("sh").args(["-c", &script]).output()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if s.len() != 44 {
        return Err(format!("no key from {hostport}: {s:?}").into());
    }
    Ok(s)
}
