//! HOTP (RFC 4226) and TOTP (RFC 6238), written here so the check is tested against the RFC
//! vectors independently of whatever library the client uses.

use aws_lc_rs::hmac;

/// HMAC algorithm of an OTP credential. Authenticator apps (and the sandbox users) use SHA-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Sha1,
    Sha256,
    Sha512,
}

impl Alg {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Alg::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Alg::Sha256 => hmac::HMAC_SHA256,
            Alg::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// RFC 4226 §5.3: HMAC, dynamic truncation, modulo 10^digits.
pub fn hotp(alg: Alg, secret: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(alg.hmac(), secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let h = tag.as_ref();
    let off = (h[h.len() - 1] & 0x0f) as usize;
    let bin = (u32::from(h[off]) & 0x7f) << 24
        | u32::from(h[off + 1]) << 16
        | u32::from(h[off + 2]) << 8
        | u32::from(h[off + 3]);
    bin % 10u32.pow(digits)
}

/// RFC 6238 time step for a Unix time (T0 = 0).
pub fn step(unix: i64, period: i64) -> u64 {
    (unix.max(0) / period) as u64
}

/// TOTP code as a zero-padded string.
pub fn totp(alg: Alg, secret: &[u8], unix: i64, period: i64, digits: u32) -> String {
    let code = hotp(alg, secret, step(unix, period), digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The sandbox's TOTP parameters (§1.7): SHA-1, 6 digits, 30 s.
pub fn code_now(secret: &[u8], unix: i64) -> String {
    totp(Alg::Sha1, secret, unix, 30, 6)
}

/// Checks a 6-digit SHA-1/30 s code with ±1 step tolerance. Steps at or before `last_used`
/// are refused, so a code (or an older one) cannot be replayed. Returns the matching step.
pub fn verify(secret: &[u8], code: &str, unix: i64, last_used: Option<u64>) -> Option<u64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step(unix, 30);
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .filter(|s| last_used.is_none_or(|l| *s > l))
        .find(|s| format!("{:06}", hotp(Alg::Sha1, secret, *s, 6)) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_appendix_d() {
        let secret = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(hotp(Alg::Sha1, secret, i as u64, 6), *e);
        }
    }

    #[test]
    fn window_and_replay() {
        let secret = b"12345678901234567890";
        let t = 1_700_000_000;
        let prev = totp(Alg::Sha1, secret, t - 30, 30, 6);
        let next = totp(Alg::Sha1, secret, t + 30, 30, 6);
        let far = totp(Alg::Sha1, secret, t + 90, 30, 6);
        assert!(verify(secret, &prev, t, None).is_some());
        assert!(verify(secret, &next, t, None).is_some());
        assert!(verify(secret, &far, t, None).is_none());
        let used = verify(secret, &code_now(secret, t), t, None).expect("current code");
        assert!(verify(secret, &code_now(secret, t), t, Some(used)).is_none());
        assert!(verify(secret, &prev, t, Some(used)).is_none());
        assert!(verify(secret, "12345", t, None).is_none());
    }
}
