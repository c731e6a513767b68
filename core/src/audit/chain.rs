//! The record format of the chain: what a line holds beyond the entry, and how it is hashed
//! and keyed.
//!
//! A line is `{"seq":N,<the entry's fields>,"prev":"<hex>","mac":"<hex>"|null}`:
//! - `seq` counts records from the chain's first one, across rotated files, so a deleted or
//!   moved record shows as a gap or a step back even where the hashes were recomputed;
//! - `prev` is SHA-256 over the previous line's exact bytes (without its newline), so the
//!   verifier never re-serializes anything: what was written is what is hashed. The first
//!   record of a chain has 64 zeros, or the SHA-256 of the legacy file it replaced;
//! - `mac` is HMAC-SHA256 under the keychain's audit key over every byte before `,"mac":`
//!   (so over `seq` and `prev` too: a record cannot be moved, relinked or spliced in from
//!   another chain under the same key without the key). `null` means the keychain could not
//!   be reached when the line was written: still chained, but not authenticated, and
//!   `verify` says so.
//!
//! SHA-256 alone would not stop anyone: whoever can edit the file can recompute the hashes.
//! The chain makes order and completeness checkable; the MAC makes it unforgeable without the
//! key; the keychain checkpoint ([`super::keys::Checkpoint`]) catches a cut tail.

use aws_lc_rs::{constant_time, digest, hmac};
use zeroize::Zeroizing;

use super::AuditEntry;

pub type Hash = [u8; 32];

/// `prev` of a chain's first record when there is nothing before it.
pub const ZERO_HASH: Hash = [0; 32];

const MAC_FIELD: &[u8] = b",\"mac\":";
/// Domain separation: the key MACs nothing but audit records of this format.
const MAC_DOMAIN: &[u8] = b"rounds-audit-v1\n";

/// SHA-256 of a line's bytes (without the newline).
pub fn line_hash(line: &[u8]) -> Hash {
    let d = digest::digest(&digest::SHA256, line);
    let mut h = ZERO_HASH;
    h.copy_from_slice(d.as_ref());
    h
}

/// The audit MAC key, in memory only. No `Debug` of the bytes, no way to read them back.
pub struct MacKey(hmac::Key);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey([redacted])")
    }
}

impl MacKey {
    /// From the keychain's 64 hex digits; `None` if it is not exactly 32 bytes of hex.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let bytes = Zeroizing::new(hex_decode(hex)?);
        (bytes.len() == 32).then(|| Self(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    fn tag(&self, body: &[u8]) -> Hash {
        let mut c = hmac::Context::with_key(&self.0);
        c.update(MAC_DOMAIN);
        c.update(body);
        let mut h = ZERO_HASH;
        h.copy_from_slice(c.sign().as_ref());
        h
    }

    fn check(&self, body: &[u8], tag: &Hash) -> bool {
        constant_time::verify_slices_are_equal(&self.tag(body), tag).is_ok()
    }
}

/// The line for `entry` at `seq` after a record hashing to `prev` (no newline).
pub fn make_line(seq: u64, entry: &AuditEntry, prev: &Hash, key: Option<&MacKey>) -> String {
    let fields = entry.to_line();
    let inner = fields
        .strip_prefix('{')
        .and_then(|f| f.strip_suffix('}'))
        .unwrap_or("");
    let mut line = format!("{{\"seq\":{seq},{inner},\"prev\":\"{}\"", hex(prev));
    let mac = key.map(|k| k.tag(line.as_bytes()));
    line.push_str(",\"mac\":");
    match mac {
        Some(m) => {
            line.push('"');
            line.push_str(&hex(&m));
            line.push_str("\"}");
        }
        None => line.push_str("null}"),
    }
    line
}

/// What the chain needs of one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub seq: u64,
    pub at: String,
    pub kind: String,
    pub prev: Hash,
    pub mac: Option<Hash>,
    pub detail: serde_json::Map<String, serde_json::Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    seq: u64,
    at: String,
    kind: String,
    #[allow(dead_code)]
    appointment: String,
    #[serde(default)]
    detail: serde_json::Map<String, serde_json::Value>,
    prev: String,
    mac: Option<String>,
}

/// Why a line is not a chain record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unparsable {
    /// Not JSON, or JSON without `seq`/`prev` (a line from before the chain, or garbage).
    NotARecord,
    /// JSON with the chain's fields, but `prev`/`mac` are not 64 hex digits, or `mac` is
    /// not the last field.
    BadFields,
}

/// Reads a line; `Ok` says nothing about its MAC or link yet.
pub fn parse(line: &[u8]) -> Result<Link, Unparsable> {
    let raw: Raw = serde_json::from_slice(line).map_err(|_| Unparsable::NotARecord)?;
    let prev = hex_hash(&raw.prev).ok_or(Unparsable::BadFields)?;
    let mac = match &raw.mac {
        Some(m) => Some(hex_hash(m).ok_or(Unparsable::BadFields)?),
        None => None,
    };
    // The MAC is over the bytes before the last `,"mac":`; it must be the last field.
    let body = mac_body(line).ok_or(Unparsable::BadFields)?;
    let tail = &line[body.len() + MAC_FIELD.len()..];
    let expect = match &raw.mac {
        Some(m) => format!("\"{m}\"}}"),
        None => "null}".into(),
    };
    if tail != expect.as_bytes() {
        return Err(Unparsable::BadFields);
    }
    Ok(Link {
        seq: raw.seq,
        at: raw.at,
        kind: raw.kind,
        prev,
        mac,
        detail: raw.detail,
    })
}

fn mac_body(line: &[u8]) -> Option<&[u8]> {
    let at = line
        .windows(MAC_FIELD.len())
        .rposition(|w| w == MAC_FIELD)?;
    Some(&line[..at])
}

/// Whether `line`'s MAC (already parsed into `link`) was made with `key`.
pub fn mac_ok(key: &MacKey, line: &[u8], link: &Link) -> bool {
    match (&link.mac, mac_body(line)) {
        (Some(tag), Some(body)) => key.check(body, tag),
        _ => false,
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    fn nib(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// 64 lowercase hex digits → a hash.
pub fn hex_hash(s: &str) -> Option<Hash> {
    if s.len() != 64 || s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let v = hex_decode(s)?;
    let mut h = ZERO_HASH;
    h.copy_from_slice(&v);
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditKind;

    fn key() -> MacKey {
        MacKey::from_hex(&"ab".repeat(32)).expect("key")
    }

    #[test]
    fn a_line_round_trips_and_its_mac_covers_seq_and_prev() {
        let e = AuditEntry::new(1_795_530_000, AuditKind::VisitJoined, "a1").count("n", 2);
        let prev = line_hash(b"before");
        let line = make_line(7, &e, &prev, Some(&key()));
        assert!(line.starts_with("{\"seq\":7,"), "{line}");
        let l = parse(line.as_bytes()).expect("parses");
        assert_eq!((l.seq, l.prev, l.kind.as_str()), (7, prev, "visit.joined"));
        assert!(mac_ok(&key(), line.as_bytes(), &l));
        let other = MacKey::from_hex(&"cd".repeat(32)).expect("key");
        assert!(!mac_ok(&other, line.as_bytes(), &l));
        for edited in [
            line.replacen("\"seq\":7", "\"seq\":8", 1),
            line.replacen(&hex(&prev), &hex(&ZERO_HASH), 1),
        ] {
            let l = parse(edited.as_bytes()).expect("still parses");
            assert!(!mac_ok(&key(), edited.as_bytes(), &l), "{edited}");
        }
    }

    #[test]
    fn unkeyed_lines_say_so_and_odd_lines_are_refused() {
        let e = AuditEntry::new(1, AuditKind::VisitEnded, "a1");
        let line = make_line(0, &e, &ZERO_HASH, None);
        assert!(line.ends_with(",\"mac\":null}"), "{line}");
        assert_eq!(parse(line.as_bytes()).expect("parses").mac, None);
        assert_eq!(parse(e.to_line().as_bytes()), Err(Unparsable::NotARecord));
        let moved = line
            .replace(",\"mac\":null}", "}")
            .replacen("{", "{\"mac\":null,", 1);
        assert_eq!(parse(moved.as_bytes()), Err(Unparsable::BadFields));
        assert!(MacKey::from_hex("abc").is_none() && MacKey::from_hex(&"zz".repeat(32)).is_none());
    }
}
