//! reqwest/hyper/rustls errors → the few classes a doctor can act on. The detail (host, the
//! verifier's reason, the pin that failed) is for the log; it never contains a secret because no
//! request data is ever part of these errors (URLs are reduced to their origin).

use rustls::{AlertDescription, CertificateError};

use super::NetError;
use super::verify::PinMismatch;

/// Finds the rustls error inside reqwest's error chain (it travels wrapped in `io::Error`).
fn find_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        // tokio-rustls wraps the rustls error in an io::Error, sometimes in two of them.
        let mut io = c.downcast_ref::<std::io::Error>();
        while let Some(inner) = io.and_then(|i| i.get_ref()) {
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return Some(r);
            }
            io = inner.downcast_ref::<std::io::Error>();
        }
        cur = c.source();
    }
    None
}

/// Classifies a rustls handshake error; `None` when it is not a TLS refusal.
pub(crate) fn tls_error(host: &str, e: &rustls::Error) -> Option<NetError> {
    let detail = format!("{e}");
    let host = host.to_string();
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(o)) => {
            if let Some(p) = o.0.downcast_ref::<PinMismatch>() {
                return Some(NetError::PinMismatch {
                    host,
                    detail: p.to_string(),
                });
            }
            Some(NetError::Certificate { host, detail })
        }
        rustls::Error::InvalidCertificate(c) => Some(NetError::Certificate {
            host,
            detail: format!("{}: {detail}", cert_reason(c)),
        }),
        rustls::Error::AlertReceived(AlertDescription::ProtocolVersion)
        | rustls::Error::AlertReceived(AlertDescription::InsufficientSecurity)
        | rustls::Error::AlertReceived(AlertDescription::HandshakeFailure)
        | rustls::Error::PeerIncompatible(_) => Some(NetError::WeakTls { host, detail }),
        rustls::Error::InvalidMessage(_) | rustls::Error::PeerMisbehaved(_) => {
            Some(NetError::WeakTls { host, detail })
        }
        _ => None,
    }
}

/// A stable name for the verifier's reason (logs, `doctor`, tests).
pub fn cert_reason(c: &CertificateError) -> &'static str {
    use CertificateError as C;
    match c {
        C::Expired | C::ExpiredContext { .. } => "Expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "NotValidYet",
        C::NotValidForName | C::NotValidForNameContext { .. } => "NotValidForName",
        C::UnknownIssuer => "UnknownIssuer",
        C::BadSignature | C::UnsupportedSignatureAlgorithmContext { .. } => "BadSignature",
        C::Revoked => "Revoked",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => "InvalidPurpose",
        C::BadEncoding => "BadEncoding",
        _ => "Invalid",
    }
}

/// Turns reqwest's error into the doctor-readable classes.
pub(crate) fn classify(host: &str, e: &reqwest::Error) -> NetError {
    if let Some(r) = find_rustls(e)
        && let Some(n) = tls_error(host, r)
    {
        return n;
    }
    let detail = chain(e);
    if e.is_timeout() {
        return NetError::Timeout {
            host: host.into(),
            detail,
        };
    }
    NetError::Connect {
        host: host.into(),
        detail,
    }
}

/// The error and its causes on one line, including rustls errors wrapped inside `io::Error`.
/// reqwest puts the full URL in its message; we strip it (a query could carry a token).
pub(crate) fn chain(e: &reqwest::Error) -> String {
    let mut parts = vec![e.without_url_ref().to_string()];
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            parts.push(format!("{inner:?}"));
        }
        parts.push(c.to_string());
        cur = c.source();
    }
    parts.dedup();
    parts.join(": ")
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut s = self.to_string();
        if let Some(u) = self.url() {
            s = s.replace(u.as_str(), &super::origin(u));
        }
        s
    }
}
