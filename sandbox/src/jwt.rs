//! Compact JWS helpers: HS256 for Jitsi tokens (§4.2), ES256 for id_tokens.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::util::{b64url, b64url_decode};

/// HS256-signed JWT with `{"alg":"HS256","typ":"JWT"}`.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let sig = hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64url(sig.as_ref()))
}

/// Verifies an HS256 JWT's signature (not its claims) and returns the claims.
pub fn verify_hs256(token: &str, secret: &[u8]) -> Option<Value> {
    let (input, sig) = token.rsplit_once('.')?;
    let (header, payload) = input.split_once('.')?;
    let header: Value = serde_json::from_slice(&b64url_decode(header)?).ok()?;
    if header.get("alg")? != "HS256" {
        return None;
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, input.as_bytes(), &b64url_decode(sig)?).ok()?;
    serde_json::from_slice(&b64url_decode(payload)?).ok()
}

/// ES256-signed JWT (id_token). OpenEMR signs with RS256; clients must not care (deviation).
pub fn sign_es256(claims: &Value, key: &EcdsaKeyPair, kid: &str) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let sig = key
        .sign(&rng, input.as_bytes())
        .expect("ECDSA signing cannot fail with a valid key");
    format!("{input}.{}", b64url(sig.as_ref()))
}

/// JWKS document for the id_token key.
pub fn jwks(key: &EcdsaKeyPair, kid: &str) -> Value {
    let point = key.public_key().as_ref();
    // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
    let (x, y) = (&point[1..33], &point[33..65]);
    json!({"keys": [{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                      "x": b64url(x), "y": b64url(y)}]})
}

/// Claims of a JWT without checking anything (tests, logging-free inspection).
pub fn claims_unverified(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&b64url_decode(payload)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_round_trip() {
        let t = sign_hs256(&json!({"room": "appt-x"}), b"secret");
        assert_eq!(
            verify_hs256(&t, b"secret").expect("valid")["room"],
            "appt-x"
        );
        assert!(verify_hs256(&t, b"other").is_none());
    }
}
