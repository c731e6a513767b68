//! A test authenticator app: what a clinician's phone does with the key Rounds shows during
//! enrollment (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps). Independent of the sandbox's code.

use aws_lc_rs::hmac;

/// The current code for a base32 key as shown to humans (spaces allowed).
pub fn code_now(key: &str) -> Option<String> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    code_at(key, secs)
}

pub fn code_at(key: &str, unix_secs: u64) -> Option<String> {
    let secret = base32(key)?;
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret),
        &(unix_secs / 30).to_be_bytes(),
    );
    let d = tag.as_ref();
    let off = (d[19] & 0x0f) as usize;
    let n = u32::from_be_bytes([d[off] & 0x7f, d[off + 1], d[off + 2], d[off + 3]]);
    Some(format!("{:06}", n % 1_000_000))
}

fn base32(key: &str) -> Option<Vec<u8>> {
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in key.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = match c.to_ascii_uppercase() {
            'A'..='Z' => c.to_ascii_uppercase() as u64 - 'A' as u64,
            '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B, SHA1 seed "12345678901234567890", T = 59 → 94287082 (8 digits).
        let key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(super::code_at(key, 59).as_deref(), Some("287082"));
        assert_eq!(
            super::code_at(key, 1_111_111_109).as_deref(),
            Some("081804")
        );
    }
}
