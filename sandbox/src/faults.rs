//! Fault injection and the request log, as one axum middleware in front of every clinic route.
//!
//! The middleware buffers the request body (requests are small) so it can record *whether* a
//! password / OTP / secret / token arrived — never the values — and then applies the first
//! fault rule that matches: an error status, a delay, a malformed or hostile body, or (through
//! the connection's [`ConnCtl`]) cutting or stalling the response after N bytes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use serde_json::Value;

use crate::server::{AfterBudget, ConnCtl};
use crate::state::{AppState, RequestRecord};
use crate::util;

pub mod rules;

pub use rules::{FaultRule, Faults};

/// Which credential-bearing fields a request carried (names only, never values).
fn inspect(content_type: &str, body: &[u8], query: Option<&str>) -> (bool, bool, bool, bool) {
    let mut keys: Vec<String> = Vec::new();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        if let Ok(p) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
            keys.extend(p.into_iter().map(|(k, _)| k));
        }
    } else if let Ok(v) = serde_json::from_slice::<Value>(body) {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => m.iter().for_each(|(k, v)| {
                    out.push(k.clone());
                    walk(v, out);
                }),
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        walk(&v, &mut keys);
    }
    if let Some(q) = query
        && let Ok(p) = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
    {
        keys.extend(p.into_iter().map(|(k, _)| k));
    }
    let has = |f: &dyn Fn(&str) -> bool| keys.iter().any(|k| f(k.as_str()));
    (
        has(&|k| k.contains("password")),
        has(&|k| k == "otp" || k == "mfa_code"),
        has(&|k| k == "client_secret"),
        has(&|k| {
            matches!(
                k,
                "refresh_token"
                    | "mfa_token"
                    | "code"
                    | "code_verifier"
                    | "token"
                    | "jwt"
                    | "access_token"
            )
        }),
    )
}

/// The middleware: record, then maybe misbehave.
pub async fn middleware(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let ctl = req.extensions().get::<Arc<ConnCtl>>().cloned();
    let (listener, conn) = ctl
        .as_ref()
        .map_or(("?".to_string(), 0), |c| (c.listener.clone(), c.id));
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (has_password, has_otp, mut has_client_secret, has_token) =
        inspect(&ct, &bytes, parts.uri.query());
    let auth = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth.to_ascii_lowercase().starts_with("basic ") {
        has_client_secret = true;
    }
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let mut record = RequestRecord {
        seq: 0,
        at: util::rfc3339_z(st.now()),
        listener: listener.clone(),
        conn,
        method: method.clone(),
        path: path.clone(),
        has_query: parts.uri.query().is_some(),
        has_authorization: !auth.is_empty(),
        has_password,
        has_otp,
        has_client_secret,
        has_token,
        body_bytes: bytes.len(),
        status: 0,
        fault: None,
    };
    let rule = st
        .faults
        .lock()
        .expect("faults lock")
        .take(&method, &path, &listener);
    let req = Request::from_parts(parts, Body::from(bytes));
    let resp = match rule {
        None => next.run(req).await,
        Some(rule) => {
            record.fault = Some(rule.kind.clone());
            apply(rule, req, next, ctl.as_deref(), &path).await
        }
    };
    record.status = resp.status().as_u16();
    let mut log = st.requests.lock().expect("request log lock");
    record.seq = log.last().map_or(1, |r| r.seq + 1);
    if log.len() >= 100_000 {
        log.drain(..10_000);
    }
    log.push(record);
    resp
}

fn raw(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut r = (status, body.into()).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn content_type_for(path: &str) -> &'static str {
    if path.contains("/fhir/") {
        "application/fhir+json"
    } else {
        "application/json"
    }
}

async fn apply(
    rule: FaultRule,
    req: Request,
    next: Next,
    ctl: Option<&ConnCtl>,
    path: &str,
) -> Response {
    let ct = rule
        .content_type
        .clone()
        .unwrap_or_else(|| content_type_for(path).to_string());
    match rule.kind.as_str() {
        "status" => {
            let s = StatusCode::from_u16(rule.status.unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = serde_json::json!({"error": "server_error", "error_description": "Injected fault (sandbox)"});
            let mut r = raw(s, "application/json", body.to_string());
            if s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::SERVICE_UNAVAILABLE {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            r
        }
        "delay" => {
            tokio::time::sleep(Duration::from_millis(rule.ms.unwrap_or(2000))).await;
            next.run(req).await
        }
        "drop" | "stall" => {
            if let Some(c) = ctl {
                let then = if rule.kind == "drop" {
                    AfterBudget::Drop
                } else {
                    AfterBudget::Stall(Duration::from_millis(rule.ms.unwrap_or(600_000)))
                };
                c.arm(rule.after_bytes.unwrap_or(0), then);
            }
            next.run(req).await
        }
        "malformed_json" => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let b = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let cut = Bytes::copy_from_slice(&b[..b.len() / 2]);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(cut))
        }
        "body" => {
            let s = StatusCode::from_u16(rule.status.unwrap_or(200)).unwrap_or(StatusCode::OK);
            raw(s, &ct, rule.body.unwrap_or_default())
        }
        "hostile_json" => {
            let s = StatusCode::from_u16(rule.status.unwrap_or(200)).unwrap_or(StatusCode::OK);
            raw(
                s,
                &ct,
                hostile(rule.variant.as_deref().unwrap_or("deep_nesting")),
            )
        }
        _ => next.run(req).await,
    }
}

/// Bodies that are valid-looking JSON (or nearly) designed to hurt a careless parser.
pub fn hostile(variant: &str) -> Vec<u8> {
    match variant {
        "huge_string" => {
            let mut v = br#"{"error":"server_error","error_description":""#.to_vec();
            v.extend(std::iter::repeat_n(b'A', 32 * 1024 * 1024));
            v.extend(br#""}"#);
            v
        }
        "wrong_types" => br#"{"resourceType":"Bundle","type":7,"total":"three","link":{"relation":"next"},"entry":[{"resource":"Appointment"},null,42],"access_token":12345,"token_type":null,"expires_in":"3600","refresh_token":["x"]}"#.to_vec(),
        "huge_number" => br#"{"resourceType":"Bundle","type":"searchset","total":123456789012345678901234567890,"expires_in":1e999999,"entry":[]}"#.to_vec(),
        "duplicate_keys" => br#"{"access_token":"first","access_token":"second","token_type":"Bearer","expires_in":3600,"resourceType":"Bundle","type":"searchset","entry":[]}"#.to_vec(),
        "invalid_utf8" => b"{\"error\":\"\xff\xfe\xfd\",\"resourceType\":\"Bundle\"}".to_vec(),
        "control_chars" => br#"{"error":"\u0000\u001b[31mred\u001b[0m\u202e","error_description":"\ud800","resourceType":"Bundle","type":"searchset","entry":[]}"#.to_vec(),
        "foreign_next_link" => br#"{"resourceType":"Bundle","type":"searchset","total":2,"link":[{"relation":"self","url":"https://127.0.0.1/x"},{"relation":"next","url":"https://evil.example/apis/default/fhir/Appointment?_offset=1"}],"entry":[]}"#.to_vec(),
        _ => {
            let depth = 100_000;
            let mut v = Vec::with_capacity(depth * 2);
            v.extend(std::iter::repeat_n(b'[', depth));
            v.extend(std::iter::repeat_n(b']', depth));
            v
        }
    }
}

/// Shape of `GET /control/faults`.
pub fn list(st: &AppState) -> Vec<FaultRule> {
    st.faults.lock().expect("faults lock").rules.clone()
}
