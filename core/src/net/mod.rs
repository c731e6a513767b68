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
pub mod credential;
pub mod host;
pub mod limits;
pub mod probe;
pub mod verify;

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
pub use url::Url;

use classify::classify;
pub use credential::{Credential, Form, SecretJson};
pub use limits::{Limits, MAX_BODY_BYTES};
use verify::PolicyVerifier;

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

/// The shared client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct NetClient {
    http: reqwest::Client,
    limits: Limits,
}

impl std::fmt::Debug for NetClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetClient")
            .field("limits", &self.limits)
            .finish()
    }
}

/// rustls configuration for a policy: TLS 1.3 + 1.2 only, aws-lc-rs' (all AEAD) suites, our
/// verifier. `observer` records the verification (doctor only).
pub(crate) fn tls_config(
    cfg: &NetConfig,
    observer: Option<Arc<Mutex<Option<verify::Verification>>>>,
) -> Result<rustls::ClientConfig, NetError> {
    let roots = match &cfg.ca_bundle {
        Some(path) => load_ca_bundle(path)?,
        None => Vec::new(),
    };
    if cfg.ca_only && roots.is_empty() {
        return Err(NetError::CaBundle {
            path: "(none)".into(),
            detail: "policy trusts only the hospital CA but names no CA bundle".into(),
        });
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut verifier =
        PolicyVerifier::new(provider.clone(), roots, !cfg.ca_only, cfg.spki_pins.clone())
            .map_err(NetError::Setup)?;
    if let Some(o) = observer {
        verifier = verifier.observed(o);
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| NetError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(tls)
}

fn load_ca_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let err = |detail: String| NetError::CaBundle {
        path: path.display().to_string(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificates in the file".into()));
    }
    Ok(certs)
}

/// The proxy part of the builder; the same TLS verifier runs end to end through a CONNECT.
fn with_proxy(
    b: reqwest::ClientBuilder,
    proxy: &ProxyConfig,
) -> Result<reqwest::ClientBuilder, NetError> {
    Ok(match proxy {
        // reqwest reads HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY.
        ProxyConfig::System => b,
        ProxyConfig::Direct => b.no_proxy(),
        ProxyConfig::Url(u) => {
            if !matches!(u.scheme(), "http" | "https") {
                return Err(NetError::BadUrl {
                    url: origin(u),
                    detail: "a proxy must be an http:// or https:// address".into(),
                });
            }
            b.proxy(reqwest::Proxy::all(u.as_str()).map_err(|e| NetError::Setup(e.to_string()))?)
        }
    })
}

enum Body<'a> {
    None,
    Form(&'a Form),
    Json(&'a serde_json::Value),
    SecretJson(&'a SecretJson),
}

/// An answer whose status the caller decides about (the token endpoint's errors carry what
/// sign-in needs: `mfa_required` + `mfa_token`, `invalid_grant` + `reason`). The body is
/// bounded like every other; `Value::Null` when it is not JSON.
#[derive(Debug)]
pub struct JsonReply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl NetClient {
    pub fn new(cfg: &NetConfig) -> Result<Self, NetError> {
        Self::with_limits(cfg, Limits::default())
    }

    pub fn with_limits(cfg: &NetConfig, limits: Limits) -> Result<Self, NetError> {
        let mut tls = tls_config(cfg, None)?;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let b = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .connect_timeout(limits.connect)
            .read_timeout(limits.read)
            .timeout(limits.total)
            .tls_info(true)
            .user_agent(concat!("Rounds/", env!("CARGO_PKG_VERSION")));
        let http = with_proxy(b, &cfg.proxy)?
            .build()
            .map_err(|e| NetError::Setup(classify::chain(&e)))?;
        Ok(Self { http, limits })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// GET a JSON document without credentials.
    pub async fn get_json(&self, url: &Url) -> Result<serde_json::Value, NetError> {
        self.get_json_with(url, None).await
    }

    /// GET a JSON document, with a bearer credential when given. The credential is attached
    /// only if `url` has exactly the credential's origin; otherwise nothing is sent.
    pub async fn get_json_with(
        &self,
        url: &Url,
        cred: Option<&Credential>,
    ) -> Result<serde_json::Value, NetError> {
        let body = self
            .send(reqwest::Method::GET, url, Body::None, cred)
            .await?;
        decode(url, &body)
    }

    /// GET raw bytes (bounded), e.g. for the benchmark or non-JSON documents.
    pub async fn get_bytes_with(
        &self,
        url: &Url,
        cred: Option<&Credential>,
    ) -> Result<Vec<u8>, NetError> {
        self.send(reqwest::Method::GET, url, Body::None, cred).await
    }

    /// POST a form (the token endpoint: password, OTP, refresh token). Never retried, never
    /// redirected; refused before connecting if the form was made for another origin.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &Form,
        cred: Option<&Credential>,
    ) -> Result<serde_json::Value, NetError> {
        let body = self
            .send(reqwest::Method::POST, url, Body::Form(form), cred)
            .await?;
        decode(url, &body)
    }

    /// POST a form and return the answer whatever its status (4xx bodies included). Same
    /// rules as [`Self::post_form`]: never retried, never redirected, origin-bound secrets.
    pub async fn post_form_reply(
        &self,
        url: &Url,
        form: &Form,
        cred: Option<&Credential>,
    ) -> Result<JsonReply, NetError> {
        let (status, body) = self
            .send_any(reqwest::Method::POST, url, Body::Form(form), cred, true)
            .await?;
        Ok(reply(status, &body))
    }

    /// POST a JSON document (registration, MFA enrollment) and return the answer whatever its
    /// status. Never retried, never redirected; the credential only to its own origin.
    pub async fn post_json_reply(
        &self,
        url: &Url,
        json: &serde_json::Value,
        cred: Option<&Credential>,
    ) -> Result<JsonReply, NetError> {
        let (status, body) = self
            .send_any(reqwest::Method::POST, url, Body::Json(json), cred, true)
            .await?;
        Ok(reply(status, &body))
    }

    /// POST a JSON object carrying secrets (the password change) and return the answer
    /// whatever its status. Like [`Self::post_form_reply`]: never retried, never redirected,
    /// refused before connecting if the body was made for another origin.
    pub async fn post_secret_json_reply(
        &self,
        url: &Url,
        json: &SecretJson,
        cred: Option<&Credential>,
    ) -> Result<JsonReply, NetError> {
        let (status, body) = self
            .send_any(
                reqwest::Method::POST,
                url,
                Body::SecretJson(json),
                cred,
                true,
            )
            .await?;
        Ok(reply(status, &body))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Body<'_>,
        cred: Option<&Credential>,
    ) -> Result<Vec<u8>, NetError> {
        self.send_any(method, url, body, cred, false)
            .await
            .map(|(_, body)| body)
    }

    /// `error_bodies`: a non-2xx answer is returned with its (bounded) body; else it is
    /// `NetError::Status` and its body is not read.
    async fn send_any(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Body<'_>,
        cred: Option<&Credential>,
        error_bodies: bool,
    ) -> Result<(u16, Vec<u8>), NetError> {
        let idempotent = method == reqwest::Method::GET;
        let mut url = url.clone();
        let mut hops = 0;
        loop {
            check_url_allowed(&url)?;
            if let Some(c) = cred
                && !c.allowed_for(&url)
            {
                return Err(NetError::CredentialOrigin {
                    url: origin(&url),
                    allowed: c.origin(),
                });
            }
            if let Body::Form(f) = &body
                && f.has_secret()
                && !f.allowed_for(&url)
            {
                return Err(NetError::CredentialOrigin {
                    url: origin(&url),
                    allowed: "the clinic server".into(),
                });
            }
            if let Body::SecretJson(j) = &body
                && !j.allowed_for(&url)
            {
                return Err(NetError::CredentialOrigin {
                    url: origin(&url),
                    allowed: "the clinic server".into(),
                });
            }
            let resp = self.attempt(&method, &url, &body, cred, idempotent).await?;
            let status = resp.status();
            if status.is_redirection() {
                let to = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l).ok());
                let Some(to) = to else {
                    return Err(NetError::Status {
                        host: origin(&url),
                        status: status.as_u16(),
                    });
                };
                if to.origin() != url.origin() || !idempotent || hops >= 3 {
                    tracing::warn!(from = %origin(&url), to = %origin(&to), "redirect not followed");
                    return Err(NetError::Redirect {
                        from: origin(&url),
                        to: origin(&to),
                    });
                }
                hops += 1;
                url = to;
                continue;
            }
            if !status.is_success() && !error_bodies {
                return Err(NetError::Status {
                    host: origin(&url),
                    status: status.as_u16(),
                });
            }
            let body = self.read_body(&url, resp).await?;
            return Ok((status.as_u16(), body));
        }
    }

    /// One request, repeated with backoff when idempotent and the failure is transient.
    async fn attempt(
        &self,
        method: &reqwest::Method,
        url: &Url,
        body: &Body<'_>,
        cred: Option<&Credential>,
        idempotent: bool,
    ) -> Result<reqwest::Response, NetError> {
        let host = origin(url);
        let mut n = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(c) = cred {
                let v = c.header_value().map_err(|()| NetError::BadUrl {
                    url: host.clone(),
                    detail: "the access token is not a valid header value".into(),
                })?;
                req = req.header(reqwest::header::AUTHORIZATION, v);
            }
            if let Body::Form(f) = body {
                req = req
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(f.encode().as_bytes().to_vec());
            }
            if let Body::Json(j) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(serde_json::to_vec(j).map_err(|e| NetError::Setup(e.to_string()))?);
            }
            if let Body::SecretJson(j) = body {
                let bytes = j.encode().map_err(|e| NetError::Setup(e.to_string()))?;
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(bytes.to_vec());
            }
            let (retryable, retry_after, out) = match req.send().await {
                Ok(r) => {
                    let s = r.status().as_u16();
                    let ra = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    (matches!(s, 429 | 502 | 503 | 504), ra, Ok(r))
                }
                Err(e) => {
                    let ne = classify(&host, &e);
                    let transient =
                        matches!(ne, NetError::Connect { .. } | NetError::Timeout { .. });
                    tracing::warn!(host = %host, error = %ne, "request failed");
                    (transient, None, Err(ne))
                }
            };
            if !(idempotent && retryable && n < self.limits.retries) {
                return out;
            }
            n += 1;
            let wait = self.limits.backoff_for(n, retry_after);
            tracing::info!(host = %host, attempt = n, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads the body up to the limit; a larger body is refused as soon as that is known
    /// (Content-Length, or the running total), without buffering the rest.
    async fn read_body(&self, url: &Url, mut resp: reqwest::Response) -> Result<Vec<u8>, NetError> {
        let host = origin(url);
        let limit = self.limits.max_body;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(NetError::TooLarge { host, limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&host, &e))? {
            if body.len() + chunk.len() > limit {
                return Err(NetError::TooLarge { host, limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn reply(status: u16, body: &[u8]) -> JsonReply {
    JsonReply {
        status,
        body: serde_json::from_slice(body).unwrap_or(serde_json::Value::Null),
    }
}

fn decode(url: &Url, body: &[u8]) -> Result<serde_json::Value, NetError> {
    serde_json::from_slice(body).map_err(|e| NetError::Decode {
        host: origin(url),
        detail: e.to_string(),
    })
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
