//! The sandbox clinic as a child process (`rounds-sandbox --seed demo`): its JSON ready line,
//! its control API over raw loopback HTTP, TOTP codes, and the policy that points the app at it.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::group::{Group, spawn_group};
use crate::{Result, binary};

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

    /// Ends the clinic (the app then finds it unreachable: "offline").
    pub fn stop(&mut self) {
        self.proc = None;
    }

    /// The current TOTP code of an enrolled user.
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

/// The password of every demo clinician in the sandbox's seed.
pub const DEMO_PASSWORD: &str = "Sandbox-Clinic-2026!";
