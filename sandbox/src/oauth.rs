//! OAuth 2.0 / OIDC as OpenEMR does it (§1): discovery, RFC 7591 registration, the token
//! endpoint (password, refresh with rotation, authorization code + PKCE, and the sandbox's
//! Auth0-style MFA grant, D1), `/mfa/associate` enrollment (D2), userinfo, introspection, JWKS.
//! The browser login page of §1.5 is in [`crate::login`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::jwt;
use crate::state::AppState;
use crate::users::{LoginError, Mfa, User};
use crate::util::{self, json_response, oauth_error};

/// The MFA grant type of §1.6.
pub const MFA_OTP_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: HashSet<String>,
    pub enabled: bool,
}

/// What an access or refresh token stands for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub username: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: OffsetDateTime,
}

impl Grant {
    /// Whether the grant's scope contains `s`.
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.split_whitespace().any(|x| x == s)
    }
}

/// A refresh token; `used` ones are kept so reuse can be reported as such.
#[derive(Debug, Clone)]
pub struct RefreshEntry {
    pub grant: Grant,
    pub used: bool,
}

/// An MFA challenge in progress (§1.6).
#[derive(Debug, Clone)]
pub struct MfaPending {
    pub username: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: OffsetDateTime,
    /// Enrollment secret issued by `/mfa/associate`, not yet confirmed.
    pub pending_secret: Option<Vec<u8>>,
    pub failures: u32,
}

/// An issued authorization code (§1.5).
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub username: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: OffsetDateTime,
}

/// All OAuth state.
#[derive(Debug, Default)]
pub struct OAuthStore {
    pub clients: HashMap<String, Client>,
    pub access: HashMap<String, Grant>,
    pub refresh: HashMap<String, RefreshEntry>,
    pub mfa: HashMap<String, MfaPending>,
    pub codes: HashMap<String, AuthCode>,
    /// Browser sign-ins in progress (§1.5).
    pub auth_requests: HashMap<String, crate::login::AuthRequest>,
}

impl OAuthStore {
    /// Drops every token of a user (after a password change, §2.3).
    pub fn revoke_user(&mut self, username: &str) {
        self.access.retain(|_, g| g.username != username);
        self.refresh.retain(|_, r| r.grant.username != username);
    }
}

/// Scopes the sandbox knows. `user|patient|system/<Resource>.<read|write|*|cruds>` plus these.
const PLAIN_SCOPES: &[&str] = &[
    "openid",
    "offline_access",
    "online_access",
    "fhirUser",
    "api:oemr",
    "api:fhir",
    "api:port",
    "launch",
    "launch/patient",
    "email",
    "profile",
];

/// Whether OpenEMR would know this scope.
pub fn known_scope(s: &str) -> bool {
    if PLAIN_SCOPES.contains(&s) {
        return true;
    }
    let Some((ctx, rest)) = s.split_once('/') else {
        return false;
    };
    let Some((res, perm)) = rest.split_once('.') else {
        return false;
    };
    matches!(ctx, "user" | "patient" | "system")
        && (res == "*" || (!res.is_empty() && res.chars().all(|c| c.is_ascii_alphanumeric())))
        && (matches!(perm, "read" | "write" | "*")
            || (!perm.is_empty() && perm.chars().all(|c| "cruds".contains(c))))
}

// ---------------------------------------------------------------------------------------------
// Discovery, JWKS, userinfo

/// `GET /oauth2/{site}/.well-known/openid-configuration` (§1.1).
pub async fn discovery(State(st): State<Arc<AppState>>) -> Response {
    let b = st.oauth_base();
    let mut grants = vec!["authorization_code", "refresh_token", "password"];
    if st.config().mfa_grant_enabled {
        grants.push(MFA_OTP_GRANT);
    }
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": b,
            "authorization_endpoint": format!("{b}/authorize"),
            "token_endpoint": format!("{b}/token"),
            "registration_endpoint": format!("{b}/registration"),
            "jwks_uri": format!("{b}/jwk"),
            "userinfo_endpoint": format!("{b}/userinfo"),
            "introspection_endpoint": format!("{b}/introspect"),
            "end_session_endpoint": format!("{b}/logout"),
            "mfa_associate_endpoint": format!("{b}/mfa/associate"),
            "grant_types_supported": grants,
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "offline_access", "fhirUser", "api:oemr", "api:fhir",
                "user/Appointment.read", "user/Appointment.rs", "user/Patient.read", "user/Patient.rs",
                "user/Practitioner.read", "user/Practitioner.rs", "user/Location.read", "user/Location.rs"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        }),
    )
}

/// `GET /oauth2/{site}/jwk`.
pub async fn jwks(State(st): State<Arc<AppState>>) -> Response {
    json_response(
        StatusCode::OK,
        &jwt::jwks(&st.keys.id_token_key, &st.keys.kid),
    )
}

/// Looks up a live access token from the `Authorization` header.
pub fn grant_from_headers(st: &AppState, headers: &HeaderMap) -> Option<Grant> {
    let token = util::bearer(headers)?;
    let now = st.now();
    let o = st.oauth.lock().expect("oauth lock");
    o.access.get(token).filter(|g| g.expires_at > now).cloned()
}

fn invalid_token() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "The access token is missing, invalid or expired",
        None,
    )
}

/// `GET /oauth2/{site}/userinfo`.
pub async fn userinfo(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(g) = grant_from_headers(&st, &headers) else {
        return invalid_token();
    };
    let users = st.users.lock().expect("users lock");
    let Some(u) = users.by_name.get(&g.username) else {
        return invalid_token();
    };
    json_response(StatusCode::OK, &user_claims(u))
}

fn user_claims(u: &User) -> Value {
    json!({"sub": u.uuid, "fhirUser": u.fhir_ref(), "name": u.display_name,
           "preferred_username": u.username, "email": u.email, "api:fhir": true})
}

/// `POST /oauth2/{site}/introspect` (RFC 7662; client-authenticated).
pub async fn introspect(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match parse_form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(r) = authenticate_client(&st, &headers, &params) {
        return r;
    }
    let token = params.get("token").cloned().unwrap_or_default();
    let now = st.now();
    let o = st.oauth.lock().expect("oauth lock");
    let found = o
        .access
        .get(&token)
        .map(|g| (g.clone(), "access_token"))
        .or_else(|| {
            o.refresh
                .get(&token)
                .filter(|r| !r.used)
                .map(|r| (r.grant.clone(), "refresh_token"))
        });
    match found {
        Some((g, kind)) if g.expires_at > now => json_response(
            StatusCode::OK,
            &json!({"active": true, "scope": g.scope, "client_id": g.client_id, "username": g.username,
                    "token_type": kind, "exp": g.expires_at.unix_timestamp()}),
        ),
        _ => json_response(StatusCode::OK, &json!({"active": false})),
    }
}

/// `GET /oauth2/{site}/logout`: accepted and ignored (OpenEMR ends its browser session).
pub async fn logout() -> Response {
    json_response(StatusCode::OK, &json!({"logged_out": true}))
}

// ---------------------------------------------------------------------------------------------
// Registration (§1.2)

/// `POST /oauth2/{site}/registration` (RFC 7591).
pub async fn register(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bad_meta =
        |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_client_metadata", d, None);
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return bad_meta("Content-Type must be application/json");
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return bad_meta("Body is not a JSON object");
    };
    let redirect_uris: Vec<String> = match req.get("redirect_uris") {
        Some(Value::Array(a)) if !a.is_empty() => {
            let v: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect();
            if v.len() != a.len() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_redirect_uri",
                    "redirect_uris must be strings",
                    None,
                );
            }
            v
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_redirect_uri",
                "redirect_uris is required",
                None,
            );
        }
    };
    let app_type = req
        .get("application_type")
        .and_then(Value::as_str)
        .unwrap_or("private");
    if app_type != "private" && app_type != "public" {
        return bad_meta("application_type must be private or public");
    }
    let scope = req
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("openid")
        .to_string();
    if let Some(s) = scope.split_whitespace().find(|s| !known_scope(s)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("Unknown scope: {s}"),
            None,
        );
    }
    if app_type == "public" && scope.split_whitespace().any(|s| s.starts_with("user/")) {
        return bad_meta("user/* scopes require a confidential (private) client");
    }
    let auth_method = req
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .unwrap_or("client_secret_post");
    if !matches!(
        auth_method,
        "client_secret_post" | "client_secret_basic" | "none"
    ) {
        return bad_meta("Unsupported token_endpoint_auth_method");
    }
    let client_id = util::random_token();
    let secret = (app_type == "private").then(|| util::b64url(&util::random_bytes(48)));
    let name = req
        .get("client_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let now = st.now();
    let client = Client {
        client_id: client_id.clone(),
        client_secret: secret.clone(),
        name: name.clone(),
        redirect_uris: redirect_uris.clone(),
        scopes: scope.split_whitespace().map(String::from).collect(),
        enabled: st.config().auto_enable_clients,
    };
    st.oauth
        .lock()
        .expect("oauth lock")
        .clients
        .insert(client_id.clone(), client);
    let mut resp = req.clone();
    resp.insert("client_id".into(), json!(client_id));
    if let Some(s) = secret {
        resp.insert("client_secret".into(), json!(s));
    }
    resp.insert(
        "registration_access_token".into(),
        json!(util::random_token()),
    );
    resp.insert(
        "registration_client_uri".into(),
        json!(format!("{}/client/{client_id}", st.oauth_base())),
    );
    resp.insert("client_id_issued_at".into(), json!(now.unix_timestamp()));
    resp.insert("client_secret_expires_at".into(), json!(0));
    resp.insert("application_type".into(), json!(app_type));
    resp.insert("token_endpoint_auth_method".into(), json!(auth_method));
    resp.insert("scope".into(), json!(scope));
    json_response(StatusCode::OK, &Value::Object(resp))
}

/// Registers a client directly (demo seed, tests).
pub fn add_client(st: &AppState, client_id: &str, secret: &str, redirect: &str, scope: &str) {
    st.oauth.lock().expect("oauth lock").clients.insert(
        client_id.into(),
        Client {
            client_id: client_id.into(),
            client_secret: Some(secret.into()),
            name: "Rounds demo".into(),
            redirect_uris: vec![redirect.into()],
            scopes: scope.split_whitespace().map(String::from).collect(),
            enabled: true,
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Token endpoint (§1.3)

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

fn required<'a>(p: &'a HashMap<String, String>, k: &str) -> Result<&'a str, Response> {
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

fn invalid_grant(d: &str, reason: Option<&str>) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        d,
        reason.map(|r| json!({"reason": r})),
    )
}

fn check_scope(client: &Client, requested: Option<&str>) -> Result<String, Response> {
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

fn password_grant(
    st: &AppState,
    client: &Client,
    p: &HashMap<String, String>,
) -> Result<Response, Response> {
    if !st.config().password_grant_enabled {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
            None,
        ));
    }
    let role = required(p, "user_role")?;
    let username = required(p, "username")?;
    let password = required(p, "password")?;
    if role != "users" {
        return Err(invalid_grant("The user credentials were incorrect.", None));
    }
    let scope = check_scope(client, p.get("scope").map(String::as_str))?;
    let now = st.now();
    let user = st
        .users
        .lock()
        .expect("users lock")
        .check_password(username, password, now);
    let user = match user {
        Ok(u) => u,
        Err(LoginError::BadCredentials) => {
            return Err(invalid_grant("The user credentials were incorrect.", None));
        }
        Err(LoginError::Locked(why)) => return Err(invalid_grant(&why, Some("account_locked"))),
        Err(LoginError::PasswordExpired) => {
            return Err(invalid_grant(
                "Password expired and the grace period is over; an administrator must reset it",
                Some("password_expired"),
            ));
        }
    };
    if !st.config().mfa_grant_enabled {
        // Stock OpenEMR: the password grant "does not support MFA" (§1.4).
        return Ok(issue_tokens(st, &user, &client.client_id, &scope, None));
    }
    let enrolled = match user.mfa {
        Mfa::NotRequired => return Ok(issue_tokens(st, &user, &client.client_id, &scope, None)),
        Mfa::MustEnroll => false,
        Mfa::Enrolled(_) => true,
    };
    let mfa_token = util::random_token();
    st.oauth.lock().expect("oauth lock").mfa.insert(
        mfa_token.clone(),
        MfaPending {
            username: user.username.clone(),
            client_id: client.client_id.clone(),
            scope,
            expires_at: now + Duration::seconds(300),
            pending_secret: None,
            failures: 0,
        },
    );
    Err(oauth_error(
        StatusCode::FORBIDDEN,
        "mfa_required",
        "Multifactor authentication required",
        Some(json!({"mfa_token": mfa_token, "mfa_enrolled": enrolled})),
    ))
}

fn mfa_otp_grant(
    st: &AppState,
    client: &Client,
    p: &HashMap<String, String>,
) -> Result<Response, Response> {
    let mfa_token = required(p, "mfa_token")?;
    let otp = required(p, "otp")?;
    let now = st.now();
    let bad_token = || invalid_grant("mfa_token expired or invalid", None);
    let pending = {
        let o = st.oauth.lock().expect("oauth lock");
        o.mfa.get(mfa_token).cloned()
    };
    let Some(pending) = pending.filter(|m| m.expires_at > now && m.client_id == client.client_id)
    else {
        return Err(bad_token());
    };
    let mut users = st.users.lock().expect("users lock");
    let Some(user) = users.by_name.get(&pending.username).cloned() else {
        return Err(bad_token());
    };
    let (secret, enrolling) = match (&user.mfa, &pending.pending_secret) {
        (Mfa::Enrolled(s), _) => (s.clone(), false),
        (_, Some(s)) => (s.clone(), true),
        _ => {
            return Err(invalid_grant(
                "No authenticator is associated yet; call mfa/associate first",
                None,
            ));
        }
    };
    let lock_secs = st.config().otp_lock_seconds;
    match users.check_otp(&user.username, &secret, otp, now, lock_secs) {
        Ok(()) => {
            if enrolling && let Some(u) = users.by_name.get_mut(&user.username) {
                u.mfa = Mfa::Enrolled(secret);
            }
            drop(users);
            st.oauth.lock().expect("oauth lock").mfa.remove(mfa_token);
            Ok(issue_tokens(
                st,
                &user,
                &client.client_id,
                &pending.scope,
                None,
            ))
        }
        Err(Some(why)) => {
            drop(users);
            st.oauth.lock().expect("oauth lock").mfa.remove(mfa_token);
            Err(invalid_grant(&why, Some("account_locked")))
        }
        Err(None) => {
            drop(users);
            let mut o = st.oauth.lock().expect("oauth lock");
            if let Some(m) = o.mfa.get_mut(mfa_token) {
                m.failures += 1;
                if m.failures >= 5 {
                    o.mfa.remove(mfa_token);
                }
            }
            Err(invalid_grant("Invalid otp code.", None))
        }
    }
}

fn refresh_grant(
    st: &AppState,
    client: &Client,
    p: &HashMap<String, String>,
) -> Result<Response, Response> {
    let rt = required(p, "refresh_token")?;
    let now = st.now();
    let entry = {
        let mut o = st.oauth.lock().expect("oauth lock");
        let Some(e) = o.refresh.get_mut(rt) else {
            return Err(invalid_grant("The refresh token is invalid.", None));
        };
        if e.used {
            return Err(invalid_grant(
                "The refresh token has already been used (tokens rotate).",
                None,
            ));
        }
        if e.grant.expires_at <= now {
            return Err(invalid_grant("The refresh token has expired.", None));
        }
        if e.grant.client_id != client.client_id {
            return Err(invalid_grant(
                "The refresh token was issued to another client.",
                None,
            ));
        }
        e.used = true;
        e.clone()
    };
    let scope = match p.get("scope").filter(|s| !s.trim().is_empty()) {
        None => entry.grant.scope.clone(),
        Some(s) => {
            if let Some(x) = s.split_whitespace().find(|x| !entry.grant.has_scope(x)) {
                return Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    &format!("Scope not in the original grant: {x}"),
                    None,
                ));
            }
            s.clone()
        }
    };
    let users = st.users.lock().expect("users lock");
    let Some(user) = users.by_name.get(&entry.grant.username).cloned() else {
        return Err(invalid_grant("The refresh token is invalid.", None));
    };
    drop(users);
    if user.locked(now) {
        return Err(invalid_grant(&user.lock_reason, Some("account_locked")));
    }
    Ok(issue_tokens(st, &user, &client.client_id, &scope, None))
}

fn code_grant(
    st: &AppState,
    client: &Client,
    p: &HashMap<String, String>,
) -> Result<Response, Response> {
    let code = required(p, "code")?;
    let redirect_uri = required(p, "redirect_uri")?;
    let now = st.now();
    let Some(c) = st.oauth.lock().expect("oauth lock").codes.remove(code) else {
        return Err(invalid_grant(
            "Authorization code is invalid or already used",
            None,
        ));
    };
    if c.expires_at <= now || c.client_id != client.client_id || c.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "Authorization code is invalid, expired, or was issued to another client",
            None,
        ));
    }
    if let Some(challenge) = &c.code_challenge {
        let verifier = required(p, "code_verifier")?;
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        if &util::b64url(d.as_ref()) != challenge {
            return Err(invalid_grant("Failed to verify code_verifier", None));
        }
    }
    let user = st
        .users
        .lock()
        .expect("users lock")
        .by_name
        .get(&c.username)
        .cloned();
    let Some(user) = user else {
        return Err(invalid_grant("Unknown user", None));
    };
    Ok(issue_tokens(
        st,
        &user,
        &client.client_id,
        &c.scope,
        c.nonce.as_deref(),
    ))
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

// ---------------------------------------------------------------------------------------------
// Enrollment (§1.7)

/// `POST /oauth2/{site}/mfa/associate` with `Authorization: Bearer <mfa_token>`.
pub async fn mfa_associate(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = st.now();
    let Some(tok) = util::bearer(&headers).map(String::from) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "mfa_token missing",
            None,
        );
    };
    let types_ok = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("authenticator_types").cloned())
        .and_then(|v| v.as_array().cloned())
        .is_some_and(|a| a.iter().any(|x| x == "otp"));
    let mut o = st.oauth.lock().expect("oauth lock");
    let Some(m) = o.mfa.get_mut(&tok).filter(|m| m.expires_at > now) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "mfa_token expired or invalid",
            None,
        );
    };
    if !types_ok {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "authenticator_types must contain \"otp\"",
            None,
        );
    }
    let users = st.users.lock().expect("users lock");
    let Some(u) = users.by_name.get(&m.username) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "mfa_token expired or invalid",
            None,
        );
    };
    if matches!(u.mfa, Mfa::Enrolled(_)) {
        return oauth_error(
            StatusCode::CONFLICT,
            "already_enrolled",
            "User already has an authenticator",
            None,
        );
    }
    if m.pending_secret.is_some() {
        return oauth_error(
            StatusCode::CONFLICT,
            "already_enrolled",
            "An authenticator was already issued for this mfa_token",
            None,
        );
    }
    let secret = util::random_bytes(20);
    let b32 = util::base32_encode(&secret);
    let uri = format!(
        "otpauth://totp/Sandbox%20Clinic:{}?secret={b32}&issuer=Sandbox%20Clinic&algorithm=SHA1&digits=6&period=30",
        util::query_encode(&u.username)
    );
    m.pending_secret = Some(secret);
    json_response(
        StatusCode::OK,
        &json!({"authenticator_type": "otp", "secret": b32, "barcode_uri": uri}),
    )
}
