//! Certificates for the sandbox: a throw-away CA made at every start, the server certificate it
//! signs for `127.0.0.1`, `localhost` and `::1`, and the deliberately bad certificates the control
//! API serves on alternate listeners (expired, wrong host, self-signed, unknown CA).
//!
//! Keys are ECDSA P-256 (fast to generate, so start-up stays well under a second).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::util::BoxError;

/// The names every good server certificate covers.
pub const LOOPBACK_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// A certificate chain plus its key, in the forms rustls and `openssl s_server` need.
pub struct Leaf {
    /// Leaf first, then the issuing CA when there is one.
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 DER key.
    pub key_der: Vec<u8>,
    /// PEM of the leaf (+ CA), for writing to disk.
    pub chain_pem: String,
    /// PEM of the key.
    pub key_pem: String,
}

/// The sandbox CA. Lives only in memory (plus its public PEM on disk).
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// PEM of the CA certificate; this is what clients put in `ca_bundle`.
    pub pem: String,
    der: CertificateDer<'static>,
}

/// What kind of bad (or good) leaf to make; see the control API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafKind {
    /// Valid, CA-signed, for the loopback names.
    Good,
    /// CA-signed but `notAfter` is yesterday.
    Expired,
    /// CA-signed for `wrong-host.invalid` only.
    WrongHost,
    /// Self-signed for the loopback names (no CA).
    SelfSigned,
    /// Signed by a second, unrelated CA that clients do not trust.
    UnknownCa,
}

fn ca_params(name: &str) -> Result<CertificateParams, BoxError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Rounds Sandbox Clinic");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(30);
    Ok(params)
}

impl TestCa {
    /// Makes a fresh CA with a new key.
    pub fn new(name: &str) -> Result<Self, BoxError> {
        let params = ca_params(name)?;
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Makes a leaf of the given kind. `UnknownCa` and `SelfSigned` do not use `self`.
    pub fn leaf(&self, kind: LeafKind) -> Result<Leaf, BoxError> {
        let names: Vec<String> = match kind {
            LeafKind::WrongHost => vec!["wrong-host.invalid".into()],
            _ => LOOPBACK_NAMES.iter().map(|s| s.to_string()).collect(),
        };
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "Rounds Sandbox Clinic server");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = kind != LeafKind::SelfSigned;
        let now = OffsetDateTime::now_utc();
        if kind == LeafKind::Expired {
            params.not_before = now - Duration::days(30);
            params.not_after = now - Duration::days(1);
        } else {
            params.not_before = now - Duration::hours(1);
            params.not_after = now + Duration::days(7);
        }
        let key = KeyPair::generate()?;
        let (cert, ca_der, ca_pem) = match kind {
            LeafKind::SelfSigned => (params.self_signed(&key)?, None, None),
            LeafKind::UnknownCa => {
                let other = TestCa::new("Untrusted Other CA")?;
                let cert = params.signed_by(&key, &other.issuer)?;
                (cert, Some(other.der.clone()), Some(other.pem.clone()))
            }
            _ => (
                params.signed_by(&key, &self.issuer)?,
                Some(self.der.clone()),
                Some(self.pem.clone()),
            ),
        };
        let mut chain = vec![cert.der().clone()];
        let mut chain_pem = cert.pem();
        if let (Some(d), Some(p)) = (ca_der, ca_pem) {
            chain.push(d);
            chain_pem.push_str(&p);
        }
        Ok(Leaf {
            chain,
            key_der: key.serialize_der(),
            chain_pem,
            key_pem: key.serialize_pem(),
        })
    }
}

/// The same server with TLS 1.2 as its only version (a valid certificate, an older stack).
pub fn server_config_tls12(leaf: &Leaf) -> Result<Arc<ServerConfig>, BoxError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// rustls server config for a leaf: TLS 1.2 + 1.3 (rustls has nothing older), HTTP/1.1 ALPN.
pub fn server_config(leaf: &Leaf) -> Result<Arc<ServerConfig>, BoxError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
