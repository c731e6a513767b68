//! The stock clinic (tests/interop): oidc-provider and Medplum's FHIR router, servers nobody
//! here wrote, on loopback TLS. The app signs in and syncs against it exactly as against a
//! hospital's; the sandbox then only stands in for a Jitsi deployment without token auth.

use super::{Group, Result, Sandbox, spawn_group, workspace_root};
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct StockClinic {
    _proc: Group,
    pub base_url: String,
    pub ca_pem: PathBuf,
    /// The whole ready line (user, password, TOTP secret, practitioner, admin token).
    pub ready: Value,
    http: reqwest::Client,
}

impl StockClinic {
    /// `node tests/interop/stock-clinic.mjs` on a free port; waits for its ready line.
    pub fn start(state_dir: &Path) -> Result<Self> {
        let script = workspace_root().join("tests/interop/stock-clinic.mjs");
        if !workspace_root().join("tests/interop/node_modules").is_dir() {
            return Err("tests/interop/node_modules is missing: `make test` installs it (npm ci --prefix tests/interop)".into());
        }
        std::fs::create_dir_all(state_dir)?;
        let log = std::fs::File::create(state_dir.join("stock-clinic.log"))?;
        let mut cmd = Command::new("node");
        cmd.arg(script)
            .args(["--port", "0", "--state-dir"])
            .arg(state_dir)
            .stdout(Stdio::piped())
            .stderr(log);
        let mut proc = spawn_group(&mut cmd)?;
        let stdout = proc.0.stdout.take().ok_or("stock clinic stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let ready: Value = serde_json::from_str(line.trim()).map_err(|e| {
            let log =
                std::fs::read_to_string(state_dir.join("stock-clinic.log")).unwrap_or_default();
            format!("the stock clinic printed no ready line ({e}): {line:?}\n{log}")
        })?;
        let s = |k: &str| -> Result<String> {
            Ok(ready[k]
                .as_str()
                .ok_or_else(|| format!("ready line lacks {k}: {ready}"))?
                .to_string())
        };
        let ca_pem = PathBuf::from(s("ca_pem")?);
        let pem = std::fs::read(&ca_pem)?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem)?])
            .build()?;
        Ok(Self {
            base_url: s("base_url")?,
            ca_pem,
            ready,
            http,
            _proc: proc,
        })
    }

    pub fn field(&self, k: &str) -> String {
        self.ready[k].as_str().unwrap_or_default().to_string()
    }

    /// The current TOTP code of the clinician (the provider's login page asks for it).
    pub fn totp(&self) -> Result<String> {
        super::authenticator::code_now(&self.field("totp_secret"))
            .ok_or_else(|| "the stock clinic's TOTP secret is not base32".into())
    }

    /// One FHIR REST call with the admin token (the tests write the schedule through FHIR
    /// itself, as an EHR would): `PUT Appointment/x`, `DELETE Appointment/x`, …
    pub async fn fhir(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}/apis/default/fhir/{path}", self.base_url);
        let m = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self
            .http
            .request(m, url)
            .bearer_auth(self.field("admin_token"))
            .header("accept", "application/fhir+json");
        if let Some(b) = body {
            req = req
                .header("content-type", "application/fhir+json")
                .body(b.to_string());
        }
        let r = req.send().await?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            return Err(format!("FHIR {method} {path}: {status}: {text}").into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// IT's policy for this clinic: its server, both CAs (the clinic's and the video
    /// server's) in one hospital bundle, and the sandbox's Jitsi as the one allowed video
    /// server.
    pub fn policy(&self, sandbox: &Sandbox, dir: &Path) -> Result<Value> {
        let bundle = dir.join("hospital-ca.pem");
        let mut pem = std::fs::read(&self.ca_pem)?;
        pem.extend(std::fs::read(&sandbox.ca_pem)?);
        std::fs::write(&bundle, pem)?;
        Ok(json!({"mandatory": {
            "clinic": {"servers": [{"url": self.base_url, "site": "default", "display_name": "Stock Clinic"}]},
            "network": {"ca_bundle": bundle},
            "video": {"allowed_domains": [jitsi_domain(sandbox)]},
        }}))
    }
}

/// `host:port` of the sandbox, as a Jitsi domain.
pub fn jitsi_domain(sandbox: &Sandbox) -> String {
    sandbox
        .base_url
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}
