//! Small helpers shared by the handlers: randomness, encodings, time formats and the JSON
//! error shapes of the spec (RFC 6749 §5.2 for OAuth/clinic calls, `OperationOutcome` for FHIR).
//!
//! Everything cryptographic goes through `aws-lc-rs`, which rustls already links, so the
//! sandbox adds no second crypto library.

use aws_lc_rs::rand::SecureRandom;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Boxed error used on start-up paths (binding, certificates, files).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `n` bytes from the system CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("system random generator failed");
    buf
}

/// An unguessable opaque token (URL-safe base64 of 32 random bytes).
pub fn random_token() -> String {
    b64url(&random_bytes(32))
}

/// Random version-4 UUID.
pub fn uuid_v4() -> String {
    let mut b = random_bytes(16);
    format_uuid(&mut b)
}

/// Deterministic UUID (v4 layout) from a label, so generated data is reproducible between runs.
pub fn uuid_from(label: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, label.as_bytes());
    let mut b = d.as_ref()[..16].to_vec();
    format_uuid(&mut b)
}

fn format_uuid(b: &mut [u8]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// URL-safe base64 without padding (JWT segments, tokens).
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes URL-safe base64 with or without padding.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

/// Standard base64 decode (HTTP Basic credentials).
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, upper case, no padding (the form authenticator apps expect).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// RFC 4648 base32 decode; accepts lower case, spaces and `=` padding.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = B32
            .iter()
            .position(|&x| x as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// RFC 3339 with `Z`, whole seconds (bundle `meta.lastUpdated`, clinic API times).
pub fn rfc3339_z(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// RFC 3339 with `+00:00`, whole seconds: the form OpenEMR puts in resources.
pub fn rfc3339_offset(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses an RFC 3339 instant (any offset).
pub fn parse_instant(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// JSON response with the given status; `no-store` because many carry secrets.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// RFC 6749 §5.2 error body, optionally with extra members (`reason`, `mfa_token`, ...).
pub fn oauth_error(
    status: StatusCode,
    error: &str,
    description: &str,
    extra: Option<Value>,
) -> Response {
    let mut m = Map::new();
    m.insert("error".into(), json!(error));
    m.insert("error_description".into(), json!(description));
    if let Some(Value::Object(x)) = extra {
        m.extend(x);
    }
    let mut resp = json_response(status, &Value::Object(m));
    if status == StatusCode::UNAUTHORIZED && error == "invalid_token" {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    resp
}

/// FHIR `OperationOutcome` error with `application/fhir+json`.
pub fn fhir_error(status: StatusCode, code: &str, diagnostics: &str) -> Response {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}]
    });
    fhir_response(status, body.to_string())
}

/// A FHIR JSON body, already serialised.
pub fn fhir_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    resp
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Percent-encodes a query component, leaving the characters FHIR links usually show raw
/// (`:` in instants, `,` in lists) readable.
pub fn query_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b',' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Minimal HTML escaping for the login and meeting pages.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trip() {
        let data = b"12345678901234567890";
        let enc = base32_encode(data);
        assert_eq!(enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode(&enc).expect("decodes"), data);
        assert_eq!(base32_decode("gezd gnbv").expect("lenient"), b"12345");
    }

    #[test]
    fn uuid_shape() {
        let u = uuid_from("x");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(u, uuid_from("x"));
        assert_ne!(uuid_v4(), uuid_v4());
    }
}
