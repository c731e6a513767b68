//! The path to the visit's video server, checked ahead: name lookup, a TCP round trip, then
//! TLS with Rounds' own rules (hospital CA, pins) through the core's one client
//! ([`NetClient`]), fetching the server's `external_api.js` as the visit will. No credential
//! is sent; the answer's status does not matter once the connection was verified.

use super::{Check, CheckKind};
use crate::net::{NetClient, NetError, Url};
use serde::Serialize;
use std::time::{Duration, Instant};

/// A round trip slower than this makes video stutter: said, not refused.
pub const SLOW_RTT_MS: u32 = 400;

/// How long each step took, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Times {
    pub dns_ms: u32,
    /// The TCP handshake: one round trip to the server.
    pub connect_ms: u32,
    /// TLS (verified) and the first answer, through Rounds' client.
    pub tls_ms: u32,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The video server is named only when the visit starts (nothing to check ahead).
    Unknown,
    /// The visit's own link names a server IT has not approved.
    NotAllowed {
        domain: String,
    },
    Reached {
        domain: String,
        times: Times,
    },
    /// The certificate chain is not one Rounds trusts (hospital CA / OS store).
    Untrusted {
        domain: String,
    },
    /// The chain verified but matches none of IT's pins.
    PinMismatch {
        domain: String,
    },
    /// Only old TLS offered.
    WeakTls {
        domain: String,
    },
    /// No name, no connection, or no answer.
    Unreachable {
        domain: String,
        step: Step,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Dns,
    Connect,
    Answer,
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Checks `domain` (`host[:port]`, https implied). `connect_timeout` bounds DNS and TCP.
pub async fn check(client: &NetClient, domain: &str, connect_timeout: Duration) -> Outcome {
    let d = domain.to_string();
    let unreachable = |step| Outcome::Unreachable {
        domain: d.clone(),
        step,
    };
    let Ok(url) = Url::parse(&format!("https://{domain}/external_api.js")) else {
        return unreachable(Step::Dns);
    };
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let t0 = Instant::now();
    let addrs = tokio::time::timeout(connect_timeout, tokio::net::lookup_host((host, port))).await;
    let addr = match addrs {
        Ok(Ok(mut a)) => a.next(),
        _ => None,
    };
    let Some(addr) = addr else {
        tracing::info!(domain, "readiness: video server name not found");
        return unreachable(Step::Dns);
    };
    let dns = t0.elapsed();
    let t1 = Instant::now();
    match tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(s)) => drop(s),
        _ => {
            tracing::info!(domain, "readiness: video server not reachable");
            return unreachable(Step::Connect);
        }
    }
    let connect = t1.elapsed();
    let t2 = Instant::now();
    let answer = client.get_bytes_with(&url, None).await;
    let tls = t2.elapsed();
    let times = Times {
        dns_ms: ms(dns),
        connect_ms: ms(connect),
        tls_ms: ms(tls),
    };
    match answer {
        Ok(_)
        | Err(NetError::Status { .. } | NetError::Redirect { .. } | NetError::TooLarge { .. }) => {
            Outcome::Reached { domain: d, times }
        }
        Err(e) => {
            tracing::info!(domain, error = %e, "readiness: video server refused");
            match e {
                NetError::Certificate { .. } => Outcome::Untrusted { domain: d },
                NetError::PinMismatch { .. } => Outcome::PinMismatch { domain: d },
                NetError::WeakTls { .. } => Outcome::WeakTls { domain: d },
                _ => unreachable(Step::Answer),
            }
        }
    }
}

impl Outcome {
    pub fn domain(&self) -> Option<&str> {
        match self {
            Self::Unknown => None,
            Self::NotAllowed { domain }
            | Self::Reached { domain, .. }
            | Self::Untrusted { domain }
            | Self::PinMismatch { domain }
            | Self::WeakTls { domain }
            | Self::Unreachable { domain, .. } => Some(domain),
        }
    }

    pub fn times(&self) -> Option<Times> {
        match self {
            Self::Reached { times, .. } => Some(*times),
            _ => None,
        }
    }

    pub(super) fn check(&self) -> Check {
        let k = CheckKind::VideoServer;
        let call_it = |what: &str, d: &str| {
            format!(
                "Call IT and tell them: \u{201c}{d}: {what}\u{201d}. Until then, do not start the visit here."
            )
        };
        match self {
            Self::Unknown => Check::not_checked(
                k,
                "The clinic names the video server when the visit starts; Rounds checks its connection then.",
            ),
            Self::NotAllowed { domain } => Check::attention(
                k,
                format!(
                    "This visit's link goes to {domain}, which your organisation has not approved for video visits."
                ),
                "Ask the clinic to send a link on the hospital's video server, or call IT.",
            ),
            Self::Reached { domain, times } if times.connect_ms > SLOW_RTT_MS => Check::attention(
                k,
                format!(
                    "The video server {domain} answers securely, but slowly ({} ms each way and back): video may stutter.",
                    times.connect_ms
                ),
                "Use a network cable or move closer to the Wi-Fi, and close downloads or streaming on this computer.",
            ),
            Self::Reached { domain, times } => Check::ok(
                k,
                format!(
                    "The video server {domain} answers over a verified secure connection ({} ms round trip).",
                    times.connect_ms
                ),
            ),
            Self::Untrusted { domain } => Check::attention(
                k,
                "Rounds cannot reach the video server securely: its certificate is not one your hospital trusts.",
                call_it("certificate not trusted", domain),
            ),
            Self::PinMismatch { domain } => Check::attention(
                k,
                "Rounds cannot reach the video server securely: its certificate is not the one your hospital pinned for it (a network device may be in the way).",
                call_it("certificate does not match the pinned key", domain),
            ),
            Self::WeakTls { domain } => Check::attention(
                k,
                "Rounds cannot reach the video server securely: it only offers an old, unsafe kind of encryption.",
                call_it("no TLS 1.2 or newer", domain),
            ),
            Self::Unreachable { domain, step } => Check::attention(
                k,
                match step {
                    Step::Dns => format!(
                        "This computer cannot find the video server {domain} on the network."
                    ),
                    Step::Connect => {
                        format!("The video server {domain} cannot be reached from this computer.")
                    }
                    Step::Answer => format!("The video server {domain} does not answer."),
                },
                "Check the network (Wi-Fi or cable). If it stays like this, call IT.",
            ),
        }
    }
}
