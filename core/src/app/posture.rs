//! The security posture in one place (the app's panel and `rounds-cli doctor`): how the
//! connections to the clinic and the video server are protected right now, how this session
//! was authenticated, where secrets and the schedule are kept, which policy is in force, and
//! whether a visit here can be end-to-end encrypted.
//!
//! Nothing here is secret or PHI: origins, protocol names, which root vouched, times, whether
//! files and keychain items exist, the policy sources' names. The TLS facts come from a fresh
//! handshake with Rounds' own rules ([`crate::net::probe`], no credential sent), because the
//! pooled client does not expose what it negotiated; a probe is what a new connection gets.

use super::{Core, VisitWindowKind};
use crate::net::probe::{self, Posture as Probe};
use crate::net::verify::{PinStatus, TrustedBy};
use crate::net::{NetConfig, Url};
use crate::policy::SourceReport;
use crate::vault::{ItemKind, Vault, VaultStatus};
use crate::video::window::{self, LinuxWindow, WindowChoice};
use serde::Serialize;

/// Everything the panel shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SecurityPosture {
    /// The clinic's server; `None` before one is set up.
    pub clinic: Option<ConnectionPosture>,
    /// The video (Jitsi) server of the last visit opened in this session, else the first
    /// server IT allows by name; `None` when neither is known yet (the clinic names it per
    /// visit).
    pub video: Option<ConnectionPosture>,
    pub session: SessionPosture,
    pub keychain: VaultStatus,
    pub cache: CachePosture,
    /// Every policy source this platform reads, in force or not (`Policy::reports`).
    pub policy_sources: Vec<SourceReport>,
    pub e2ee: E2eePosture,
    /// When this was computed (unix seconds).
    #[specta(type = u32)]
    pub checked_at: i64,
    /// How long it took (handshakes included), in milliseconds.
    pub took_ms: u32,
}

/// Which root vouched for the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum TrustSource {
    /// The hospital CA bundle from IT policy (`network.ca_bundle`).
    HospitalCa,
    /// The operating system's trust store.
    OsStore,
}

/// What the trust rules in force allow (policy `network.ca_bundle` / `network.ca_only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum TrustRules {
    OsStore,
    OsStoreAndHospitalCa,
    HospitalCaOnly,
}

/// Key pinning for one host (`network.spki_pins`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum PinState {
    /// Policy pins this host and a key of the verified chain matched.
    Pinned,
    /// Policy has no pins for this host.
    NotPinned,
    /// Pins exist and none matched: Rounds refuses the server.
    Mismatch,
    /// The handshake did not get that far.
    NotChecked,
}

/// One server as Rounds connects to it.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionPosture {
    /// Origin only (scheme, host, port).
    pub origin: String,
    /// "TLS 1.3" / "TLS 1.2"; `None` when no handshake completed (or through a proxy).
    pub tls_version: Option<String>,
    pub cipher_suite: Option<String>,
    pub trusted_by: Option<TrustSource>,
    /// The certificate verifier that decided, in words ("rustls + webpki, hospital CA").
    pub verifier: Option<String>,
    pub trust_rules: TrustRules,
    pub pin: PinState,
    /// Would Rounds use this server now?
    pub accepted: bool,
    /// Plain words (the probe's verdict).
    pub verdict: String,
}

/// The session's authentication, from non-secret facts only.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionPosture {
    pub signed_in: bool,
    /// When the full sign-in (password + code, or the clinic's page) of this session
    /// happened (unix seconds): renewals do not move it. `None` when not signed in, or signed
    /// in before this version recorded it.
    #[specta(type = Option<u32>)]
    pub mfa_at: Option<i64>,
    /// When the current access token expires (it is renewed while a refresh token lives).
    #[specta(type = Option<u32>)]
    pub until: Option<i64>,
}

/// The schedule cache on this computer.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CachePosture {
    /// `PRAGMA cipher_version` of the SQLite library the cache uses ("4.6.1 community");
    /// `None` means plain SQLite, which would not encrypt.
    pub cipher_version: Option<String>,
    /// The profile's cache file exists.
    pub file_present: bool,
    /// Its first bytes are not SQLite's plaintext header (an encrypted file is random from
    /// byte 0); `None` when there is no file.
    pub file_encrypted: Option<bool>,
    /// Its key is in the keychain (checked without reading it).
    pub key_in_keychain: bool,
}

/// End-to-end encryption of a visit opened here now.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct E2eePosture {
    /// The window a visit would open in.
    pub window: VisitWindowKind,
    /// That window can encrypt end to end (insertable streams / RTCRtpScriptTransform).
    pub available: bool,
    /// Policy `video.e2ee_required`.
    pub required_by_policy: bool,
    /// In words, with what decides it.
    pub detail: String,
}

/// SQLite's plaintext header; a SQLCipher file never starts with it.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

impl Core {
    /// The posture now. `embedded_media`: whether Rounds' own webview carries WebRTC (the
    /// main window tells, as for a visit; the CLI assumes the platform's webview).
    pub async fn security_posture(&self, embedded_media: bool) -> SecurityPosture {
        let t0 = std::time::Instant::now();
        let cfg = self.net_config();
        let clinic_url = self.server_url().and_then(|(base, site)| {
            base.join(&format!("oauth2/{site}/.well-known/openid-configuration"))
                .ok()
        });
        let video_url = self.video_probe_url();
        let (clinic, video) = tokio::join!(
            self.connection(&cfg, clinic_url.as_ref()),
            self.connection(&cfg, video_url.as_ref())
        );
        let session = self.session_posture();
        let keychain = tokio::task::spawn_blocking(Vault::status)
            .await
            .unwrap_or_else(|e| VaultStatus {
                backend: None,
                reachable: false,
                detail: e.to_string(),
            });
        SecurityPosture {
            clinic,
            video,
            session,
            keychain,
            cache: self.cache_posture().await,
            policy_sources: self.policy.reports().to_vec(),
            e2ee: self.e2ee_posture(embedded_media),
            checked_at: crate::vault::items::unix_now(),
            took_ms: u32::try_from(t0.elapsed().as_millis()).unwrap_or(u32::MAX),
        }
    }

    async fn connection(&self, cfg: &NetConfig, url: Option<&Url>) -> Option<ConnectionPosture> {
        let url = url?;
        Some(connection_posture(
            &probe::probe(cfg, &self.net, url).await,
            cfg,
        ))
    }

    /// The last visit's video server, else the first allowed domain that names one host.
    fn video_probe_url(&self) -> Option<Url> {
        if let Some(u) = self.video_origin.lock().ok().and_then(|g| g.clone()) {
            return Some(u);
        }
        let e = self.effective();
        e.video
            .allowed_domains
            .iter()
            .find(|d| !d.contains('*'))
            .and_then(|d| Url::parse(&format!("https://{d}/external_api.js")).ok())
    }

    /// Remembers the video server a visit was opened on (its `external_api.js` URL: the same
    /// thing the visit's own check probed), for the posture panel.
    pub(super) fn note_video_server(&self, url: &Url) {
        if let Ok(mut g) = self.video_origin.lock() {
            *g = Some(url.clone());
        }
    }

    fn session_posture(&self) -> SessionPosture {
        let (signed_in, until) = match self.session_state() {
            Ok(crate::auth::SessionState::SignedIn { until, .. }) => (true, Some(until)),
            _ => (false, None),
        };
        let mfa_at = signed_in
            .then(|| self.account(None).ok())
            .flatten()
            .and_then(|a| self.config.read().ok()?.mfa_at.get(&a.profile).copied());
        SessionPosture {
            signed_in,
            mfa_at,
            until,
        }
    }

    /// Called at every full sign-in (password + code, or the clinic's page) and at sign-out.
    pub(super) fn record_mfa(&self, profile: &str, at: Option<i64>) {
        let r = self.update_config(|c| match at {
            Some(t) => {
                c.mfa_at.insert(profile.to_string(), t);
            }
            None => {
                c.mfa_at.remove(profile);
            }
        });
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not record the sign-in time");
        }
    }

    async fn cache_posture(&self) -> CachePosture {
        let profile = self.account(None).map(|a| a.profile).ok();
        let file = profile
            .as_deref()
            .map(|p| crate::schedule::cache::file_for(&self.env.paths.cache_dir, p));
        let head = file.as_ref().and_then(|f| {
            use std::io::Read as _;
            let mut b = [0u8; 16];
            std::fs::File::open(f)
                .and_then(|mut h| h.read_exact(&mut b))
                .ok()?;
            Some(b)
        });
        let key_in_keychain = match profile {
            Some(p) => tokio::task::spawn_blocking(move || {
                Vault::open()
                    .and_then(|v| v.info(&p, ItemKind::CacheKey))
                    .is_ok_and(|i| i.is_some())
            })
            .await
            .unwrap_or(false),
            None => false,
        };
        CachePosture {
            cipher_version: cipher_version().await,
            file_present: file.as_ref().is_some_and(|f| f.exists()),
            file_encrypted: head.map(|h| &h != SQLITE_HEADER),
            key_in_keychain,
        }
    }

    fn e2ee_posture(&self, embedded_media: bool) -> E2eePosture {
        let v = &self.effective().video;
        let mode = match v.linux_window {
            crate::policy::LinuxWindowMode::AppWindow => LinuxWindow::AppWindow,
            crate::policy::LinuxWindowMode::SystemBrowser => LinuxWindow::SystemBrowser,
        };
        let path = std::env::var_os("PATH");
        let browser = window::find_browser(v.browser_path.as_deref(), path.as_deref());
        let (window, available, detail) = match window::choose(embedded_media, mode, browser) {
            WindowChoice::Embedded => (
                VisitWindowKind::Embedded,
                true,
                "Rounds' own visit window (WebView2 on Windows, WKWebView on macOS) encrypts \
                 the call end to end once you are the host."
                    .to_string(),
            ),
            WindowChoice::AppWindow(b) => (
                VisitWindowKind::AppWindow,
                true,
                format!(
                    "Visits open in a {} app window, which encrypts the call end to end \
                     (insertable streams) once you are the host.",
                    b.file_name()
                        .map_or("Chromium".into(), |n| n.to_string_lossy().into_owned())
                ),
            ),
            WindowChoice::SystemBrowser => (
                VisitWindowKind::SystemBrowser,
                false,
                "Visits open in the default browser; Rounds cannot tell whether it encrypts \
                 end to end."
                    .to_string(),
            ),
        };
        E2eePosture {
            window,
            available,
            required_by_policy: v.e2ee_required,
            detail,
        }
    }
}

fn connection_posture(p: &Probe, cfg: &NetConfig) -> ConnectionPosture {
    let trusted_by = p.trusted_by.map(|t| match t {
        TrustedBy::HospitalCa => TrustSource::HospitalCa,
        TrustedBy::OsStore => TrustSource::OsStore,
    });
    let verifier = trusted_by.map(|t| {
        match t {
            TrustSource::HospitalCa => "rustls + webpki against the hospital CA bundle",
            TrustSource::OsStore => "rustls-platform-verifier (this computer's trust store)",
        }
        .to_string()
    });
    ConnectionPosture {
        origin: p.server.clone(),
        tls_version: p.tls.as_ref().map(|t| tls_words(&t.version)),
        cipher_suite: p.tls.as_ref().map(|t| t.cipher_suite.clone()),
        trusted_by,
        verifier,
        trust_rules: match (&cfg.ca_bundle, cfg.ca_only) {
            (Some(_), true) => TrustRules::HospitalCaOnly,
            (Some(_), false) => TrustRules::OsStoreAndHospitalCa,
            (None, _) => TrustRules::OsStore,
        },
        pin: match &p.pin {
            Some(PinStatus::Matched { .. }) => PinState::Pinned,
            Some(PinStatus::NotPinned) => PinState::NotPinned,
            Some(PinStatus::Mismatch { .. }) => PinState::Mismatch,
            None => PinState::NotChecked,
        },
        accepted: p.accepted,
        verdict: p.verdict.clone(),
    }
}

/// rustls' `TLSv1_3` as people write it.
fn tls_words(v: &str) -> String {
    match v {
        "TLSv1_3" => "TLS 1.3".into(),
        "TLSv1_2" => "TLS 1.2".into(),
        other => other.into(),
    }
}

/// `PRAGMA cipher_version` on a throwaway in-memory database of the same linked library.
async fn cipher_version() -> Option<String> {
    use sqlx::{ConnectOptions as _, Connection as _};
    let opts: sqlx::sqlite::SqliteConnectOptions = "sqlite::memory:".parse().ok()?;
    let mut conn = opts.connect().await.ok()?;
    let v: Option<String> = sqlx::query_scalar("PRAGMA cipher_version")
        .fetch_optional(&mut conn)
        .await
        .ok()
        .flatten();
    let _ = conn.close().await;
    v.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_linked_sqlite_is_sqlcipher() {
        let v = cipher_version()
            .await
            .expect("SQLCipher answers cipher_version");
        assert!(v.starts_with('4'), "{v}");
    }

    #[test]
    fn tls_versions_in_words() {
        assert_eq!(tls_words("TLSv1_3"), "TLS 1.3");
        assert_eq!(tls_words("TLSv1_2"), "TLS 1.2");
    }
}
