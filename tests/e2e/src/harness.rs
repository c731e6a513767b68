//! [`Harness`]: start everything for one test (sandbox, display, D-Bus + keyring, tauri-driver,
//! the app), restart or stop the app, and look at what the app did (logs, processes, keychain,
//! screen, browser URLs). Sign-in steps are in `signin.rs`.

use fantoccini::{Client, Locator, elements::Element};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::driver::{connect, display, tauri_driver};
use crate::group::{Group, Watchdog, spawn_group};
use crate::sandbox::{PolicyFn, Sandbox, default_policy};
use crate::{Result, binary, free_port, screenshot_dir, workspace_root};

/// How to set up the machine the app starts on.
#[derive(Default)]
pub struct Options {
    /// `None` = the default policy: the sandbox as the clinic server, its CA trusted.
    pub policy: Option<PolicyFn>,
    /// Sandbox switches set before the app starts (`/control/config`), e.g.
    /// `{"mfa_grant_enabled": false}` for a stock OpenEMR.
    pub sandbox_config: Option<Value>,
    /// The watchdog's limit for a test that must wait (the idle lock's minute), instead of
    /// the default two minutes.
    pub timeout: Option<Duration>,
    /// The visit opens where the app decides (the Chromium app window on Linux) instead of
    /// the embedded view that most visit tests drive (`ROUNDS_VISIT_WINDOW=embedded`).
    pub auto_visit_window: bool,
    /// More variables for the app, e.g. `ROUNDS_MANAGED_PREFS_DIR` / `ROUNDS_REGISTRY_JSON`
    /// (debug builds' stand-ins for macOS managed preferences and Group Policy).
    pub env: Vec<(&'static str, PathBuf)>,
}

pub struct Harness {
    pub client: Client,
    /// The app binary under test.
    pub app: PathBuf,
    /// The X display the app is on (a private Xvfb unless `$DISPLAY` was set).
    pub display: String,
    pub sandbox: Sandbox,
    /// Throwaway HOME: settings, logs and keyring of this run live here.
    pub home: PathBuf,
    driver_url: String,
    caps: serde_json::Map<String, Value>,
    /// Where the `$BROWSER` stand-in records each URL the app opened.
    browser_log: PathBuf,
    _driver: Group,
    _xvfb: Option<Group>,
    _tmp: tempfile::TempDir,
    _watchdog: Watchdog,
}

impl Harness {
    pub async fn start() -> Result<Self> {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> Result<Self> {
        let limit = std::env::var("ROUNDS_E2E_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .or(opts.timeout)
            .unwrap_or(Duration::from_secs(120));
        let watchdog = Watchdog::start(limit);
        let app = binary("ROUNDS_APP_BIN", "rounds")?;
        let tmp = tempfile::Builder::new().prefix("rounds-e2e-").tempdir()?;
        let sandbox = Sandbox::start(&tmp.path().join("sandbox"))?;

        let home = tmp.path().join("home");
        let runtime = tmp.path().join("run");
        for d in [&home, &runtime] {
            std::fs::create_dir_all(d)?;
        }
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )?;
        let policy = match opts.policy {
            Some(f) => f(&sandbox),
            None => default_policy(&sandbox),
        };
        let policy_path = tmp.path().join("policy.json");
        std::fs::write(&policy_path, serde_json::to_vec_pretty(&policy)?)?;
        if let Some(cfg) = &opts.sandbox_config {
            sandbox.control("POST", "/control/config", Some(cfg))?;
        }
        // The app opens web pages with `$BROWSER`: here a stand-in that only records the URL
        // (see `Harness::browser_url`), so no test ever starts a real browser.
        let browser_log = tmp.path().join("browser-urls.txt");
        let browser = tmp.path().join("browser.sh");
        std::fs::write(
            &browser,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
                browser_log.display()
            ),
        )?;
        std::fs::set_permissions(
            &browser,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )?;

        let (display, xvfb) = display()?;
        let port = free_port()?;
        let native_port = free_port()?;
        let driver_log = std::fs::File::create(tmp.path().join("driver.log"))?;
        let mut cmd = Command::new("dbus-run-session");
        cmd.arg("--")
            .arg(workspace_root().join("tests/e2e/session.sh"))
            .arg(tauri_driver()?)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("DISPLAY", display.as_str())
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("ROUNDS_POLICY_FILE", &policy_path)
            .env("BROWSER", &browser)
            .env(
                "ROUNDS_VISIT_WINDOW",
                if opts.auto_visit_window {
                    "auto"
                } else {
                    "embedded"
                },
            )
            .envs(opts.env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .env_remove("WAYLAND_DISPLAY")
            .stdout(driver_log.try_clone()?)
            .stderr(driver_log);
        let driver = spawn_group(&mut cmd)?;

        let caps = json!({
            "browserName": "wry",
            "tauri:options": {"application": app},
        });
        let Value::Object(caps) = caps else {
            unreachable!("literal object")
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = match connect(&url, &caps).await {
            Ok(c) => c,
            Err(e) => {
                let log =
                    std::fs::read_to_string(tmp.path().join("driver.log")).unwrap_or_default();
                return Err(format!("{e}\n--- driver log ---\n{log}").into());
            }
        };
        Ok(Self {
            client,
            driver_url: url,
            caps,
            app,
            display,
            sandbox,
            home,
            browser_log,
            _driver: driver,
            _xvfb: xvfb,
            _tmp: tmp,
            _watchdog: watchdog,
        })
    }

    /// The last URL the app asked the system browser to open (waits up to 20 s for one).
    pub async fn browser_url(&self) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = std::fs::read_to_string(&self.browser_log).unwrap_or_default();
            if let Some(last) = log.lines().last() {
                return Ok(last.to_string());
            }
            if Instant::now() > deadline {
                return Err("the app did not open the browser".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 20 s) for an element matching a CSS selector.
    pub async fn wait_for(&self, css: &str) -> Result<Element> {
        Ok(self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await?)
    }

    /// Polls until the element's attribute has the value, or fails with what it last saw.
    pub async fn wait_attr(&self, css: &str, attr: &str, want: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = None;
        while Instant::now() < deadline {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                last = el.attr(attr).await?;
                if last.as_deref() == Some(want) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("{css} [{attr}] stayed {last:?}, wanted {want:?}").into())
    }

    /// Saves a PNG of the screen (what a person at this display sees) under
    /// `target/e2e/<name>.png` and returns its path.
    ///
    /// Taken with ImageMagick from the X display, not WebDriver: WebKitWebDriver's screenshot
    /// command never returns when the page exactly fits the viewport (seen with WebKitGTK
    /// 2.50.6), which the sign-in screen at 1280×800 does.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let path = screenshot_dir().join(format!("{name}.png"));
        let out = tokio::time::timeout(
            Duration::from_secs(15),
            tokio::process::Command::new("import")
                .args(["-display", &self.display, "-window", "root"])
                .arg(&path)
                .output(),
        )
        .await
        .map_err(|_| "screenshot (ImageMagick import) timed out")??;
        if !out.status.success() {
            return Err(format!("import failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(path)
    }

    /// Every log line the app wrote during this run (to assert on what it must never log).
    pub fn app_logs(&self) -> String {
        let dir = self.home.join(".local/share/rounds/logs");
        let mut out = String::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                out += &std::fs::read_to_string(e.path()).unwrap_or_default();
            }
        }
        out
    }

    /// Processes of the app under test (found by binary and by this run's HOME).
    pub fn app_pids(&self) -> Vec<u32> {
        let home = format!("HOME={}", self.home.display());
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let exe = std::fs::read_link(entry.path().join("exe")).ok();
            if exe.as_deref() != Some(self.app.as_path()) {
                continue;
            }
            let env = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if env.split(|b| *b == 0).any(|kv| kv == home.as_bytes()) {
                pids.push(pid);
            }
        }
        pids
    }

    /// A command that runs exactly as the app does: same user, HOME, display, D-Bus session
    /// and keyring (its environment copied from /proc).
    pub fn command_like_app(&self, program: impl AsRef<std::ffi::OsStr>) -> Result<Command> {
        let pid = *self.app_pids().first().ok_or("the app is not running")?;
        let env = std::fs::read(format!("/proc/{pid}/environ"))?;
        let mut cmd = Command::new(program);
        cmd.env_clear();
        for kv in env.split(|b| *b == 0).filter(|kv| !kv.is_empty()) {
            if let Some((k, v)) = String::from_utf8_lossy(kv).split_once('=') {
                cmd.env(k, v);
            }
        }
        Ok(cmd)
    }

    /// Runs a command in the app's own session, e.g. `secret-tool` to read the keychain
    /// independently of Rounds' code.
    pub fn run_in_app_session(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self.command_like_app(program)?.args(args).output()?;
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// Starts the app a second time exactly as the first, as a clinician double-clicking the
    /// icon again would.
    pub fn launch_again(&self) -> Result<Child> {
        Ok(self
            .command_like_app(&self.app)?
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?)
    }

    /// What libsecret's own tool lists for Rounds in the app's keyring (attributes and secrets).
    pub fn keychain_listing(&self) -> Result<String> {
        self.run_in_app_session(
            "secret-tool",
            &["search", "--all", "service", "app.rounds.desktop"],
        )
    }

    /// (kind, secret) of every Rounds item in the app's keyring, from `secret-tool`'s blocks
    /// (`attribute.rounds_kind = …`, `secret = …`; it prints attributes on stderr, hence one
    /// merged pipe). Secrets shorter than 8 characters are left out (never a token).
    pub fn keychain_items(&self) -> Result<Vec<(String, String)>> {
        let listing = self.run_in_app_session(
            "sh",
            &[
                "-c",
                "secret-tool search --all service app.rounds.desktop 2>&1",
            ],
        )?;
        let mut out = Vec::new();
        for block in listing.split("\n[").filter(|b| !b.trim().is_empty()) {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_string())
            };
            if let (Some(kind), Some(secret)) =
                (field("attribute.rounds_kind = "), field("secret = "))
                && secret.len() >= 8
            {
                out.push((kind, secret));
            }
        }
        Ok(out)
    }

    /// Quits the app (ends its WebDriver session) and starts it again on the same machine:
    /// same HOME, keyring, policy and clinic, as a clinician reopening Rounds.
    pub async fn restart_app(&mut self) -> Result<()> {
        self.client.clone().close().await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.app_pids().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.client = connect(&self.driver_url, &self.caps).await?;
        Ok(())
    }

    pub async fn stop(self) -> Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}
