//! Shared server state. Everything lives in memory behind short-held std mutexes (no lock is
//! held across an `.await`), so pages are served from memory and a restart is a clean slate.
//!
//! Layering: this module imports only data leaves (`oauth::store`, `faults::rules`,
//! `jitsi::rooms`, `store`, `users`, `tls`), and none of them imports `AppState`; handlers
//! import `AppState`, never the other way, so there is no import circle. The test below keeps
//! it so.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, RwLock};

use serde::Serialize;
use time::OffsetDateTime;

use crate::faults::rules::Faults;
use crate::jitsi::rooms::Rooms;
use crate::oauth::store::OAuthStore;
use crate::store::Store;
use crate::tls::TestCa;
use crate::users::Users;

/// Server clock = system time + an offset the control API can shift (tests of expiry, TOTP
/// windows, join windows without sleeping).
#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// Current sandbox time.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }
    /// Seconds the clock is ahead of real time.
    pub fn offset(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }
    /// Sets the offset (seconds, may be negative).
    pub fn set_offset(&self, secs: i64) {
        self.offset_secs.store(secs, Ordering::Relaxed);
    }
}

/// Switches the control API can flip.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Config {
    /// OpenEMR's "Enable OAuth2 Password Grant"; on in the sandbox (D7).
    pub password_grant_enabled: bool,
    /// The MFA step of the password grant (D1). Off = stock OpenEMR: discovery does not list
    /// the MFA-OTP grant and the password grant issues tokens on the password alone, so a
    /// client that insists on MFA must use the browser flow (§1.4–1.5).
    pub mfa_grant_enabled: bool,
    /// Whether newly registered clients are enabled at once (D7); OpenEMR may leave them off.
    pub auto_enable_clients: bool,
    /// How long 5 wrong OTP codes lock an account, seconds.
    pub otp_lock_seconds: i64,
    /// Access-token lifetime, seconds (OpenEMR: 3600).
    pub access_token_seconds: i64,
    /// Stock Jitsi without token authentication (its default install): a room opens to anyone
    /// with its link and no JWT; the first one in becomes moderator. A JWT, when one comes,
    /// is still checked.
    #[serde(default)]
    pub jitsi_open_rooms: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            password_grant_enabled: true,
            mfa_grant_enabled: true,
            auto_enable_clients: true,
            otp_lock_seconds: 900,
            access_token_seconds: 3600,
            jitsi_open_rooms: false,
        }
    }
}

/// One request as the control API reports it: enough to assert that no credential arrived.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub seq: u64,
    pub at: String,
    pub listener: String,
    pub conn: u64,
    pub method: String,
    pub path: String,
    pub has_query: bool,
    pub has_authorization: bool,
    pub has_password: bool,
    pub has_otp: bool,
    pub has_client_secret: bool,
    pub has_token: bool,
    pub body_bytes: usize,
    pub status: u16,
    pub fault: Option<String>,
}

/// Connection-level events (accept, TLS success/failure) per listener.
#[derive(Debug, Clone, Serialize)]
pub struct ConnEvent {
    pub listener: String,
    pub conn: u64,
    pub event: String,
    pub detail: Option<String>,
    pub at: String,
}

impl ConnEvent {
    /// New event stamped with real time.
    pub fn new(listener: &str, conn: u64, event: &str, detail: Option<String>) -> Self {
        Self {
            listener: listener.into(),
            conn,
            event: event.into(),
            detail,
            at: crate::util::rfc3339_z(OffsetDateTime::now_utc()),
        }
    }
}

/// Key material minted at start.
pub struct Keys {
    /// Jitsi `app_secret` (HS256).
    pub jitsi_secret: Vec<u8>,
    /// Key for deriving room names from appointment ids.
    pub room_key: Vec<u8>,
    /// ES256 key for id_tokens (JWKS at `/oauth2/{site}/jwk`).
    pub id_token_key: aws_lc_rs::signature::EcdsaKeyPair,
    /// `kid` of that key.
    pub kid: String,
}

/// Everything the handlers share.
pub struct AppState {
    pub site: String,
    /// `https://127.0.0.1:PORT`, known once the main listener is bound.
    pub base_url: String,
    pub state_dir: std::path::PathBuf,
    pub clock: Clock,
    pub config: Mutex<Config>,
    pub keys: Keys,
    pub ca: TestCa,
    pub users: Mutex<Users>,
    pub oauth: Mutex<OAuthStore>,
    pub store: RwLock<Store>,
    pub faults: Mutex<Faults>,
    pub rooms: Mutex<Rooms>,
    pub requests: Mutex<Vec<RequestRecord>>,
    pub conns: Mutex<Vec<ConnEvent>>,
    /// Child processes (openssl s_server listeners) to kill on shutdown.
    pub children: Mutex<Vec<tokio::process::Child>>,
}

impl AppState {
    /// Current sandbox time.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Appends a connection event (bounded, oldest dropped).
    pub fn log_conn(&self, ev: ConnEvent) {
        let mut c = self.conns.lock().expect("conn log lock");
        if c.len() >= 10_000 {
            c.drain(..1000);
        }
        c.push(ev);
    }

    /// `{base}/apis/{site}/fhir`.
    pub fn fhir_base(&self) -> String {
        format!("{}/apis/{}/fhir", self.base_url, self.site)
    }

    /// `{base}/oauth2/{site}`.
    pub fn oauth_base(&self) -> String {
        format!("{}/oauth2/{}", self.base_url, self.site)
    }

    /// Snapshot of the config.
    pub fn config(&self) -> Config {
        self.config.lock().expect("config lock").clone()
    }

    /// The Jitsi "domain" (host:port, no scheme) served by this sandbox.
    pub fn jitsi_domain(&self) -> String {
        self.base_url.trim_start_matches("https://").to_string()
    }
}

impl AppState {
    /// Kills child processes (openssl listeners) before exit.
    pub async fn shutdown(&self) {
        let children: Vec<tokio::process::Child> =
            std::mem::take(&mut *self.children.lock().expect("children lock"));
        for mut c in children {
            let _ = c.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    /// The leaves `AppState` holds may use only these modules (none of which import `state`).
    const LEAF_DEPS: &[&str] = &["util", "totp"];

    #[test]
    fn the_data_leaves_do_not_import_the_state_or_handlers() {
        let leaves = [
            ("oauth/store.rs", include_str!("oauth/store.rs")),
            ("faults/rules.rs", include_str!("faults/rules.rs")),
            ("jitsi/rooms.rs", include_str!("jitsi/rooms.rs")),
            ("store.rs", include_str!("store.rs")),
            ("users.rs", include_str!("users.rs")),
            ("tls.rs", include_str!("tls.rs")),
        ];
        for (name, src) in leaves {
            let code = src.lines().filter(|l| !l.trim_start().starts_with("//"));
            for line in code {
                for (i, _) in line.match_indices("crate::") {
                    let dep: String = line[i + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        LEAF_DEPS.contains(&dep.as_str()),
                        "{name} uses crate::{dep}: a leaf AppState holds must not import handlers or the state"
                    );
                }
            }
        }
    }
}
