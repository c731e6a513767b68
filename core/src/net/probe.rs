//! `rounds-cli doctor --server URL`: the same trust rules as the app, run once against a server,
//! reported for IT (TLS version and suite, chain, which root vouched for it, pins, proxy) with a
//! plain-words verdict. No credential is ever sent by a probe.

use std::io::{Read as _, Write as _};
use std::net::ToSocketAddrs as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::verify::{PinStatus, TrustedBy, Verification};
use super::{NetConfig, NetError, ProxyConfig, check_url_allowed, origin, tls_config};

#[derive(Debug, Clone, Serialize)]
pub struct TlsSummary {
    pub version: String,
    pub cipher_suite: String,
    pub alpn: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainCert {
    pub subject: String,
    pub spki_pin: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Posture {
    pub server: String,
    pub proxy: String,
    /// Negotiated protocol; absent when refused before the handshake ended or through a proxy.
    pub tls: Option<TlsSummary>,
    /// Presented chain, leaf first.
    pub chain: Vec<ChainCert>,
    pub trusted_by: Option<TrustedBy>,
    pub pin: Option<PinStatus>,
    /// HTTP status of a credential-free GET of the URL, when Rounds accepted the connection.
    pub http_status: Option<u16>,
    /// Would Rounds use this server?
    pub accepted: bool,
    pub verdict: String,
    /// Technical reason, for IT's ticket.
    pub detail: Option<String>,
    /// The presented leaf certificate (DER), when the handshake was seen (not through a proxy).
    #[serde(skip)]
    pub leaf_der: Option<Vec<u8>>,
}

/// What the proxy setting means right now (credentials in a proxy URL are never shown).
pub fn describe_proxy(p: &ProxyConfig) -> String {
    match p {
        ProxyConfig::Direct => "none (policy: direct connections)".into(),
        ProxyConfig::Url(u) => format!("{} (policy)", origin(u)),
        ProxyConfig::System => {
            let from_env = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
            match from_env.and_then(|v| Url::parse(&v).ok()) {
                Some(u) => format!("{} (system settings)", origin(&u)),
                None => "none (no system proxy set)".into(),
            }
        }
    }
}

fn proxy_in_use(p: &ProxyConfig) -> bool {
    match p {
        ProxyConfig::Direct => false,
        ProxyConfig::Url(_) => true,
        ProxyConfig::System => !describe_proxy(p).starts_with("none"),
    }
}

/// Plain words for IT: why Rounds would refuse, and that nothing was sent.
pub fn verdict_for(e: &NetError) -> String {
    let nothing = "Rounds would not send any password, code or token to it.";
    match e {
        NetError::Certificate { detail, .. } => {
            let why = if detail.contains("Expired") {
                "its certificate has expired"
            } else if detail.contains("NotValidYet") {
                "its certificate is not valid yet (check this computer's clock)"
            } else if detail.contains("NotValidForName") {
                "its certificate is for a different server name"
            } else if detail.contains("UnknownIssuer") {
                "its certificate is not from the hospital CA or a CA this computer trusts \
                 (self-signed, unknown CA, incomplete chain, or a CA policy does not allow)"
            } else {
                "its certificate was refused"
            };
            format!("REFUSED: {why}. {nothing}")
        }
        NetError::PinMismatch { .. } => format!(
            "REFUSED: the certificate is valid but its keys are not the ones IT pinned for this server \
             (a network device may be intercepting the connection, or the server's key changed). {nothing}"
        ),
        NetError::WeakTls { .. } => {
            format!("REFUSED: the server does not offer TLS 1.2 or newer. {nothing}")
        }
        NetError::InsecureScheme { .. } => {
            format!("REFUSED: plain http is only allowed to this computer; use https. {nothing}")
        }
        NetError::BadUrl { .. } => "REFUSED: the address is not usable.".into(),
        NetError::CaBundle { .. } | NetError::Setup(_) => {
            "REFUSED: the hospital CA bundle in policy cannot be used.".into()
        }
        NetError::Timeout { .. } => "UNREACHABLE: the server did not answer in time.".into(),
        NetError::Connect { .. } => "UNREACHABLE: the server could not be reached.".into(),
        _ => format!("REFUSED: {e}"),
    }
}

/// Blocking handshake with the app's TLS settings; returns the negotiated parameters.
fn handshake(
    cfg: &NetConfig,
    url: &Url,
    observer: Arc<Mutex<Option<Verification>>>,
    timeout: Duration,
) -> Result<TlsSummary, NetError> {
    let host = origin(url);
    let mut tls = tls_config(cfg, Some(observer))?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name_str = url.host_str().unwrap_or_default();
    let name = rustls::pki_types::ServerName::try_from(
        name_str
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
    .map_err(|e| NetError::BadUrl {
        url: host.clone(),
        detail: e.to_string(),
    })?;
    let port = url.port_or_known_default().unwrap_or(443);
    let connect_err = |detail: String| NetError::Connect {
        host: host.clone(),
        detail,
    };
    let addr = (name_str.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .map_err(|e| connect_err(e.to_string()))?
        .next()
        .ok_or_else(|| connect_err("no address".into()))?;
    let mut sock = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        if e.kind() == std::io::ErrorKind::TimedOut {
            NetError::Timeout {
                host: host.clone(),
                detail: e.to_string(),
            }
        } else {
            connect_err(e.to_string())
        }
    })?;
    let _ = sock.set_read_timeout(Some(timeout));
    let _ = sock.set_write_timeout(Some(timeout));
    let mut conn = rustls::ClientConnection::new(Arc::new(tls), name)
        .map_err(|e| NetError::Setup(e.to_string()))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            let tls_err = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .and_then(|r| super::classify::tls_error(&host, r));
            return Err(tls_err.unwrap_or_else(|| connect_err(e.to_string())));
        }
    }
    let summary = TlsSummary {
        version: conn
            .protocol_version()
            .map_or("?".into(), |v| format!("{v:?}")),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map_or("?".into(), |s| format!("{:?}", s.suite())),
        alpn: conn
            .alpn_protocol()
            .map(|a| String::from_utf8_lossy(a).into_owned()),
    };
    // Polite close; nothing was written but the handshake.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    let _ = sock.flush();
    let mut sink = [0u8; 1];
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = sock.read(&mut sink);
    Ok(summary)
}

/// Runs the probe. `client` is the app's client for the same `cfg` (proxy and all).
pub async fn probe(cfg: &NetConfig, client: &super::NetClient, url: &Url) -> Posture {
    let mut p = Posture {
        server: origin(url),
        proxy: describe_proxy(&cfg.proxy),
        tls: None,
        chain: Vec::new(),
        trusted_by: None,
        pin: None,
        http_status: None,
        accepted: false,
        verdict: String::new(),
        detail: None,
        leaf_der: None,
    };
    if let Err(e) = check_url_allowed(url) {
        p.verdict = verdict_for(&e);
        p.detail = Some(e.to_string());
        return p;
    }
    if url.scheme() == "http" {
        p.verdict =
            "Plain http to this computer (a test setup); allowed only for a loopback server."
                .into();
    }
    if url.scheme() == "https" && !proxy_in_use(&cfg.proxy) {
        let observer = Arc::new(Mutex::new(None));
        let (cfg2, url2, obs2, t) = (
            cfg.clone(),
            url.clone(),
            observer.clone(),
            client.limits().connect,
        );
        let hs = tokio::task::spawn_blocking(move || handshake(&cfg2, &url2, obs2, t))
            .await
            .unwrap_or_else(|e| Err(NetError::Setup(e.to_string())));
        if let Ok(Some(v)) = observer.lock().map(|g| g.clone()) {
            p.chain = v
                .presented_subjects
                .iter()
                .zip(v.presented_pins.iter())
                .map(|(s, k)| ChainCert {
                    subject: s.clone(),
                    spki_pin: k.clone(),
                })
                .collect();
            p.trusted_by = v.trusted_by;
            p.pin = Some(v.pin);
            p.leaf_der = Some(v.leaf_der).filter(|d| !d.is_empty());
        }
        match hs {
            Ok(t) => p.tls = Some(t),
            Err(e) => {
                p.verdict = verdict_for(&e);
                p.detail = Some(e.to_string());
                return p;
            }
        }
    }
    // The real client, through the proxy when there is one: what the app would get.
    match client.get_bytes_with(url, None).await {
        Ok(_) => p.http_status = Some(200),
        Err(NetError::Status { status, .. }) => p.http_status = Some(status),
        Err(NetError::Redirect { .. }) => p.http_status = Some(302),
        Err(NetError::TooLarge { .. }) => p.http_status = Some(200),
        Err(e) => {
            p.verdict = verdict_for(&e);
            p.detail = Some(e.to_string());
            return p;
        }
    }
    p.accepted = true;
    if p.verdict.is_empty() {
        let by = p
            .trusted_by
            .map_or_else(|| "the trust rules in force".to_string(), |b| b.to_string());
        let pin = match &p.pin {
            Some(PinStatus::Matched { .. }) => " and matches a key pinned by IT",
            _ => "",
        };
        p.verdict =
            format!("OK: Rounds would use this server. Its certificate was verified by {by}{pin}.");
    }
    p
}
