//! The one HTTP client of the core: rustls only, TLS 1.2+, verified before anything is sent.
//!
//! - [`check_url_allowed`]: https only; plain http only to a loopback server.
//! - [`verify`]: OS trust store plus the hospital CA (or the hospital CA only), then SPKI pins.
//! - [`limits`]: connect/read/total timeouts, bounded bodies, retries for idempotent requests.
//! - [`credential`]: bearer tokens and secret-bearing forms bound to one origin.
//! - [`classify`]: errors in classes a doctor can act on, the detail kept for the log.
//! - [`probe`]: the posture report of `rounds-cli doctor --server`.
//!
//! Redirects are never followed by reqwest; this module follows a redirect itself only within
//! the same origin (so never https→http) and only for GET.

pub mod classify;
mod client;
pub mod credential;
pub mod host;
pub mod limits;
pub mod probe;
mod tls;
pub mod verify;

use std::net::IpAddr;

pub use url::Url;

pub use client::{JsonReply, NetClient};
pub use credential::{Credential, Form, SecretJson};
pub use limits::{Limits, MAX_BODY_BYTES};
pub(crate) use tls::tls_config;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("`{url}` is not allowed: Rounds only uses https (plain http only to this computer)")]
    InsecureScheme { url: String },
    #[error("`{url}` is not a usable web address: {detail}")]
    BadUrl { url: String, detail: String },
    #[error("certificate of {host} was refused: {detail}")]
    Certificate { host: String, detail: String },
    /// The chain verified but none of its keys is pinned by policy for this host.
    #[error("certificate of {host} does not match the keys pinned by policy: {detail}")]
    PinMismatch { host: String, detail: String },
    /// The server offers only old TLS (1.0/1.1) or unsafe parameters.
    #[error("{host} does not offer a secure connection (TLS 1.2 or newer): {detail}")]
    WeakTls { host: String, detail: String },
    #[error("could not reach {host}: {detail}")]
    Connect { host: String, detail: String },
    #[error("{host} did not answer in time: {detail}")]
    Timeout { host: String, detail: String },
    #[error("{host} answered HTTP {status}")]
    Status { host: String, status: u16 },
    /// A redirect to another origin (or from https to http): not followed.
    #[error("{from} redirected to {to}; Rounds does not follow redirects to another server")]
    Redirect { from: String, to: String },
    /// The caller tried to send a credential to an origin it was not made for.
    #[error("refused to send a credential for {allowed} to {url}")]
    CredentialOrigin { url: String, allowed: String },
    #[error("{host} sent a response larger than {limit} bytes")]
    TooLarge { host: String, limit: usize },
    #[error("{host} sent a response Rounds could not read: {detail}")]
    Decode { host: String, detail: String },
    #[error("could not read the hospital CA bundle {path}: {detail}")]
    CaBundle { path: String, detail: String },
    #[error("could not set up the secure client: {0}")]
    Setup(String),
}

impl NetError {
    /// Refused before or during the handshake: nothing at all was sent to the server.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::InsecureScheme { .. }
                | Self::BadUrl { .. }
                | Self::Certificate { .. }
                | Self::PinMismatch { .. }
                | Self::WeakTls { .. }
                | Self::CredentialOrigin { .. }
        )
    }
}

/// https anywhere; http only when the host is a loopback literal or `localhost`.
pub fn check_url_allowed(url: &Url) -> Result<(), NetError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(NetError::InsecureScheme { url: origin(url) }),
        other => Err(NetError::BadUrl {
            url: origin(url),
            detail: format!("scheme `{other}` is not supported"),
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Scheme, host and port only: safe to log (never a path or query that could carry a token).
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// What IT's policy says about the network; `app` maps the policy into this, so the network
/// module never reads policy itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetConfig {
    /// The hospital's CA bundle (PEM), added to the OS trust store.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Trust only `ca_bundle`, not the OS store ("only the hospital CA").
    pub ca_only: bool,
    /// host (lowercase, no port) → SPKI pins `sha256/<base64>`; a chain matching none is refused.
    pub spki_pins: std::collections::BTreeMap<String, Vec<String>>,
    pub proxy: ProxyConfig,
}

/// Where requests go through.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ProxyConfig {
    /// The system's proxy settings (environment / OS).
    #[default]
    System,
    /// Direct connections only.
    Direct,
    /// This proxy for everything (http:// or https:// URL).
    Url(Url),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn https_everywhere_http_only_on_loopback() {
        assert!(check_url_allowed(&u("https://emr.example.org")).is_ok());
        assert!(check_url_allowed(&u("http://127.0.0.1:8080")).is_ok());
        assert!(check_url_allowed(&u("http://127.8.9.1")).is_ok());
        assert!(check_url_allowed(&u("http://[::1]:9")).is_ok());
        assert!(check_url_allowed(&u("http://localhost:9")).is_ok());
        for bad in [
            "http://emr.example.org",
            "http://10.0.0.5",
            "http://127.0.0.1.evil.example",
            "ftp://emr.example.org",
        ] {
            assert!(check_url_allowed(&u(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn origin_drops_path_and_query() {
        let o = origin(&u("https://emr.example.org:8443/a/b?access_token=xyz#f"));
        assert_eq!(o, "https://emr.example.org:8443");
    }

    #[tokio::test]
    async fn refuses_plain_http_before_connecting() {
        let c = NetClient::new(&NetConfig::default()).expect("client");
        let e = c
            .get_json(&u("http://emr.example.org/x"))
            .await
            .expect_err("must refuse");
        assert!(matches!(e, NetError::InsecureScheme { .. }), "{e:?}");
    }
}
