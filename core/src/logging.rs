//! Logs to the platform's log directory, through a redaction layer.
//!
//! Code never logs secrets on purpose ([`crate::secret::Secret`] cannot be formatted), but a
//! URL, a server's error body or a library's debug line can carry one. So every formatted line
//! passes [`redact`] before it reaches the file: bearer tokens, JWTs, `password=`/`token=`-style
//! pairs and OTP codes are replaced. PHI is kept out by never logging patient data at all.

use regex::Regex;
use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;
use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let rules: [(&str, &str); 4] = [
        // Authorization headers, any scheme.
        (
            r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}",
            "$1 [redacted]",
        ),
        // JWTs (three base64url parts), wherever they appear.
        (
            r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
            "[redacted-jwt]",
        ),
        // key=value / "key":"value" pairs whose key names a secret.
        (
            r#"(?i)("?\b(?:password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|id_token|mfa_token|otp|totp|code|code_verifier|jwt|key)"?\s*[:=]\s*"?)[^\s"&,;}]+"#,
            "${1}[redacted]",
        ),
        // otpauth:// URIs carry the TOTP seed.
        (r"otpauth://\S+", "[redacted-otpauth]"),
    ];
    rules
        .into_iter()
        .map(|(re, rep)| (Regex::new(re).expect("static regex"), rep))
        .collect()
});

/// Replaces anything that looks like a credential in one log line.
pub fn redact(line: &str) -> String {
    let mut out = line.to_string();
    for (re, rep) in PATTERNS.iter() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *rep).into_owned();
        }
    }
    out
}

/// A writer that redacts each formatted event before passing it on.
pub struct RedactingWriter<W: Write> {
    inner: W,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub struct RedactingMakeWriter<M> {
    inner: M,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
        }
    }
}

/// Keeps the background log writer alive; logs are flushed when it drops.
pub struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Starts file logging (daily files, 14 kept). `RUST_LOG` may raise detail for support.
pub fn init(log_dir: &Path, default_level: &str) -> std::io::Result<LogGuard> {
    std::fs::create_dir_all(log_dir)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("rounds")
        .filename_suffix("log")
        .max_log_files(14)
        .build(log_dir)
        .map_err(std::io::Error::other)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(RedactingMakeWriter { inner: writer })
        .finish();
    // A second init (tests, CLI inside the app) keeps the first subscriber; that is fine.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(LogGuard(guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_common_credential_shapes() {
        let cases = [
            "Authorization: Bearer abcdefghijklmnop.qrs",
            "body grant_type=password&username=drsmith&password=hunter2!&otp=123456",
            r#"{"access_token":"def50200aabbcc","refresh_token":"rt-998877"}"#,
            "iframe src=https://meet/room?jwt=eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiYSJ9.c2lnbmF0dXJl",
            "scan otpauth://totp/Clinic:drsmith?secret=JBSWY3DPEHPK3PXP&issuer=Clinic",
            "mfa_token: 9f8e7d6c5b",
        ];
        let secrets = [
            "abcdefghijklmnop",
            "hunter2",
            "123456",
            "def50200aabbcc",
            "rt-998877",
            "c2lnbmF0dXJl",
            "JBSWY3DPEHPK3PXP",
            "9f8e7d6c5b",
        ];
        for c in cases {
            let r = redact(c);
            for s in secrets {
                assert!(!r.contains(s), "{c} → {r} still has {s}");
            }
        }
        // Ordinary lines are untouched.
        assert_eq!(redact("synced 12 appointments"), "synced 12 appointments");
        assert_eq!(redact("username=drsmith"), "username=drsmith");
    }

    #[test]
    fn writer_redacts_what_reaches_the_file() {
        let mut sink = Vec::new();
        {
            let mut w = RedactingWriter { inner: &mut sink };
            w.write_all(b"token=abc123secret ok\n").expect("write");
        }
        let text = String::from_utf8(sink).expect("utf8");
        assert!(!text.contains("abc123secret"), "{text}");
        assert!(text.contains("ok"));
    }
}
