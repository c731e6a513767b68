//! The token endpoint (§1.3): form parsing, client authentication, grant dispatch, and the
//! minting of access/refresh/id tokens every grant ends in. The grants are in [`super::grants`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use time::Duration;

use crate::jwt;
use crate::state::AppState;
use crate::users::User;
use crate::util::{self, json_response, oauth_error};

use super::grants::{code_grant, mfa_otp_grant, password_grant, refresh_grant};
use super::{Client, Grant, MFA_OTP_GRANT, RefreshEntry, user_claims};

/// Parses `application/x-www-form-urlencoded`; duplicated parameters are `invalid_request`.
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, Response> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Body must be application/x-www-form-urlencoded",
            None,
        )
    })?;
    let mut m = HashMap::new();
    for (k, v) in pairs {
        if m.contains_key(&k) {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("Parameter '{k}' is duplicated"),
                None,
            ));
        }
        m.insert(k, v);
    }
    Ok(m)
}

/// A parameter that must be present and non-empty (`invalid_request` otherwise).
pub(super) fn required<'a>(p: &'a HashMap<String, String>, k: &str) -> Result<&'a str, Response> {
    p.get(k)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("The request is missing a required parameter: '{k}'"),
                None,
            )
        })
}

fn invalid_client(d: &str) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", d, None)
}

/// Client authentication: `client_secret_post` body fields or HTTP Basic.
pub fn authenticate_client(
    st: &AppState,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<Client, Response> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| util::b64_decode(b.trim()))
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let (id, secret) = match basic {
        Some((id, s)) => (Some(id), Some(s)),
        None => (p.get("client_id").cloned(), p.get("client_secret").cloned()),
    };
    let Some(id) = id else {
        return Err(invalid_client("Client authentication failed"));
    };
    let o = st.oauth.lock().expect("oauth lock");
    let Some(c) = o.clients.get(&id) else {
        return Err(invalid_client("Client authentication failed"));
    };
    if c.client_secret.is_some() && c.client_secret != secret {
        return Err(invalid_client("Client authentication failed"));
    }
    if !c.enabled {
        return Err(invalid_client(
            "Client is disabled; an administrator must enable it",
        ));
    }
    Ok(c.clone())
}

/// `invalid_grant`, with an optional machine-readable `reason` (locked, expired password).
pub(super) fn invalid_grant(d: &str, reason: Option<&str>) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        d,
        reason.map(|r| json!({"reason": r})),
    )
}

/// The requested scope, each part registered by the client; the whole registered set if none.
pub(super) fn check_scope(client: &Client, requested: Option<&str>) -> Result<String, Response> {
    let Some(req) = requested.filter(|s| !s.trim().is_empty()) else {
        let mut v: Vec<&str> = client.scopes.iter().map(String::as_str).collect();
        v.sort_unstable();
        return Ok(v.join(" "));
    };
    if let Some(s) = req.split_whitespace().find(|s| !client.scopes.contains(*s)) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("The requested scope is invalid, unknown, or malformed: {s}"),
            None,
        ));
    }
    Ok(req.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `POST /oauth2/{site}/token`.
pub async fn token(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    match token_inner(&st, &headers, &body) {
        Ok(r) | Err(r) => r,
    }
}

fn token_inner(st: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, Response> {
    let p = parse_form(body)?;
    let grant_type = required(&p, "grant_type")?.to_string();
    let client = authenticate_client(st, headers, &p)?;
    match grant_type.as_str() {
        "password" => password_grant(st, &client, &p),
        MFA_OTP_GRANT if st.config().mfa_grant_enabled => mfa_otp_grant(st, &client, &p),
        "refresh_token" => refresh_grant(st, &client, &p),
        "authorization_code" => code_grant(st, &client, &p),
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
            None,
        )),
    }
}

/// Mints access (+ refresh with `offline_access`, + id_token with `openid`) tokens.
pub fn issue_tokens(
    st: &AppState,
    user: &User,
    client_id: &str,
    scope: &str,
    nonce: Option<&str>,
) -> Response {
    let now = st.now();
    let life = st.config().access_token_seconds;
    let grant = Grant {
        username: user.username.clone(),
        client_id: client_id.into(),
        scope: scope.into(),
        expires_at: now + Duration::seconds(life),
    };
    let access = util::random_token();
    let mut body =
        json!({"token_type": "Bearer", "expires_in": life, "access_token": access, "scope": scope});
    let mut o = st.oauth.lock().expect("oauth lock");
    if grant.has_scope("offline_access") {
        let rt = format!("def50200{}", util::b64url(&util::random_bytes(48)));
        let mut rg = grant.clone();
        rg.expires_at = now + Duration::days(90);
        o.refresh.insert(
            rt.clone(),
            RefreshEntry {
                grant: rg,
                used: false,
            },
        );
        body["refresh_token"] = json!(rt);
    }
    if grant.has_scope("openid") {
        let mut claims = user_claims(user);
        claims["iss"] = json!(st.oauth_base());
        claims["aud"] = json!(client_id);
        claims["iat"] = json!(now.unix_timestamp());
        claims["exp"] = json!(grant.expires_at.unix_timestamp());
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        body["id_token"] = json!(jwt::sign_es256(
            &claims,
            &st.keys.id_token_key,
            &st.keys.kid
        ));
    }
    o.access.insert(access, grant);
    json_response(StatusCode::OK, &body)
}
