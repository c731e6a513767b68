//! Shared helpers for the client-against-sandbox integration tests in `tests/`: the sandbox
//! started in-process, certificates made by the tests (rcgen), and a tiny rustls listener that
//! logs whether a credential ever reached it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rounds_core::net::{Credential, NetConfig};
use rounds_core::secret::Secret;
use rounds_sandbox::{Options, Sandbox, Seed};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use url::Url;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The token every matrix test tries to send; the listeners look for it.
pub const TOKEN: &str = "test-bearer-token-do-not-leak";

static N: AtomicU32 = AtomicU32::new(0);

/// A fresh temporary directory (removed by the caller or left in /tmp).
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "rounds-clinic-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::create_dir_all(&d);
    d
}

/// The sandbox clinic, in-process, demo seed.
pub async fn sandbox() -> Sandbox {
    let o = {
        let mut o = Options::new(temp_dir("sandbox"));
        o.seed = Seed::Demo;
        o
    };
    rounds_sandbox::start(o).await.expect("sandbox starts")
}

/// Policy that trusts the sandbox CA as the hospital CA (plus the OS store).
pub fn hospital(ca_pem: &str) -> NetConfig {
    NetConfig {
        ca_bundle: Some(PathBuf::from(ca_pem)),
        ..NetConfig::default()
    }
}

/// A bearer credential made for exactly `url`'s origin.
pub fn cred_for(url: &Url) -> Credential {
    Credential::bearer(url, Secret::new(TOKEN.into()))
}

pub fn url(s: &str) -> Url {
    Url::parse(s).expect("url")
}

/// Extra listener on the sandbox (`expired`, `wrong_host`, `self_signed`, `unknown_ca`,
/// `tls1_1`, `tls1_0`) through the control API; returns its URL and, for openssl, its log.
pub async fn sandbox_listener(sb: &Sandbox, kind: &str) -> (Url, Option<PathBuf>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("control client");
    let v: serde_json::Value = client
        .post(format!("{}/control/tls-listeners", sb.ready.control_url))
        .json(&serde_json::json!({ "kind": kind }))
        .send()
        .await
        .expect("control")
        .json()
        .await
        .expect("control json");
    let u = v["url"].as_str().expect("listener url");
    (url(u), v["log"].as_str().map(PathBuf::from))
}

/// Requests the sandbox recorded on one listener: (path, carried Authorization or any secret).
pub fn sandbox_requests(sb: &Sandbox, listener: &str) -> Vec<(String, bool)> {
    sb.state
        .requests
        .lock()
        .expect("request log")
        .iter()
        .filter(|r| r.listener == listener)
        .map(|r| {
            (
                r.path.clone(),
                r.has_authorization
                    || r.has_password
                    || r.has_otp
                    || r.has_token
                    || r.has_client_secret,
            )
        })
        .collect()
}

/// SPKI pin of a PEM certificate computed by the `openssl` CLI (independent of the client).
pub fn openssl_pin(cert_pem: &Path) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A",
            cert_pem.display()
        ))
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl failed");
    format!("sha256/{}", String::from_utf8_lossy(&out.stdout).trim())
}

// ---------------------------------------------------------------------------------------------
// Certificates made by the tests.

/// A CA made by a test.
pub struct Pki {
    pub ca: CertifiedIssuer<'static, KeyPair>,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(30);
    p
}

/// A server certificate chain and its key.
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Vec<u8>,
    /// `sha256/<b64>` of the leaf's key (from rcgen's own SPKI encoding).
    pub leaf_pin: String,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("key");
        Self {
            ca: CertifiedIssuer::self_signed(ca_params(name), key).expect("CA"),
        }
    }

    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// Writes the CA PEM to `dir/name` and returns the path.
    pub fn write_ca(&self, dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, self.ca.pem()).expect("write CA");
        p
    }

    /// An intermediate CA signed by this CA.
    pub fn intermediate(&self, name: &str) -> Pki {
        let key = KeyPair::generate().expect("key");
        Pki {
            ca: CertifiedIssuer::signed_by(ca_params(name), key, &self.ca).expect("intermediate"),
        }
    }

    /// A leaf for `names`, valid in `[from, to]`; the chain sent is the leaf plus `extra`.
    pub fn leaf(
        &self,
        names: &[&str],
        from: OffsetDateTime,
        to: OffsetDateTime,
        extra: &[CertificateDer<'static>],
    ) -> ServerCert {
        let mut p =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<String>>())
                .expect("params");
        p.distinguished_name
            .push(DnType::CommonName, "rounds test server");
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        p.not_before = from;
        p.not_after = to;
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &self.ca).expect("leaf");
        let leaf_pin = rounds_core::net::verify::spki_pin(
            &rcgen::PublicKeyData::subject_public_key_info(&key),
        );
        let mut chain = vec![cert.der().clone()];
        chain.extend(extra.iter().cloned());
        ServerCert {
            chain,
            key: key.serialize_der(),
            leaf_pin,
        }
    }

    /// A currently valid leaf for the loopback names, sent with this CA.
    pub fn good_leaf(&self) -> ServerCert {
        let now = OffsetDateTime::now_utc();
        self.leaf(
            &["127.0.0.1", "localhost"],
            now - time::Duration::hours(1),
            now + time::Duration::days(7),
            &[],
        )
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny rustls listener with a canned behaviour and a log of what reached it.

/// What the test listener answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this JSON.
    Json(String),
    /// 302 to this location.
    Redirect(String),
    /// Accept the request, then say nothing.
    Stall,
    /// 200 with `total` bytes of JSON-ish filler, with or without a Content-Length.
    Flood { total: usize, content_length: bool },
}

/// What reached the listener.
#[derive(Debug, Default, Clone)]
pub struct ServerLog {
    pub tcp_accepted: u32,
    pub tls_ok: u32,
    pub tls_failed: Vec<String>,
    /// Request lines (method + path).
    pub requests: Vec<String>,
    /// Any request carried an `Authorization` header or the test token anywhere.
    pub saw_credential: bool,
    /// Body bytes the listener managed to write.
    pub body_bytes_sent: usize,
}

pub struct TestServer {
    pub url: Url,
    pub log: Arc<Mutex<ServerLog>>,
}

impl TestServer {
    pub fn log(&self) -> ServerLog {
        self.log.lock().expect("log").clone()
    }
}

/// Starts a TLS listener on 127.0.0.1 with `cert` and the given reply.
pub async fn tls_server(cert: &ServerCert, reply: Reply) -> TestServer {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.clone()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(cert.chain.clone(), key)
        .expect("server config");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let log = Arc::new(Mutex::new(ServerLog::default()));
    let log2 = log.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            log2.lock().expect("log").tcp_accepted += 1;
            let (acceptor, log, reply) = (acceptor.clone(), log2.clone(), reply.clone());
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(tls) => {
                        log.lock().expect("log").tls_ok += 1;
                        let _ = serve_one(tls, &log, &reply, port).await;
                    }
                    Err(e) => log.lock().expect("log").tls_failed.push(e.to_string()),
                }
            });
        }
    });
    TestServer {
        url: url(&format!("https://127.0.0.1:{port}/")),
        log,
    }
}

async fn serve_one<S>(
    mut s: S,
    log: &Mutex<ServerLog>,
    reply: &Reply,
    _port: u16,
) -> Result<(), BoxError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    {
        let mut l = log.lock().expect("log");
        l.requests
            .push(text.lines().next().unwrap_or_default().to_string());
        let lower = text.to_ascii_lowercase();
        if lower.contains("\r\nauthorization:") || text.contains(TOKEN) {
            l.saw_credential = true;
        }
    }
    match reply {
        Reply::Json(body) => {
            let r = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(r.as_bytes()).await?;
        }
        Reply::Redirect(to) => {
            let r = format!(
                "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            s.write_all(r.as_bytes()).await?;
        }
        Reply::Stall => {
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        Reply::Flood {
            total,
            content_length,
        } => {
            let mut r =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                    .to_string();
            if *content_length {
                r += &format!("content-length: {total}\r\n");
            }
            r += "\r\n";
            s.write_all(r.as_bytes()).await?;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < *total {
                let n = chunk.len().min(total - sent);
                s.write_all(&chunk[..n]).await?;
                sent += n;
                log.lock().expect("log").body_bytes_sent = sent;
            }
        }
    }
    s.flush().await?;
    let _ = s.shutdown().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP CONNECT proxy that logs the tunnels it opened.

pub struct TestProxy {
    pub url: Url,
    /// `host:port` of every CONNECT.
    pub connects: Arc<Mutex<Vec<String>>>,
}

/// Starts a CONNECT-only proxy on 127.0.0.1 (it never sees inside the TLS tunnel).
pub async fn connect_proxy() -> TestProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connects = Arc::new(Mutex::new(Vec::new()));
    let log = connects.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    match client.read(&mut b).await {
                        Ok(1) => head.push(b[0]),
                        _ => return,
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let Some(target) = line
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split(' ').next())
                else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                log.lock().expect("log").push(target.to_string());
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    TestProxy {
        url: url(&format!("http://127.0.0.1:{port}")),
        connects,
    }
}
/// GET (or POST / DELETE with `body`) on the sandbox's control API; fails the test unless it
/// answers 2xx; returns its JSON (or `Null`).
pub async fn control(
    sb: &Sandbox,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let c = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("control client");
    let url = format!("{}{path}", sb.ready.control_url);
    let req = match method {
        "POST" => c.post(url).json(&body),
        "DELETE" => c.delete(url),
        "PATCH" => c.patch(url).json(&body),
        _ => c.get(url),
    };
    let r = req.send().await.expect("control call");
    assert!(
        r.status().is_success(),
        "control {method} {path}: {}",
        r.status()
    );
    r.json().await.unwrap_or(serde_json::Value::Null)
}

/// The sandbox's token endpoint and the CA that signs it: tests get bearer tokens from it
/// directly (the sandbox is a separate party; no keychain involved).
#[derive(Clone)]
pub struct TokenEndpoint {
    url: String,
    ca_pem: String,
}

impl TokenEndpoint {
    pub fn of(sb: &Sandbox) -> Self {
        Self {
            url: format!("{}/oauth2/{}/token", sb.ready.base_url, sb.ready.site),
            ca_pem: sb.ready.ca_pem.clone(),
        }
    }

    /// An access token for `user` from the password grant with the demo client (a user
    /// without the MFA step, or any user when the sandbox's MFA grant is switched off).
    pub async fn token_for(&self, user: &str) -> Result<String, String> {
        use rounds_sandbox::seed;
        let pem = std::fs::read(&self.ca_pem).map_err(|e| e.to_string())?;
        let ca = reqwest::Certificate::from_pem(&pem).map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([ca])
            .build()
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value = http
            .post(&self.url)
            .form(&[
                ("grant_type", "password"),
                ("client_id", seed::DEMO_CLIENT_ID),
                ("client_secret", seed::DEMO_CLIENT_SECRET),
                ("user_role", "users"),
                ("username", user),
                ("password", seed::DEMO_PASSWORD),
                ("scope", seed::APP_SCOPE),
            ])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        v["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no access_token: {v}"))
    }
}

pub mod auth_support;
pub mod clinic_page;
pub mod stock;
