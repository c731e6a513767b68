//! minisign as Tauri's updater uses it: the policy's public key, and per artifact a signature
//! whose trusted comment names the version it was signed for (`…\tversion:1.4.2`).
//!
//! Two steps, so a wrong key or a relabelled release is refused before a byte of the artifact
//! is downloaded: [`check_header`] (key id, and the trusted comment under its global signature,
//! which covers the comment but not the file) and, after the download, [`verify_artifact`]
//! (`minisign-verify`, the crate the plugin itself verifies with).

use super::UpdateError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The key every update must be signed with.
#[derive(Clone, PartialEq, Eq)]
pub struct UpdateKey {
    /// The `RW…` line (base64 of algorithm, key id and key).
    line: String,
    key_id: [u8; 8],
    key: [u8; 32],
}

impl std::fmt::Debug for UpdateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UpdateKey({})", self.id_hex())
    }
}

impl UpdateKey {
    /// The key id as minisign prints it (upper-case hex, little-endian), for logs and IT.
    pub fn id_hex(&self) -> String {
        hex_id(&self.key_id)
    }

    /// The form Tauri's plugin takes (base64 of a `.pub` file), so it re-verifies with the
    /// same key the core did.
    pub fn tauri_form(&self) -> String {
        STANDARD.encode(format!(
            "untrusted comment: rounds update key\n{}\n",
            self.line
        ))
    }
}

fn hex_id(id: &[u8; 8]) -> String {
    id.iter().rev().map(|b| format!("{b:02X}")).collect()
}

/// Accepts the `RW…` line, the two-line `.pub` text, or Tauri's base64 of that text.
pub fn parse_public_key(s: &str) -> Result<UpdateKey, String> {
    let s = s.trim();
    let text = if s.starts_with("RW") || s.contains('\n') {
        s.to_string()
    } else {
        let raw = STANDARD
            .decode(s)
            .map_err(|_| "not a minisign public key (RW… or Tauri's base64 form)".to_string())?;
        String::from_utf8(raw).map_err(|_| "not a minisign public key".to_string())?
    };
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .ok_or("no key line in the minisign public key")?
        .to_string();
    let bin = STANDARD
        .decode(&line)
        .map_err(|_| "the key line is not base64".to_string())?;
    if bin.len() != 42 || &bin[..2] != b"Ed" {
        return Err("not an Ed25519 minisign public key".into());
    }
    minisign_verify::PublicKey::from_base64(&line).map_err(|e| e.to_string())?;
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&bin[2..10]);
    let mut key = [0u8; 32];
    key.copy_from_slice(&bin[10..42]);
    Ok(UpdateKey { line, key_id, key })
}

/// A manifest's `signature`: base64 of the `.sig` file (Tauri), or the file's text itself.
struct SigFile {
    text: String,
    key_id: [u8; 8],
    sig: [u8; 64],
    trusted_comment: String,
    global: Vec<u8>,
}

fn parse_sig(field: &str) -> Result<SigFile, UpdateError> {
    let bad = |what: &str| UpdateError::BadSignature {
        detail: what.to_string(),
    };
    let field = field.trim();
    let text = if field.contains('\n') {
        field.to_string()
    } else {
        let raw = STANDARD
            .decode(field)
            .map_err(|_| bad("signature is not base64"))?;
        String::from_utf8(raw).map_err(|_| bad("signature is not text"))?
    };
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let [_, sig_line, tc_line, global_line, ..] = lines.as_slice() else {
        return Err(bad("signature file has fewer than four lines"));
    };
    let bin = STANDARD
        .decode(sig_line)
        .map_err(|_| bad("signature line is not base64"))?;
    if bin.len() != 74 || &bin[..2] != b"ED" {
        return Err(bad("not a prehashed (ED) minisign signature"));
    }
    let trusted_comment = tc_line
        .strip_prefix("trusted comment: ")
        .ok_or_else(|| bad("no trusted comment"))?
        .to_string();
    let global = STANDARD
        .decode(global_line)
        .map_err(|_| bad("global signature is not base64"))?;
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&bin[2..10]);
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&bin[10..74]);
    Ok(SigFile {
        text,
        key_id,
        sig,
        trusted_comment,
        global,
    })
}

/// The `version:` field of a trusted comment (tab-separated `key:value`, as Tauri writes).
fn signed_version(trusted_comment: &str) -> Option<&str> {
    trusted_comment
        .split('\t')
        .find_map(|f| f.strip_prefix("version:"))
}

/// Before downloading: signed by `key`, and signed for exactly `version` (the trusted comment
/// is read only after its global signature verifies; a signature without a version is refused,
/// since it could label any older release as new).
pub fn check_header(
    key: &UpdateKey,
    field: &str,
    version: &semver::Version,
) -> Result<(), UpdateError> {
    let sig = parse_sig(field)?;
    if sig.key_id != key.key_id {
        return Err(UpdateError::WrongKey {
            key_id: hex_id(&sig.key_id),
        });
    }
    let mut msg = sig.sig.to_vec();
    msg.extend_from_slice(sig.trusted_comment.as_bytes());
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, key.key)
        .verify(&msg, &sig.global)
        .map_err(|_| UpdateError::BadSignature {
            detail: "the trusted comment's signature does not verify".into(),
        })?;
    let signed = signed_version(&sig.trusted_comment).ok_or(UpdateError::BadSignature {
        detail: "the signature does not name the version it was made for".into(),
    })?;
    let same = semver::Version::parse(signed.trim_start_matches('v')).is_ok_and(|v| v == *version);
    if !same {
        return Err(UpdateError::SignedVersionMismatch {
            signed: signed.chars().take(40).collect(),
            announced: version.to_string(),
        });
    }
    Ok(())
}

/// After downloading: the bytes are exactly what `key` signed.
pub fn verify_artifact(key: &UpdateKey, field: &str, bytes: &[u8]) -> Result<(), UpdateError> {
    let sig = parse_sig(field)?;
    let pk = minisign_verify::PublicKey::from_base64(&key.line).map_err(|e| {
        UpdateError::BadSignature {
            detail: e.to_string(),
        }
    })?;
    let s =
        minisign_verify::Signature::decode(&sig.text).map_err(|e| UpdateError::BadSignature {
            detail: e.to_string(),
        })?;
    match pk.verify(bytes, &s, false) {
        Ok(()) => Ok(()),
        Err(minisign_verify::Error::UnexpectedKeyId) => Err(UpdateError::WrongKey {
            key_id: hex_id(&sig.key_id),
        }),
        Err(minisign_verify::Error::InvalidSignature) => Err(UpdateError::Tampered),
        Err(e) => Err(UpdateError::BadSignature {
            detail: e.to_string(),
        }),
    }
}
