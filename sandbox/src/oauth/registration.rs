//! Client registration (§1.2, RFC 7591) and the scope vocabulary it checks against.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::util::{self, json_response, oauth_error};

use super::Client;

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
