//! Authorization code + PKCE with the sandbox's own login page (§1.5). Mirrors OpenEMR's
//! flow: `/authorize` → login form (username + password) → TOTP form when the user is enrolled
//! → scope consent → redirect to the registered `redirect_uri` with `code` and `state`.
//! Pages carry stable element ids (`#username`, `#password`, `#mfa_code`, `#authorize`,
//! `#deny`, `#error`) so WebDriver tests can drive them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::Duration;

use crate::oauth::AuthCode;
/// Kept at this path for callers; the type lives in the OAuth store that holds it.
pub use crate::oauth::store::AuthRequest;
use crate::state::AppState;
use crate::users::{LoginError, Mfa};
use crate::util::{self, html_escape};

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font:15px system-ui,sans-serif;max-width:420px;margin:48px auto}}\
         input,button{{font:inherit;padding:6px;margin:4px 0;width:100%}}#error{{color:#b00020}}</style></head>\
         <body><h1>Sandbox Clinic</h1><h2>{t}</h2>{body}</body></html>",
        t = html_escape(title)
    );
    let mut r = (status, html).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn error_page(msg: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Sign-in error",
        &format!("<p id=\"error\">{}</p>", html_escape(msg)),
    )
}

fn login_form(st: &AppState, id: &str, err: Option<&str>) -> Response {
    let e = err
        .map(|e| format!("<p id=\"error\">{}</p>", html_escape(e)))
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Sign in",
        &format!(
            "{e}<form method=\"post\" action=\"{}/provider/login\">\
             <input type=\"hidden\" name=\"auth_request\" value=\"{id}\">\
             <label>Username<input id=\"username\" name=\"username\" autocomplete=\"username\"></label>\
             <label>Password<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
             <button id=\"login\" type=\"submit\">Sign in</button></form>",
            st.oauth_base()
        ),
    )
}

fn otp_form(st: &AppState, id: &str, err: Option<&str>) -> Response {
    let e = err
        .map(|e| format!("<p id=\"error\">{}</p>", html_escape(e)))
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Authentication code",
        &format!(
            "{e}<form method=\"post\" action=\"{}/provider/login\">\
             <input type=\"hidden\" name=\"auth_request\" value=\"{id}\">\
             <label>Code from your authenticator app<input id=\"mfa_code\" name=\"mfa_code\" inputmode=\"numeric\" autocomplete=\"one-time-code\"></label>\
             <button id=\"verify\" type=\"submit\">Verify</button></form>",
            st.oauth_base()
        ),
    )
}

fn consent_form(st: &AppState, id: &str, a: &AuthRequest, client_name: &str) -> Response {
    let scopes: String = a
        .scope
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", html_escape(s)))
        .collect();
    page(
        StatusCode::OK,
        "Authorize application",
        &format!(
            "<p><b>{}</b> asks for:</p><ul id=\"scopes\">{scopes}</ul>\
             <form method=\"post\" action=\"{}/provider/login\">\
             <input type=\"hidden\" name=\"auth_request\" value=\"{id}\">\
             <button id=\"authorize\" name=\"consent\" value=\"allow\" type=\"submit\">Authorize</button>\
             <button id=\"deny\" name=\"consent\" value=\"deny\" type=\"submit\">Deny</button></form>",
            html_escape(client_name),
            st.oauth_base()
        ),
    )
}

fn redirect(uri: &str, params: &[(&str, &str)]) -> Response {
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", util::query_encode(v)))
        .collect();
    let sep = if uri.contains('?') { '&' } else { '?' };
    let loc = format!("{uri}{sep}{}", q.join("&"));
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&loc) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn start(st: &AppState, p: &HashMap<String, String>) -> Response {
    let get = |k: &str| p.get(k).cloned().filter(|v| !v.is_empty());
    let Some(client_id) = get("client_id") else {
        return error_page("client_id is required");
    };
    let client = st
        .oauth
        .lock()
        .expect("oauth lock")
        .clients
        .get(&client_id)
        .cloned();
    let Some(client) = client.filter(|c| c.enabled) else {
        return error_page("Unknown or disabled client");
    };
    let Some(redirect_uri) = get("redirect_uri").filter(|r| client.redirect_uris.contains(r))
    else {
        // Never redirect to an unregistered URI.
        return error_page("redirect_uri does not match a registered redirect URI");
    };
    let state = get("state");
    let issuer = st.oauth_base();
    let err = |e: &str, d: &str| {
        // RFC 9207: every authorization response names its issuer, errors too.
        let mut v = vec![
            ("error", e),
            ("error_description", d),
            ("iss", issuer.as_str()),
        ];
        if let Some(s) = state.as_deref() {
            v.push(("state", s));
        }
        redirect(&redirect_uri, &v)
    };
    if get("response_type").as_deref() != Some("code") {
        return err("unsupported_response_type", "response_type must be code");
    }
    let challenge = get("code_challenge");
    if challenge.is_some() && get("code_challenge_method").as_deref() != Some("S256") {
        return err("invalid_request", "code_challenge_method must be S256");
    }
    if challenge.is_none() && client.client_secret.is_none() {
        return err("invalid_request", "PKCE is required for public clients");
    }
    let scope = get("scope").unwrap_or_default();
    if let Some(s) = scope
        .split_whitespace()
        .find(|s| !client.scopes.contains(*s))
    {
        return err(
            "invalid_scope",
            &format!("Scope not allowed for this client: {s}"),
        );
    }
    let id = util::random_token();
    let req = AuthRequest {
        client_id,
        redirect_uri,
        scope,
        state,
        code_challenge: challenge,
        nonce: get("nonce"),
        username: None,
        authenticated: false,
        expires_at: st.now() + Duration::minutes(10),
    };
    st.oauth
        .lock()
        .expect("oauth lock")
        .auth_requests
        .insert(id.clone(), req);
    login_form(st, &id, None)
}

/// `GET /oauth2/{site}/authorize?...`.
pub async fn authorize_get(State(st): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let p: HashMap<String, String> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    start(&st, &p)
}

/// `POST /oauth2/{site}/authorize` (form).
pub async fn authorize_post(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let p: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    start(&st, &p)
}

/// `POST /oauth2/{site}/provider/login`: every step of the browser sign-in.
pub async fn login_post(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let p: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let id = p.get("auth_request").cloned().unwrap_or_default();
    let now = st.now();
    let req = st
        .oauth
        .lock()
        .expect("oauth lock")
        .auth_requests
        .get(&id)
        .cloned();
    let Some(mut req) = req.filter(|r| r.expires_at > now) else {
        return error_page("This sign-in has expired; start again from the application");
    };
    let lock_secs = st.config().otp_lock_seconds;
    if req.username.is_none() {
        let (u, pw) = (
            p.get("username").cloned().unwrap_or_default(),
            p.get("password").cloned().unwrap_or_default(),
        );
        let res = st
            .users
            .lock()
            .expect("users lock")
            .check_password(&u, &pw, now);
        match res {
            Err(LoginError::BadCredentials) => {
                return login_form(&st, &id, Some("Invalid username or password"));
            }
            Err(LoginError::Locked(why)) => return login_form(&st, &id, Some(&why)),
            Err(LoginError::PasswordExpired) => {
                return login_form(&st, &id, Some("Password expired; contact an administrator"));
            }
            Ok(user) => {
                req.username = Some(user.username.clone());
                req.authenticated = !matches!(user.mfa, Mfa::Enrolled(_));
            }
        }
    } else if !req.authenticated {
        let username = req.username.clone().unwrap_or_default();
        let mut users = st.users.lock().expect("users lock");
        let secret = match users.by_name.get(&username).map(|u| u.mfa.clone()) {
            Some(Mfa::Enrolled(s)) => s,
            _ => return error_page("Unknown user"),
        };
        let code = p.get("mfa_code").cloned().unwrap_or_default();
        match users.check_otp(&username, &secret, &code, now, lock_secs) {
            Ok(()) => req.authenticated = true,
            Err(Some(why)) => {
                drop(users);
                st.oauth
                    .lock()
                    .expect("oauth lock")
                    .auth_requests
                    .remove(&id);
                return error_page(&why);
            }
            Err(None) => return otp_form(&st, &id, Some("Invalid code")),
        }
    } else if let Some(choice) = p.get("consent") {
        st.oauth
            .lock()
            .expect("oauth lock")
            .auth_requests
            .remove(&id);
        let mut params: Vec<(&str, String)> = Vec::new();
        if choice == "allow" {
            let code = util::random_token();
            st.oauth.lock().expect("oauth lock").codes.insert(
                code.clone(),
                AuthCode {
                    username: req.username.clone().unwrap_or_default(),
                    client_id: req.client_id.clone(),
                    redirect_uri: req.redirect_uri.clone(),
                    scope: req.scope.clone(),
                    code_challenge: req.code_challenge.clone(),
                    nonce: req.nonce.clone(),
                    expires_at: now + Duration::seconds(60),
                },
            );
            params.push(("code", code));
        } else {
            params.push(("error", "access_denied".into()));
        }
        if let Some(s) = &req.state {
            params.push(("state", s.clone()));
        }
        // RFC 9207 (mix-up defence): the client checks this against discovery's issuer.
        params.push(("iss", st.oauth_base()));
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        return redirect(&req.redirect_uri, &refs);
    }
    st.oauth
        .lock()
        .expect("oauth lock")
        .auth_requests
        .insert(id.clone(), req.clone());
    if !req.authenticated {
        return otp_form(&st, &id, None);
    }
    let name = st
        .oauth
        .lock()
        .expect("oauth lock")
        .clients
        .get(&req.client_id)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    consent_form(&st, &id, &req, &name)
}
