//! The client itself: every request goes through one send path (origin checks, credentials,
//! same-origin redirects, retries, bounded bodies), kept apart from the URL and policy rules.

use super::classify::{self, classify};
use super::tls::{tls_config, with_proxy};
use super::{
    Credential, Form, Limits, NetConfig, NetError, SecretJson, Url, check_url_allowed, origin,
};
use std::time::Duration;

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
