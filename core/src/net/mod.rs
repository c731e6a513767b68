//! The one HTTP client of the core: rustls only, TLS 1.2+, verified before anything is sent.
//!
//! This is the skeleton of the network module: URL rules (https only; plain http only to a
//! loopback server), the hospital CA from policy added to the OS trust store, timeouts, bounded
//! bodies and no redirects. Pins, proxy rules and retries arrive with the network issue.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;
use url::Url;

/// Largest JSON body the core accepts: a stalling or flooding server cannot exhaust memory.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("`{url}` is not allowed: Rounds only uses https (plain http only to this computer)")]
    InsecureScheme { url: String },
    #[error("`{url}` is not a usable web address: {detail}")]
    BadUrl { url: String, detail: String },
    #[error("certificate of {host} was refused: {detail}")]
    Certificate { host: String, detail: String },
    #[error("could not reach {host}: {detail}")]
    Connect { host: String, detail: String },
    #[error("{host} did not answer in time")]
    Timeout { host: String },
    #[error("{host} answered HTTP {status}")]
    Status { host: String, status: u16 },
    #[error("{host} sent a response larger than {limit} bytes")]
    TooLarge { host: String, limit: usize },
    #[error("{host} sent a response Rounds could not read: {detail}")]
    Decode { host: String, detail: String },
    #[error("could not read the hospital CA bundle {path}: {detail}")]
    CaBundle { path: String, detail: String },
    #[error("could not set up the secure client: {0}")]
    Setup(String),
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

/// The shared client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct NetClient {
    http: reqwest::Client,
}

impl NetClient {
    pub fn new(trust: &NetConfig) -> Result<Self, NetError> {
        let mut b = reqwest::Client::builder()
            .tls_backend_rustls()
            .tls_version_min(reqwest::tls::Version::TLS_1_2)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("Rounds/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &trust.ca_bundle {
            b = b.tls_certs_merge(load_ca_bundle(path)?);
        }
        let http = b.build().map_err(|e| NetError::Setup(e.to_string()))?;
        Ok(Self { http })
    }

    /// GET a JSON document without credentials; the body is bounded by [`MAX_BODY_BYTES`].
    pub async fn get_json(&self, url: &Url) -> Result<serde_json::Value, NetError> {
        check_url_allowed(url)?;
        let host = origin(url);
        let mut resp = self
            .http
            .get(url.clone())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| classify(&host, &e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(NetError::Status {
                host,
                status: status.as_u16(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&host, &e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(NetError::TooLarge {
                    host,
                    limit: MAX_BODY_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| NetError::Decode {
            host,
            detail: e.to_string(),
        })
    }
}

fn load_ca_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, NetError> {
    let err = |detail: String| NetError::CaBundle {
        path: path.display().to_string(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificates in the file".into()));
    }
    Ok(certs)
}

/// Turns reqwest's error into the doctor-readable classes; the detail is for the log.
fn classify(host: &str, e: &reqwest::Error) -> NetError {
    let detail = chain(e);
    if e.is_timeout() {
        return NetError::Timeout { host: host.into() };
    }
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate")
        || lower.contains("unknownissuer")
        || lower.contains("notvalidforname")
    {
        return NetError::Certificate {
            host: host.into(),
            detail,
        };
    }
    NetError::Connect {
        host: host.into(),
        detail,
    }
}

/// The error and its causes on one line, including rustls errors wrapped inside `io::Error`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            parts.push(format!("{inner:?}"));
        }
        parts.push(c.to_string());
        cur = c.source();
    }
    parts.dedup();
    parts.join(": ")
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
