//! Helpers for the sign-in tests (`tests/auth_*.rs`): a throwaway, unlocked gnome-keyring on a
//! private D-Bus session, an independent view of what is in it (`secret-tool`), the sandbox's
//! current TOTP code, and a test [`Transport`] for the sign-in flow.
//!
//! Keychain isolation: [`keyring_session_or_reexec`] re-runs the test binary under
//! `dbus-run-session -- tests/e2e/session.sh <self>` with HOME and XDG_* in a temp dir, unless it
//! already runs there (`ROUNDS_TEST_KEYRING=1`). The developer's own keyring is never touched,
//! even when a session bus is present.

use std::path::PathBuf;
use std::process::Command;

use rounds_core::auth::transport::{Param, Reply, Transport};
use rounds_core::auth::{Account, Authenticator, SignInOutcome, SignInRequest, SignedIn};
use rounds_core::net::NetError;
use rounds_core::secret::Secret;
use rounds_core::vault::Vault;
use rounds_sandbox::Sandbox;
use url::Url;

pub const PASSWORD: &str = "Sandbox-Clinic-2026!";
const MARK: &str = "ROUNDS_TEST_KEYRING";

/// True inside the private keyring session. Otherwise re-executes this binary there and exits
/// with its status (never returns).
pub fn keyring_session_or_reexec() {
    if std::env::var_os(MARK).is_some_and(|v| v == "1") {
        return;
    }
    let me = std::env::current_exe().expect("test binary path");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../e2e/session.sh");
    let home = crate::temp_dir("keyring-home");
    let runtime = home.join("run");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700));
    }
    let status = Command::new("dbus-run-session")
        .arg("--")
        .arg("sh")
        .arg(&script)
        .arg(&me)
        .args(std::env::args().skip(1))
        .env(MARK, "1")
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .status()
        .expect("dbus-run-session runs (apt install dbus gnome-keyring libsecret-tools)");
    let _ = std::fs::remove_dir_all(&home);
    std::process::exit(status.code().unwrap_or(1));
}

/// The Secret Service of the private session (no keyutils fallback).
pub fn vault() -> Vault {
    let v = Vault::open_secret_service().expect("Secret Service on the private bus");
    v.probe().expect("throwaway keyring is unlocked");
    v
}

/// What `secret-tool` (libsecret, not our code) finds for `service=app.rounds.desktop` and
/// this account: `Some(secret)` or `None`.
pub fn secret_tool_lookup(account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            rounds_core::vault::SERVICE,
            "username",
            account,
        ])
        .output()
        .expect("secret-tool runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
        .filter(|s| !s.is_empty())
}

/// `secret-tool search --all` for every Rounds item: the attribute lines of each item
/// (`attribute.rounds_expires = ...`), secrets left out (`secret = ` lines dropped).
pub fn secret_tool_items() -> Vec<std::collections::BTreeMap<String, String>> {
    // Item headers go to stdout, attributes to stderr: one pipe for both keeps them in order.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "secret-tool search --all service {} 2>&1",
            rounds_core::vault::SERVICE
        ))
        .output()
        .expect("secret-tool runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut items = Vec::new();
    let mut cur = std::collections::BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('[') {
            if !cur.is_empty() {
                items.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(" = ")
            && let Some(k) = k.trim().strip_prefix("attribute.")
        {
            cur.insert(k.to_string(), v.trim().to_string());
        }
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    items
}

/// Accounts (`<profile>/<kind>`) of every Rounds item, per `secret-tool`.
pub fn secret_tool_accounts() -> Vec<String> {
    let mut v: Vec<String> = secret_tool_items()
        .into_iter()
        .filter_map(|m| m.get("username").cloned())
        .collect();
    v.sort();
    v
}

fn control() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("control client")
}

/// The sandbox's current code for `user` (`steps` ahead), from its control API.
pub async fn totp(sb: &Sandbox, user: &str, steps: i64) -> String {
    let v: serde_json::Value = control()
        .get(format!(
            "{}/control/users/{user}/totp?steps={steps}",
            sb.ready.control_url
        ))
        .send()
        .await
        .expect("control")
        .json()
        .await
        .expect("control json");
    v["code"].as_str().expect("code").to_string()
}

/// A code for `user` that the server refuses (the current code with its last digit changed).
pub async fn wrong_totp(sb: &Sandbox, user: &str) -> String {
    let good: Vec<String> = [
        totp(sb, user, -1).await,
        totp(sb, user, 0).await,
        totp(sb, user, 1).await,
    ]
    .into();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !good.contains(c))
        .expect("a wrong code")
}

/// POSTs JSON to the control API.
pub async fn control_post(sb: &Sandbox, path: &str, body: serde_json::Value) {
    crate::control(sb, "POST", path, body).await;
}

/// Every request the sandbox recorded on the clinic listener: (method, path, status).
pub fn clinic_requests(sb: &Sandbox) -> Vec<(String, String, u16)> {
    sb.state
        .requests
        .lock()
        .expect("request log")
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect()
}

/// A profile on the sandbox.
pub fn account(sb: &Sandbox, profile: &str, user: &str) -> Account {
    Account {
        profile: profile.into(),
        server: Url::parse(&sb.ready.base_url).expect("base url"),
        site: sb.ready.site.clone(),
        username: user.into(),
    }
}

pub fn request(user: &str, password: &str, code: &str) -> SignInRequest {
    SignInRequest {
        username: user.into(),
        password: Secret::new(password.into()),
        totp: Secret::new(code.into()),
    }
}

/// Signs `user` in with the right password and the current code.
pub async fn sign_in(
    auth: &Authenticator<'_, TestTransport>,
    sb: &Sandbox,
    acct: &Account,
) -> SignedIn {
    let code = totp(sb, &acct.username, 0).await;
    match auth
        .sign_in(acct, request(&acct.username, PASSWORD, &code))
        .await
        .expect("sign in")
    {
        SignInOutcome::SignedIn(s) => s,
        SignInOutcome::NeedsEnrollment(_) => panic!("unexpected enrollment"),
    }
}

// ---------------------------------------------------------------------------------------------

/// The sign-in flow's [`Transport`] for the tests: the core's own `NetClient` with the sandbox
/// CA as the hospital CA (policy `network.ca_bundle`), exactly as the app builds it.
pub struct TestTransport {
    net: rounds_core::net::NetClient,
}

impl TestTransport {
    pub fn new(sb: &Sandbox) -> Self {
        Self {
            net: rounds_core::net::NetClient::new(&crate::hospital(&sb.ready.ca_pem))
                .expect("net client"),
        }
    }

    /// The same for another clinic (the stock clinic of tests/interop): its CA as the hospital CA.
    pub fn with_ca(ca_pem: &std::path::Path) -> Self {
        Self {
            net: rounds_core::net::NetClient::new(&crate::hospital(&ca_pem.to_string_lossy()))
                .expect("net client"),
        }
    }
}

impl Transport for TestTransport {
    async fn get_json(&self, url: &Url, bearer: Option<Secret>) -> Result<Reply, NetError> {
        Transport::get_json(&self.net, url, bearer).await
    }

    async fn post_form(
        &self,
        url: &Url,
        fields: Vec<(&'static str, Param)>,
    ) -> Result<Reply, NetError> {
        Transport::post_form(&self.net, url, fields).await
    }

    async fn post_json(
        &self,
        url: &Url,
        body: &serde_json::Value,
        bearer: Option<Secret>,
    ) -> Result<Reply, NetError> {
        Transport::post_json(&self.net, url, body, bearer).await
    }
}

// ---------------------------------------------------------------------------------------------
// A small sequential runner for `harness = false` test binaries: the keyring must be set up
// (re-exec) before any test runs, and keychain cases are run one after another.

/// One test case: a name and an async body.
pub type Case = (
    &'static str,
    fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
);

/// `case!(name)` makes a [`Case`] from `async fn name()`.
#[macro_export]
macro_rules! case {
    ($f:ident) => {
        (stringify!($f), || Box::pin($f()) as _)
    };
}

/// Runs the cases whose name contains the first free argument (like libtest's filter), each on
/// a fresh runtime, and exits 0 only if all passed.
pub fn run(cases: &[Case]) -> ! {
    keyring_session_or_reexec();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if std::env::args().any(|a| a == "--list") {
        for (name, _) in cases {
            println!("{name}: test");
        }
        std::process::exit(0);
    }
    let mut failed = Vec::new();
    let mut n = 0;
    for (name, f) in cases {
        if filter.as_deref().is_some_and(|x| !name.contains(x)) {
            continue;
        }
        n += 1;
        let t0 = std::time::Instant::now();
        let r = std::panic::catch_unwind(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f())
        });
        let ms = t0.elapsed().as_millis();
        match r {
            Ok(()) => println!("test {name} ... ok ({ms} ms)"),
            Err(_) => {
                println!("test {name} ... FAILED ({ms} ms)");
                failed.push(*name);
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        n - failed.len(),
        failed.len()
    );
    for f in &failed {
        println!("    {f}");
    }
    std::process::exit(i32::from(!failed.is_empty()));
}

// ---------------------------------------------------------------------------------------------
// An authenticator app, for the enrollment test: RFC 6238 (HMAC-SHA1, 6 digits, 30 s) from the
// base32 secret the app was shown, written here from the RFC (not shared with the sandbox).

/// RFC 4648 base32 (no padding needed), as authenticator apps accept it.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | u64::from(v);
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(out)
}

/// The TOTP code of `secret` at unix time `t`.
pub fn totp_at(secret: &[u8], t: i64) -> String {
    let counter = (t.div_euclid(30) as u64).to_be_bytes();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = aws_lc_rs::hmac::sign(&key, &counter);
    let h = mac.as_ref();
    let off = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// The sandbox's clock (it may be shifted by the control API), unix seconds.
pub async fn sandbox_now(sb: &Sandbox) -> i64 {
    let v: serde_json::Value = control()
        .get(format!("{}/control/time", sb.ready.control_url))
        .send()
        .await
        .expect("control")
        .json()
        .await
        .expect("json");
    rounds_core::vault::items::unix_now() + v["offset_seconds"].as_i64().unwrap_or(0)
}

/// RFC 4648 base32 without padding (to look for a TOTP secret in stored values).
pub fn base32_encode_for_test(data: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut bits, mut n) = (0u32, 0);
    for &b in data {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 5 {
            n -= 5;
            out.push(char::from(A[((bits >> n) & 31) as usize]));
        }
        bits &= (1 << n) - 1;
    }
    if n > 0 {
        out.push(char::from(A[((bits << (5 - n)) & 31) as usize]));
    }
    out
}

/// A core as the app has it: one clinic profile for drsmith on `server`/`site` and IT's policy
/// from a file, under a fresh folder (returned, for tests that look at the files).
pub fn core_with_policy(
    tag: &str,
    server: &str,
    site: &str,
    policy: serde_json::Value,
) -> (rounds_core::Core, std::path::PathBuf) {
    use rounds_core::config::{Profile, UserConfig};
    let root = crate::temp_dir(tag);
    let paths = rounds_core::paths::Paths::under(&root);
    let file = root.join("policy.json");
    std::fs::write(&file, policy.to_string()).expect("policy");
    UserConfig {
        profiles: vec![Profile {
            id: "clinic".into(),
            display_name: "Sandbox".into(),
            server_url: url::Url::parse(server).expect("url"),
            site: site.into(),
            username: Some("drsmith".into()),
        }],
        active_profile: Some("clinic".into()),
        ..UserConfig::default()
    }
    .save(&paths.config_file())
    .expect("config");
    let core = rounds_core::Core::load(rounds_core::app::Environment {
        paths,
        policy_override: Some(file),
    })
    .expect("core");
    (core, root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last 6 digits.
        let seed = b"12345678901234567890";
        assert_eq!(totp_at(seed, 59), "287082");
        assert_eq!(totp_at(seed, 1_111_111_109), "081804");
        assert_eq!(totp_at(seed, 2_000_000_000), "279037");
        assert_eq!(
            base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").as_deref(),
            Some(&seed[..])
        );
    }
}
