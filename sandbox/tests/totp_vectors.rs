//! The sandbox's own TOTP/HOTP check against the RFC vectors in ../shared/data/otp.

mod common;

use rounds_sandbox::totp::{self, Alg};
use rounds_sandbox::util::{base32_decode, base32_encode};
use serde_json::Value;

fn load(name: &str) -> Value {
    let p = common::shared_data(&format!("otp/{name}"));
    serde_json::from_str(&std::fs::read_to_string(&p).expect("vector file readable"))
        .expect("vector JSON")
}

#[test]
fn rfc6238_appendix_b_all_algorithms() {
    let v = load("rfc6238_totp_vectors.json");
    let vectors = v["vectors"].as_array().expect("vectors");
    assert_eq!(vectors.len(), 18);
    for t in vectors {
        let alg = match t["algorithm"].as_str().expect("alg") {
            "SHA1" => Alg::Sha1,
            "SHA256" => Alg::Sha256,
            "SHA512" => Alg::Sha512,
            a => panic!("unknown {a}"),
        };
        let secret = t["secret_ascii"].as_str().expect("secret").as_bytes();
        assert_eq!(
            base32_decode(t["secret_base32"].as_str().expect("b32")).expect("b32 decodes"),
            secret
        );
        let code = totp::totp(
            alg,
            secret,
            t["time"].as_i64().expect("time"),
            t["period"].as_i64().expect("period"),
            t["digits"].as_u64().expect("digits") as u32,
        );
        assert_eq!(code, t["expected"].as_str().expect("expected"), "{t}");
    }
}

#[test]
fn rfc4226_appendix_d() {
    let v = load("rfc4226_hotp_vectors.json");
    let secret = v["secret_ascii"].as_str().expect("secret").as_bytes();
    assert_eq!(
        base32_encode(secret),
        v["secret_base32"].as_str().expect("b32")
    );
    for t in v["vectors"].as_array().expect("vectors") {
        let code = totp::hotp(
            Alg::Sha1,
            secret,
            t["counter"].as_u64().expect("counter"),
            6,
        );
        assert_eq!(
            format!("{code:06}"),
            t["expected"].as_str().expect("expected")
        );
    }
}

#[test]
fn six_digit_check_accepts_one_step_either_side_and_refuses_replay() {
    let secret = b"12345678901234567890";
    let t = 1_800_000_015;
    for d in [-30, 0, 30] {
        let c = totp::code_now(secret, t + d);
        assert!(totp::verify(secret, &c, t, None).is_some(), "offset {d}");
    }
    for d in [-60, 60] {
        let c = totp::code_now(secret, t + d);
        assert!(totp::verify(secret, &c, t, None).is_none(), "offset {d}");
    }
    let c = totp::code_now(secret, t);
    let step = totp::verify(secret, &c, t, None).expect("valid");
    assert!(
        totp::verify(secret, &c, t + 10, Some(step)).is_none(),
        "replay refused"
    );
}
