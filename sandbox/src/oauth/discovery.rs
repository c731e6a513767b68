//! Discovery, JWKS, userinfo, introspection, logout (§1.1): the read-only endpoints that
//! describe the server or a token, as opposed to those that mint one.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::jwt;
use crate::state::AppState;
use crate::users::User;
use crate::util::{self, json_response, oauth_error};

use super::{Grant, MFA_OTP_GRANT, authenticate_client, parse_form};

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

/// The OIDC claims of a user, shared by userinfo and the id_token.
pub(super) fn user_claims(u: &User) -> Value {
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
