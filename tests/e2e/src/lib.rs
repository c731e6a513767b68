//! The end-to-end harness: one call starts the sandbox clinic, a private X display, a private
//! D-Bus session with an unlocked throwaway keyring, tauri-driver, and the real Rounds binary;
//! dropping it tears everything down. Every later feature's window tests reuse it.
//!
//! Nothing is mocked: the app talks TLS to the sandbox with the CA the sandbox made at start,
//! handed over through a policy file the way hospital IT would.

pub mod authenticator;
pub mod chromium;
pub mod procs;
pub mod scan;

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A built binary: `ROUNDS_<NAME>_BIN` wins, else `target/debug/<file>`.
fn binary(env: &str, file: &str) -> Result<PathBuf> {
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

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Process groups alive right now, so the watchdog can end them all if a test hangs.
static GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// A child process in its own process group, so teardown also ends what it spawned.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0.id();
        if let Ok(mut g) = GROUPS.lock() {
            g.retain(|p| *p != pgid);
        }
        kill_group(pgid, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        kill_group(pgid, "-KILL");
        let _ = self.0.wait();
    }
}

fn spawn_group(cmd: &mut Command) -> Result<Group> {
    use std::os::unix::process::CommandExt;
    let child = cmd.process_group(0).spawn()?;
    if let Ok(mut g) = GROUPS.lock() {
        g.push(child.id());
    }
    Ok(Group(child))
}

/// Fails the run instead of hanging it: WebDriver calls have no timeout of their own, and a
/// stuck WebKitWebDriver must cost CI two minutes, not ninety. On expiry it ends every process
/// group the harness started and exits non-zero.
pub struct Watchdog(Option<std::sync::mpsc::Sender<()>>);

impl Watchdog {
    pub fn start(limit: Duration) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                // Straight to stderr: the test harness's output capture would swallow eprintln!.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "e2e watchdog: test exceeded {limit:?}; ending the app and its helpers"
                );
                let groups = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
                for pgid in groups {
                    kill_group(pgid, "-KILL");
                }
                std::process::exit(101);
            }
        });
        Self(Some(tx))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// The sandbox clinic server, as started for one test.
pub struct Sandbox {
    proc: Option<Group>,
    pub base_url: String,
    pub ca_pem: PathBuf,
    pub control_url: String,
    pub ready_line: Value,
}

impl Sandbox {
    pub fn start(state_dir: &Path) -> Result<Self> {
        let bin = binary("ROUNDS_SANDBOX_BIN", "rounds-sandbox")?;
        std::fs::create_dir_all(state_dir)?;
        let log = std::fs::File::create(state_dir.join("sandbox.log"))?;
        let mut cmd = Command::new(bin);
        cmd.args(["--port", "0", "--seed", "demo", "--state-dir"])
            .arg(state_dir)
            .stdout(Stdio::piped())
            .stderr(log);
        let mut proc = spawn_group(&mut cmd)?;
        let stdout = proc.0.stdout.take().ok_or("sandbox stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let ready: Value = serde_json::from_str(line.trim())
            .map_err(|e| format!("sandbox did not print its JSON ready line ({e}): {line:?}"))?;
        let s = |k: &str| -> Result<String> {
            Ok(ready[k]
                .as_str()
                .ok_or_else(|| format!("ready line lacks {k}: {ready}"))?
                .to_string())
        };
        Ok(Self {
            base_url: s("base_url")?,
            ca_pem: PathBuf::from(s("ca_pem")?),
            control_url: s("control_url").unwrap_or_default(),
            ready_line: ready,
            proc: Some(proc),
        })
    }
}

/// The policy IT would write for the sandbox clinic: its server, locked, and its CA trusted.
pub fn default_policy(sandbox: &Sandbox) -> Value {
    json!({"mandatory": {
        "clinic": {"servers": [{"url": sandbox.base_url, "site": "default", "display_name": "Sandbox Clinic"}]},
        "network": {"ca_bundle": sandbox.ca_pem},
    }})
}

/// Builds the system policy file from the started sandbox (its URL and CA exist only then).
pub type PolicyFn = Box<dyn FnOnce(&Sandbox) -> Value + Send>;

impl Sandbox {
    /// One request to the sandbox's control API (plain http on loopback, so a raw request keeps
    /// this crate free of another HTTP client). Returns the JSON body.
    pub fn control(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        use std::io::{Read, Write};
        let hostport = self
            .control_url
            .strip_prefix("http://")
            .ok_or("control_url is not http://")?;
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = std::net::TcpStream::connect(hostport)?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            payload.len()
        )?;
        let mut resp = String::new();
        s.read_to_string(&mut resp)?;
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        if !head.starts_with("HTTP/1.1 2") {
            return Err(format!("control API {method} {path}: {head}").into());
        }
        Ok(serde_json::from_str(body.trim()).unwrap_or(Value::Null))
    }

    /// The current TOTP code of an enrolled user.
    /// Ends the clinic (the app then finds it unreachable: "offline").
    pub fn stop(&mut self) {
        self.proc = None;
    }

    pub fn totp(&self, user: &str) -> Result<String> {
        self.totp_at(user, 0)
    }

    /// A code no earlier sign-in can have used (codes are single-use): the clinic's clock moves
    /// one 30 s step on, and this is the code one step ahead of it (accepted one step early).
    pub fn fresh_totp(&self, user: &str) -> Result<String> {
        self.control(
            "POST",
            "/control/time",
            Some(&json!({"advance_seconds": 30})),
        )?;
        self.totp_at(user, 1)
    }

    /// The code `steps` × 30 s from now (codes are single-use: a second sign-in in the same
    /// 30 s needs the next one, which the server accepts one step early).
    pub fn totp_at(&self, user: &str, steps: i64) -> Result<String> {
        let v = self.control(
            "GET",
            &format!("/control/users/{user}/totp?steps={steps}"),
            None,
        )?;
        Ok(v["code"].as_str().ok_or("no code in answer")?.to_string())
    }

    /// Adds a clinician who has no authenticator yet, with a password that exists nowhere
    /// else (so a scan for it cannot be fooled by docs or fixtures that mention demo ones).
    pub fn add_unenrolled_user(&self, username: &str, password: &str) -> Result<()> {
        self.control(
            "POST",
            "/control/users",
            Some(&json!({"username": username, "password": password, "mfa": "must_enroll"})),
        )?;
        Ok(())
    }
}

/// How to set up the machine the app starts on.
/// The password of every demo clinician in the sandbox's seed.
pub const DEMO_PASSWORD: &str = "Sandbox-Clinic-2026!";

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

    /// Signs a demo clinician in as they would: waits until the connection to the clinic is
    /// verified, then the demo password and the authenticator's current code.
    pub async fn sign_in_demo(&self, user: &str) -> Result<()> {
        self.wait_attr("[data-testid=server-status]", "data-state", "ok")
            .await?;
        let code = self.sandbox.totp(user)?;
        self.submit_sign_in(Some(user), DEMO_PASSWORD, Some(&code))
            .await
    }

    /// Fills the sign-in form and submits it. `user: None` keeps the user name already there
    /// (the form keeps it after a failed attempt); `code: None` leaves the code empty.
    pub async fn submit_sign_in(
        &self,
        user: Option<&str>,
        password: &str,
        code: Option<&str>,
    ) -> Result<()> {
        if let Some(u) = user {
            self.wait_for("#username").await?.send_keys(u).await?;
        }
        self.client
            .find(Locator::Id("password"))
            .await?
            .send_keys(password)
            .await?;
        if let Some(c) = code {
            self.client
                .find(Locator::Id("totp"))
                .await?
                .send_keys(c)
                .await?;
        }
        self.client
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// On the enrollment screen: reads the key shown for typing by hand, answers with the
    /// current code from a test authenticator, and confirms. Returns (key as shown, code).
    pub async fn enroll_with_test_authenticator(&self) -> Result<(String, String)> {
        let key = self
            .wait_for("[data-testid=manual-key]")
            .await?
            .text()
            .await?;
        let code = authenticator::code_now(&key).ok_or("manual key is not base32")?;
        self.client
            .find(Locator::Id("enroll-code"))
            .await?
            .send_keys(&code)
            .await?;
        self.client
            .find(Locator::XPath(
                "//button[normalize-space()='Confirm and sign in']",
            ))
            .await?
            .click()
            .await?;
        Ok((key, code))
    }

    /// What libsecret's own tool lists for Rounds in the app's keyring (attributes and secrets).
    pub fn keychain_listing(&self) -> Result<String> {
        self.run_in_app_session(
            "secret-tool",
            &["search", "--all", "service", "app.rounds.desktop"],
        )
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

/// A WebDriver session (which starts the app), retried for 30 s while tauri-driver comes up.
async fn connect(url: &str, caps: &serde_json::Map<String, Value>) -> Result<Client> {
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

fn tauri_driver() -> Result<PathBuf> {
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
fn display() -> Result<(String, Option<Group>)> {
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
