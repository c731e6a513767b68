//! Shared by the schedule tests and the sync benchmark: a sandbox clinic with N appointments, a
//! real bearer token from its token endpoint (password grant, demo client, `drnomfa` who has no
//! MFA), and a `Syncer` over the core's real `NetClient` into a SQLCipher cache.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub use rounds_clinic_tests::{TokenEndpoint, control};
use rounds_clinic_tests::{hospital, temp_dir};
use rounds_core::auth::AuthError;
use rounds_core::net::{NetClient, Url};
use rounds_core::schedule::{
    BoxFuture, Cache, FhirSource, MemoryKeyStore, NetSource, ScheduleError, SyncOptions, Syncer,
    TokenSource, fhir_base,
};
use rounds_core::secret::Secret;
use rounds_sandbox::{Options, Sandbox, Seed};
use serde_json::{Value, json};

pub const PROFILE: &str = "clinic-test";
/// The demo user without MFA: one password-grant request gives a token.
pub const NO_MFA_USER: &str = "drnomfa";

/// The sandbox with the demo seed plus `n` generated appointments.
pub async fn clinic(n: usize) -> Sandbox {
    let mut o = Options::new(temp_dir("sched-sandbox"));
    o.seed = Seed::Demo;
    o.appointments = n;
    rounds_sandbox::start(o).await.expect("sandbox starts")
}

/// Tokens from the password grant; `renew` asks for a new one and counts.
pub struct SandboxTokens {
    endpoint: TokenEndpoint,
    current: std::sync::Mutex<String>,
    pub renewals: AtomicU32,
}

impl SandboxTokens {
    pub async fn new(sb: &Sandbox) -> Arc<Self> {
        let endpoint = TokenEndpoint::of(sb);
        Arc::new(Self {
            current: std::sync::Mutex::new(endpoint.token_for(NO_MFA_USER).await.expect("token")),
            endpoint,
            renewals: AtomicU32::new(0),
        })
    }
}

impl TokenSource for SandboxTokens {
    fn token(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        Box::pin(async move {
            let t = self
                .current
                .lock()
                .map_err(|_| AuthError::SessionExpired)?
                .clone();
            Ok(Secret::new(t))
        })
    }

    fn renew(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        Box::pin(async move {
            self.renewals.fetch_add(1, Ordering::SeqCst);
            let t = self
                .endpoint
                .token_for(NO_MFA_USER)
                .await
                .map_err(|_| AuthError::SessionExpired)?;
            *self.current.lock().map_err(|_| AuthError::SessionExpired)? = t.clone();
            Ok(Secret::new(t))
        })
    }
}

pub fn net(sb: &Sandbox) -> NetClient {
    NetClient::new(&hospital(&sb.ready.ca_pem)).expect("net client")
}

pub fn base(sb: &Sandbox) -> Url {
    fhir_base(
        &Url::parse(&sb.ready.base_url).expect("url"),
        &sb.ready.site,
    )
    .expect("fhir base")
}

pub async fn source(sb: &Sandbox) -> (Arc<dyn FhirSource>, Arc<SandboxTokens>) {
    let tokens = SandboxTokens::new(sb).await;
    let server = Url::parse(&sb.ready.base_url).expect("url");
    (
        Arc::new(NetSource::new(net(sb), server, tokens.clone())),
        tokens,
    )
}

pub async fn open_cache(dir: &Path, keys: &MemoryKeyStore) -> Cache {
    Cache::open(dir, PROFILE, keys)
        .await
        .expect("cache opens")
        .0
}

pub async fn syncer_with(sb: &Sandbox, cache: Cache, source: Arc<dyn FhirSource>) -> Syncer {
    Syncer::new(cache, source, base(sb), SyncOptions::default())
}

pub async fn fault(sb: &Sandbox, rule: Value) {
    control(sb, "POST", "/control/faults", rule).await;
}

pub async fn clear_faults(sb: &Sandbox) {
    control(sb, "DELETE", "/control/faults", json!({})).await;
}

/// Appointment ids the sandbox has inside the default window (what a complete cache holds).
pub fn sandbox_ids(sb: &Sandbox) -> Vec<String> {
    let store = sb.state.store.read().expect("store");
    let mut v: Vec<String> = store.iter().map(|a| a.id.clone()).collect();
    v.sort();
    v
}

/// Every cached appointment as (id, start, status), sorted: "the same rows".
pub async fn cached_rows(cache: &Cache) -> Vec<(String, i64, String)> {
    let visits = cache
        .day(i64::MIN / 2, i64::MAX / 2, None)
        .await
        .expect("day query");
    let mut v: Vec<(String, i64, String)> = visits
        .into_iter()
        .map(|v| (v.id, v.start, v.status.as_str().to_string()))
        .collect();
    v.sort();
    v
}

/// The user id of a demo clinician (its FHIR uuid).
pub async fn uuid_of(sb: &Sandbox, user: &str) -> String {
    let v = control(sb, "GET", "/control/users", json!({})).await;
    v["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == user)
        .and_then(|u| u["uuid"].as_str())
        .expect("user uuid")
        .to_string()
}

pub fn request_paths(sb: &Sandbox) -> Vec<String> {
    sb.state
        .requests
        .lock()
        .expect("requests")
        .iter()
        .map(|r| r.path.clone())
        .collect()
}

pub fn is_err<T: std::fmt::Debug>(r: Result<T, ScheduleError>) -> ScheduleError {
    r.expect_err("must fail")
}

/// Injects a sandbox fault right before the `at`-th Appointment page request (1-based) of
/// this source, so a run fails at a chosen page through the real network path.
pub struct FaultAt {
    inner: Arc<dyn FhirSource>,
    control_url: String,
    at: usize,
    rule: Value,
    calls: std::sync::atomic::AtomicUsize,
}

impl FaultAt {
    pub fn new(sb: &Sandbox, inner: Arc<dyn FhirSource>, at: usize, rule: Value) -> Arc<Self> {
        Arc::new(Self {
            inner,
            control_url: sb.ready.control_url.clone(),
            at,
            rule,
            calls: Default::default(),
        })
    }
}

impl FhirSource for FaultAt {
    fn get<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Vec<u8>, ScheduleError>> {
        Box::pin(async move {
            if url.path().ends_with("/Appointment") {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                if n == self.at {
                    let mut rule = self.rule.clone();
                    rule["path"] = json!("/apis/default/fhir/Appointment");
                    reqwest::Client::builder()
                        .no_proxy()
                        .build()
                        .expect("control")
                        .post(format!("{}/control/faults", self.control_url))
                        .json(&rule)
                        .send()
                        .await
                        .expect("fault set");
                }
            }
            self.inner.get(url).await
        })
    }
}
