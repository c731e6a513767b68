//! Shared test harness: starts a sandbox in-process (real TLS on loopback) and gives a
//! reqwest client that trusts only the sandbox CA.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::{Client, Response, StatusCode};
use rounds_sandbox::{Options, Sandbox, Seed};
use serde_json::{Value, json};

pub const PASSWORD: &str = rounds_sandbox::seed::DEMO_PASSWORD;
pub const CLIENT_ID: &str = rounds_sandbox::seed::DEMO_CLIENT_ID;
pub const CLIENT_SECRET: &str = rounds_sandbox::seed::DEMO_CLIENT_SECRET;
pub const SCOPE: &str =
    "openid offline_access fhirUser api:fhir user/Appointment.read user/Patient.read";
pub const MFA_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

/// Path of the shared reference data (never copied into the repo).
pub fn shared_data(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(rel)
}

static N: AtomicU32 = AtomicU32::new(0);

pub struct T {
    pub sb: Sandbox,
    pub http: Client,
    pub base: String,
    pub control: String,
}

pub fn state_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "rounds-sandbox-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

pub fn client_for(ca_pem: &str) -> Client {
    Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM")])
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client")
}

pub async fn start_with(seed: Seed, appointments: usize) -> T {
    let mut o = Options::new(state_dir());
    o.seed = seed;
    o.appointments = appointments;
    let sb = rounds_sandbox::start(o).await.expect("sandbox starts");
    let http = client_for(&sb.state.ca.pem);
    T {
        base: sb.ready.base_url.clone(),
        control: sb.ready.control_url.clone(),
        sb,
        http,
    }
}

pub async fn start() -> T {
    start_with(Seed::Demo, 0).await
}

pub async fn body(r: Response) -> (StatusCode, Value) {
    let s = r.status();
    let text = r.text().await.expect("body");
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl T {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        body(r.send().await.expect("request")).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        v: &Value,
    ) -> (StatusCode, Value) {
        let mut r = self.http.post(self.url(path)).json(v);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        body(r.send().await.expect("request")).await
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut f: Vec<(&str, &str)> =
            vec![("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
        f.extend_from_slice(form);
        body(
            self.http
                .post(self.url("/oauth2/default/token"))
                .form(&f)
                .send()
                .await
                .expect("token call"),
        )
        .await
    }

    pub async fn ctl_get(&self, path: &str) -> Value {
        body(
            self.http
                .get(format!("{}{path}", self.control))
                .send()
                .await
                .expect("control"),
        )
        .await
        .1
    }

    pub async fn ctl_post(&self, path: &str, v: &Value) -> (StatusCode, Value) {
        body(
            self.http
                .post(format!("{}{path}", self.control))
                .json(v)
                .send()
                .await
                .expect("control"),
        )
        .await
    }

    pub async fn code(&self, user: &str) -> String {
        self.ctl_get(&format!("/control/users/{user}/totp")).await["code"]
            .as_str()
            .expect("code")
            .to_string()
    }

    /// Password grant; returns the 403 body (mfa_token ...) or the tokens.
    pub async fn password_grant(&self, user: &str, password: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "password"),
            ("user_role", "users"),
            ("username", user),
            ("password", password),
            ("scope", SCOPE),
        ])
        .await
    }

    /// Full sign-in of an enrolled or MFA-free user; returns the token response.
    pub async fn login(&self, user: &str) -> Value {
        let (s, v) = self.password_grant(user, PASSWORD).await;
        if s == StatusCode::OK {
            return v;
        }
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let mfa = v["mfa_token"].as_str().expect("mfa_token").to_string();
        // A fresh 30 s step, so an earlier login's code is never a replay.
        self.advance(30).await;
        let code = self.code(user).await;
        let (s, v) = self
            .token(&[
                ("grant_type", MFA_GRANT),
                ("mfa_token", &mfa),
                ("otp", &code),
            ])
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    pub async fn access_token(&self, user: &str) -> String {
        self.login(user).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// Moves the sandbox clock (e.g. 31 s so a fresh TOTP step begins).
    pub async fn advance(&self, secs: i64) {
        self.ctl_post("/control/time", &json!({"advance_seconds": secs}))
            .await;
    }
}
