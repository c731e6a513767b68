//! Updates under policy against an update server on loopback TLS (issue 17): a real Tauri
//! manifest and a real artifact signed with minisign keys made here, fetched and verified by
//! the core's own network client and handed to an installer that replaces a stand-in AppImage
//! (the file `APPIMAGE` names). The shell's installer is tauri-plugin-updater; see
//! ARCHITECTURE.md for what that leaves unverified.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rounds_clinic_tests::{Pki, hospital, temp_dir};
use rounds_core::app::Environment;
use rounds_core::paths::Paths;
use rounds_core::policy::{UpdateChannel, UpdateMode};
use rounds_core::update::{
    Installer, Platform, UpdateContext, UpdatePolicy, UpdateState, Updates, VerifiedUpdate,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

struct Signer(minisign::KeyPair);

impl Signer {
    fn new() -> Self {
        Self(minisign::KeyPair::generate_unencrypted_keypair().expect("keypair"))
    }
    fn public(&self) -> String {
        STANDARD.encode(self.0.pk.to_box().expect("box").to_string())
    }
    fn sign(&self, bytes: &[u8], version: &str) -> String {
        let tc = format!(
            "timestamp:1765000000\tfile:Rounds_{version}_amd64.AppImage\tversion:{version}"
        );
        let sig =
            minisign::sign(Some(&self.0.pk), &self.0.sk, bytes, Some(&tc), None).expect("sign");
        STANDARD.encode(sig.to_string())
    }
}

/// An update server: path → body, and the request lines that reached it.
struct UpdateServer {
    base: String,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    requests: Arc<Mutex<Vec<String>>>,
    ca: PathBuf,
}

impl UpdateServer {
    async fn start(dir: &Path) -> Self {
        let pki = Pki::new("Rounds test update CA");
        let ca = pki.write_ca(dir, "update-ca.pem");
        let cert = pki.good_leaf();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key.clone().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(cert.chain.clone(), key)
            .expect("server config");
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let files: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Default::default();
        let requests: Arc<Mutex<Vec<String>>> = Default::default();
        let (f, r) = (files.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, f, r) = (acceptor.clone(), f.clone(), r.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&head)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    r.lock().expect("log").push(line.clone());
                    let path = line.split(' ').nth(1).unwrap_or_default().to_string();
                    let body = f.lock().expect("files").get(&path).cloned();
                    let head = match &body {
                        Some(b) => format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", b.len()),
                        None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into(),
                    };
                    let _ = tls.write_all(head.as_bytes()).await;
                    if let Some(b) = body {
                        let _ = tls.write_all(&b).await;
                    }
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            base: format!("https://127.0.0.1:{port}"),
            files,
            requests,
            ca,
        }
    }

    fn put(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.files
            .lock()
            .expect("files")
            .insert(path.into(), body.into());
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("log").clone()
    }

    /// Publishes `version` on `channel`: the artifact and a manifest naming it.
    fn publish(&self, channel: &str, version: &str, artifact: &[u8], signature: &str) {
        let path = format!("/dl/Rounds_{version}_amd64.AppImage");
        self.put(&path, artifact.to_vec());
        let manifest = serde_json::json!({
            "version": version,
            "notes": format!("Rounds {version}: the day view loads faster."),
            "pub_date": "2026-12-01T10:00:00Z",
            "platforms": { "linux-x86_64-appimage": { "signature": signature, "url": format!("{}{path}", self.base) } }
        });
        self.put(&format!("/rounds/{channel}.json"), manifest.to_string());
    }
}

fn ctx(
    server: &UpdateServer,
    key: &str,
    mode: UpdateMode,
    pinned: Option<&str>,
    running: &str,
) -> UpdateContext {
    UpdateContext {
        policy: UpdatePolicy {
            mode,
            channel: UpdateChannel::Stable,
            pinned_version: pinned.map(str::to_string),
            endpoint: Some(format!("{}/rounds/{{channel}}.json", server.base)),
            public_key: Some(key.into()),
            locked: true,
        },
        net: hospital(server.ca.to_str().expect("utf-8")),
        running: semver::Version::parse(running).expect("version"),
        platform: Platform {
            os: "linux".into(),
            arch: "x86_64".into(),
            bundle: Some("appimage".into()),
        },
        visit_open: false,
    }
}

/// Stands in for the plugin's AppImage step (it replaces the file `APPIMAGE` names; here the
/// test names it, since edition 2024 makes setting the variable in-process unsafe): writes the
/// verified bytes beside it and renames them over it, keeping its mode.
struct AppImageInstaller {
    target: PathBuf,
    calls: Mutex<u32>,
}

impl AppImageInstaller {
    fn new(dir: &Path) -> Self {
        let target = dir.join("Rounds.AppImage");
        std::fs::write(&target, OLD).expect("stand-in");
        Self {
            target,
            calls: Mutex::new(0),
        }
    }
    fn calls(&self) -> u32 {
        *self.calls.lock().expect("calls")
    }
    fn unchanged(&self) -> bool {
        std::fs::read(&self.target).expect("read") == OLD
    }
}

impl Installer for AppImageInstaller {
    fn install(&self, u: &VerifiedUpdate) -> Result<(), String> {
        *self.calls.lock().expect("calls") += 1;
        let perms = std::fs::metadata(&self.target)
            .map_err(|e| e.to_string())?
            .permissions();
        let tmp = self.target.with_extension("new");
        std::fs::write(&tmp, &u.bytes).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&tmp, perms).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &self.target).map_err(|e| e.to_string())
    }
}

const OLD: &[u8] = b"\x7fELF running Rounds 0.1.0";

fn artifact(version: &str) -> Vec<u8> {
    let mut a = format!("\x7fELF Rounds {version} ").into_bytes();
    a.extend((0..64 * 1024u32).map(|i| (i % 251) as u8));
    a
}

fn refused(state: &UpdateState) -> &str {
    match state {
        UpdateState::Refused { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn channel_offers_the_newer_signed_version_and_installs_it() {
    let dir = temp_dir("update-channel");
    let server = UpdateServer::start(&dir).await;
    let key = Signer::new();
    let new = artifact("0.2.0");
    server.publish("stable", "0.2.0", &new, &key.sign(&new, "0.2.0"));
    let beta = artifact("0.3.0-beta.1");
    server.publish(
        "beta",
        "0.3.0-beta.1",
        &beta,
        &key.sign(&beta, "0.3.0-beta.1"),
    );
    let c = ctx(&server, &key.public(), UpdateMode::Channel, None, "0.1.0");
    let updates = Updates::new();
    let t0 = std::time::Instant::now();
    let view = updates.check(&c).await;
    let check_ms = t0.elapsed().as_millis();
    match &view.state {
        UpdateState::Available { version, notes, .. } => {
            assert_eq!(version, "0.2.0");
            assert!(notes.as_deref().is_some_and(|n| n.contains("loads faster")));
        }
        other => panic!("expected an offer, got {other:?} ({})", view.message),
    }
    assert!(view.can_install_now && view.locked);
    assert!(
        view.message.contains("Rounds 0.2.0 is available"),
        "{}",
        view.message
    );

    let installer = AppImageInstaller::new(&dir);
    let t1 = std::time::Instant::now();
    let done = updates
        .install_now(&c, &installer)
        .await
        .expect("installed");
    let install_ms = t1.elapsed().as_millis();
    assert_eq!(
        done.state,
        UpdateState::Installed {
            version: "0.2.0".into()
        }
    );
    assert!(
        done.message
            .contains("starts the next time you open Rounds"),
        "{}",
        done.message
    );
    assert_eq!(
        std::fs::read(&installer.target).expect("read"),
        new,
        "the stand-in AppImage was replaced"
    );
    assert_eq!(
        server.requests(),
        vec![
            "GET /rounds/stable.json HTTP/1.1",
            "GET /dl/Rounds_0.2.0_amd64.AppImage HTTP/1.1"
        ]
    );
    println!(
        "check {check_ms} ms; download + verify + install of {} bytes {install_ms} ms",
        new.len()
    );

    // `beta` asks the beta manifest and gets the pre-release.
    let mut b = ctx(&server, &key.public(), UpdateMode::Channel, None, "0.1.0");
    b.policy.channel = UpdateChannel::Beta;
    let v = Updates::new().check(&b).await;
    assert!(
        matches!(&v.state, UpdateState::Available { version, .. } if version == "0.3.0-beta.1"),
        "{:?}",
        v.state
    );
}

#[tokio::test]
async fn pinned_holds_and_off_never_asks() {
    let dir = temp_dir("update-pinned");
    let server = UpdateServer::start(&dir).await;
    let key = Signer::new();
    let a = artifact("0.4.0");
    server.publish("stable", "0.4.0", &a, &key.sign(&a, "0.4.0"));

    // Held at the running version: nobody is asked.
    let at_pin = ctx(
        &server,
        &key.public(),
        UpdateMode::Pinned,
        Some("0.1.0"),
        "0.1.0",
    );
    let v = Updates::new().check(&at_pin).await;
    assert_eq!(
        v.state,
        UpdateState::Held {
            pinned: "0.1.0".into(),
            offered: None
        }
    );
    assert!(
        v.message.contains("keeps Rounds at version 0.1.0"),
        "{}",
        v.message
    );
    // `off`: nobody is asked, whatever is published.
    let off = ctx(&server, &key.public(), UpdateMode::Off, None, "0.1.0");
    let updates = Updates::new();
    assert_eq!(updates.check(&off).await.state, UpdateState::Off);
    let installer = AppImageInstaller::new(&dir);
    assert!(updates.install_now(&off, &installer).await.is_err());
    assert!(
        server.requests().is_empty(),
        "no request may reach the server: {:?}",
        server.requests()
    );

    // Pinned above the running version: the server's newer 0.4.0 is not taken.
    let below = ctx(
        &server,
        &key.public(),
        UpdateMode::Pinned,
        Some("0.3.0"),
        "0.1.0",
    );
    let updates = Updates::new();
    let v = updates.check(&below).await;
    assert_eq!(
        v.state,
        UpdateState::Held {
            pinned: "0.3.0".into(),
            offered: Some("0.4.0".into())
        }
    );
    assert!(updates.install_now(&below, &installer).await.is_err());
    assert_eq!(installer.calls(), 0);
    assert!(installer.unchanged());
    assert_eq!(
        server.requests(),
        vec!["GET /rounds/stable.json HTTP/1.1"],
        "the artifact was never fetched"
    );

    // Exactly the pinned version is taken.
    let p = artifact("0.3.0");
    server.publish("stable", "0.3.0", &p, &key.sign(&p, "0.3.0"));
    let v = updates.check(&below).await;
    assert!(
        matches!(&v.state, UpdateState::Available { version, .. } if version == "0.3.0"),
        "{:?}",
        v.state
    );
    updates
        .install_now(&below, &installer)
        .await
        .expect("installed");
    assert_eq!(std::fs::read(&installer.target).expect("read"), p);
}

#[tokio::test]
async fn another_key_a_downgrade_and_a_tampered_artifact_are_refused_and_nothing_changes() {
    let dir = temp_dir("update-refused");
    let server = UpdateServer::start(&dir).await;
    let ours = Signer::new();
    let theirs = Signer::new();
    let installer = AppImageInstaller::new(&dir);
    let c = ctx(&server, &ours.public(), UpdateMode::Channel, None, "0.2.0");
    let updates = Updates::new();

    // Signed with another key: refused on the manifest, the artifact is never fetched.
    let a = artifact("0.3.0");
    server.publish("stable", "0.3.0", &a, &theirs.sign(&a, "0.3.0"));
    let v = updates.check(&c).await;
    assert_eq!(refused(&v.state), "wrong_key");
    assert!(
        v.message.contains("signed with another key") && v.message.contains("0.2.0 keeps working"),
        "{}",
        v.message
    );
    assert!(updates.install_now(&c, &installer).await.is_err());
    assert!(
        !server.requests().iter().any(|r| r.contains("/dl/")),
        "{:?}",
        server.requests()
    );

    // A downgrade, validly signed: refused.
    let old = artifact("0.1.0");
    server.publish("stable", "0.1.0", &old, &ours.sign(&old, "0.1.0"));
    assert_eq!(refused(&updates.check(&c).await.state), "downgrade");

    // A tampered artifact: the manifest is fine, the bytes are not what was signed.
    server.publish("stable", "0.3.0", &a, &ours.sign(&a, "0.3.0"));
    let mut evil = a.clone();
    evil[40] ^= 1;
    server.put("/dl/Rounds_0.3.0_amd64.AppImage", evil);
    assert!(matches!(
        updates.check(&c).await.state,
        UpdateState::Available { .. }
    ));
    let e = updates
        .install_now(&c, &installer)
        .await
        .expect_err("tampered");
    assert!(
        matches!(e, rounds_core::update::UpdateError::Tampered),
        "{e}"
    );
    let v = updates.view(&c);
    assert_eq!(refused(&v.state), "tampered");
    assert!(
        v.message.contains("does not match its signature"),
        "{}",
        v.message
    );

    // Nothing was handed to the installer; the running copy is whole and updates still work.
    assert_eq!(installer.calls(), 0);
    assert!(installer.unchanged());
    server.put("/dl/Rounds_0.3.0_amd64.AppImage", a.clone());
    assert!(matches!(
        updates.check(&c).await.state,
        UpdateState::Available { .. }
    ));
    updates
        .install_now(&c, &installer)
        .await
        .expect("the genuine artifact installs");
    assert_eq!(std::fs::read(&installer.target).expect("read"), a);
}

#[tokio::test]
async fn the_update_server_gets_rounds_tls_rules_and_nothing_happens_during_a_visit() {
    let dir = temp_dir("update-tls");
    let server = UpdateServer::start(&dir).await;
    let key = Signer::new();
    let a = artifact("0.2.0");
    server.publish("stable", "0.2.0", &a, &key.sign(&a, "0.2.0"));

    // Without the hospital CA the server's certificate is refused before any request.
    let mut c = ctx(&server, &key.public(), UpdateMode::Channel, None, "0.1.0");
    c.net = rounds_core::net::NetConfig::default();
    let v = Updates::new().check(&c).await;
    assert!(
        matches!(&v.state, UpdateState::Failed { reason } if reason.contains("certificate")),
        "{:?}",
        v.state
    );
    assert!(server.requests().is_empty());

    // During a visit: no check, no install.
    let mut c = ctx(&server, &key.public(), UpdateMode::Channel, None, "0.1.0");
    c.visit_open = true;
    let updates = Updates::new();
    let v = updates.check(&c).await;
    assert_eq!(v.state, UpdateState::NotChecked);
    assert!(
        v.message.contains("wait until your visit ends"),
        "{}",
        v.message
    );
    assert!(server.requests().is_empty());
    c.visit_open = false;
    assert!(updates.check(&c).await.can_install_now);
    c.visit_open = true;
    let v = updates.view(&c);
    assert!(
        !v.can_install_now && v.message.contains("After your visit"),
        "{}",
        v.message
    );
    let installer = AppImageInstaller::new(&dir);
    let e = updates
        .install_now(&c, &installer)
        .await
        .expect_err("mid-visit");
    assert!(
        matches!(e, rounds_core::update::UpdateError::VisitOpen),
        "{e}"
    );
    assert_eq!(installer.calls(), 0);
}

#[tokio::test]
async fn the_core_maps_it_policy_to_update_rules_shown_locked() {
    let dir = temp_dir("update-core");
    let key = Signer::new();
    let policy = dir.join("policy.json");
    let doc = serde_json::json!({ "mandatory": { "updates": {
        "mode": "pinned", "pinned_version": "1.4.2",
        "endpoint": "https://updates.example.org/rounds/{channel}.json",
        "public_key": key.public() } } });
    std::fs::write(&policy, doc.to_string()).expect("policy");
    let core = rounds_core::Core::load(Environment {
        paths: Paths::under(dir.join("home")),
        policy_override: Some(policy),
    })
    .expect("core");
    assert!(
        core.policy_view().problem.is_none(),
        "{:?}",
        core.policy_view().problem
    );
    let c = core.update_context(Some("appimage")).await;
    assert_eq!(c.policy.mode, UpdateMode::Pinned);
    assert!(c.policy.locked && !c.visit_open);
    assert_eq!(
        c.platform.targets()[0],
        format!("linux-{}-appimage", std::env::consts::ARCH)
    );
    let v = Updates::new().view(&c);
    assert!(matches!(v.state, UpdateState::NotChecked));
}

#[tokio::test]
async fn check_and_verify_time_for_a_package_sized_artifact() {
    let dir = temp_dir("update-time");
    let server = UpdateServer::start(&dir).await;
    let key = Signer::new();
    // About the size of the .deb (7.6 MiB).
    let big: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    server.publish("stable", "0.2.0", &big, &key.sign(&big, "0.2.0"));
    let c = ctx(&server, &key.public(), UpdateMode::Channel, None, "0.1.0");
    let updates = Updates::new();
    let t0 = std::time::Instant::now();
    assert!(updates.check(&c).await.can_install_now);
    let check = t0.elapsed();
    let t1 = std::time::Instant::now();
    let v = updates.prepare(&c).await.expect("verified");
    let verify = t1.elapsed();
    assert_eq!(v.bytes.len(), big.len());
    println!(
        "8 MiB artifact: check {} ms, download + verify {} ms (this profile)",
        check.as_millis(),
        verify.as_millis()
    );
    assert!(verify < std::time::Duration::from_secs(60));
}
