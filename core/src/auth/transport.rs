//! What the sign-in flow needs from the network, as a trait.
//!
//! The token endpoint answers errors the flow must read (`mfa_required` carries the
//! `mfa_token`; `invalid_grant` carries `reason`), and enrollment posts JSON with a bearer
//! `mfa_token`. `net::NetClient` today turns every non-2xx answer into `NetError::Status`
//! without its body and has no JSON POST, so it cannot implement this yet: see
//! `NetClient::post_form_reply` / `post_json_reply` in the proposed net change. Every
//! implementation must keep the net rules: https (loopback http), verified TLS, secrets only to
//! the origin they were made for, bounded bodies, no redirects for POST.

use crate::net::NetError;
use crate::secret::Secret;
use std::future::Future;
use url::Url;

/// An HTTP answer with a JSON body (any status; `Value::Null` when the body was not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(|v| v.as_str())
    }
}

/// One field of a token-endpoint form; secrets stay in [`Secret`] until encoded.
#[derive(Debug)]
pub enum Param {
    Text(String),
    Secret(Secret),
}

/// The three requests of the password + MFA sign-in.
pub trait Transport: Send + Sync {
    /// `GET url`, with `Authorization: Bearer` when given (userinfo), else no credentials.
    fn get_json(
        &self,
        url: &Url,
        bearer: Option<Secret>,
    ) -> impl Future<Output = Result<Reply, NetError>> + Send;

    /// `POST url` as `application/x-www-form-urlencoded`; the secrets go only to `url`'s origin.
    fn post_form(
        &self,
        url: &Url,
        fields: Vec<(&'static str, Param)>,
    ) -> impl Future<Output = Result<Reply, NetError>> + Send;

    /// `POST url` as `application/json`, with `Authorization: Bearer` when given.
    fn post_json(
        &self,
        url: &Url,
        body: &serde_json::Value,
        bearer: Option<Secret>,
    ) -> impl Future<Output = Result<Reply, NetError>> + Send;
}
