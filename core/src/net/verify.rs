//! Certificate trust: the OS store (rustls-platform-verifier) plus the hospital CA, or the
//! hospital CA only, then SPKI pins on top — never instead of chain validation.
//!
//! Order of checks for one handshake:
//! 1. If IT gave a hospital CA bundle, the chain is checked against it (webpki). A chain that
//!    reaches the hospital CA but is bad (expired, wrong name, …) is refused right there.
//! 2. If the chain does not lead to the hospital CA and policy allows the OS store, the platform
//!    verifier decides.
//! 3. When policy has pins for the host, one key of the *verified* chain must match: the leaf's,
//!    or a presented certificate or hospital root whose key actually signs (through the
//!    presented intermediates) the leaf. A pinned certificate merely added to the handshake by a
//!    third party does not count.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

/// Which trust source vouched for a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustedBy {
    /// The hospital CA bundle from IT policy.
    HospitalCa,
    /// The operating system's trust store.
    OsStore,
}

impl std::fmt::Display for TrustedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::HospitalCa => "the hospital CA (IT policy)",
            Self::OsStore => "the operating system's trust store",
        })
    }
}

/// Pin outcome for one handshake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum PinStatus {
    /// Policy has no pins for this host.
    NotPinned,
    /// This pin (`sha256/<b64>`) matched a key of the verified chain.
    Matched { pin: String },
    /// No key of the chain matched; `chain_pins` are the keys the server showed.
    Mismatch { chain_pins: Vec<String> },
}

/// What the verifier saw, for `rounds-cli doctor --server` (public data only).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    pub host: String,
    /// `sha256/<b64>` SPKI pin of every presented certificate, leaf first.
    pub presented_pins: Vec<String>,
    /// Subject of each presented certificate (RFC 4514-ish, best effort), leaf first.
    pub presented_subjects: Vec<String>,
    pub trusted_by: Option<TrustedBy>,
    pub pin: PinStatus,
    /// The verifier's reason when it refused.
    pub refused: Option<String>,
    /// The leaf certificate (DER) exactly as presented: the app lets its video view trust
    /// this one certificate for this host after Rounds' own checks passed.
    #[serde(skip)]
    pub leaf_der: Vec<u8>,
}

/// Raised inside the handshake when pins exist and none matched.
#[derive(Debug)]
pub struct PinMismatch {
    pub host: String,
    pub chain_pins: Vec<String>,
}

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "certificate pin mismatch for {}: the server's chain has keys [{}], none of them pinned by policy",
            self.host,
            self.chain_pins.join(", ")
        )
    }
}

impl std::error::Error for PinMismatch {}

/// `sha256/<base64>` of a DER SubjectPublicKeyInfo (RFC 7469, `curl --pinnedpubkey`).
pub fn spki_pin(spki_der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki_der);
    format!(
        "sha256/{}",
        base64::engine::general_purpose::STANDARD.encode(d.as_ref())
    )
}

/// The SPKI (outer SEQUENCE included) of a certificate, parsed by webpki.
pub fn cert_spki(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    if let Ok(ee) = webpki::EndEntityCert::try_from(cert) {
        return Some(ee.subject_public_key_info().as_ref().to_vec());
    }
    // CA certificates with extensions webpki does not accept on a leaf.
    let ta = webpki::anchor_from_trusted_cert(cert).ok()?;
    Some(der_sequence(ta.subject_public_key_info.as_ref()))
}

/// The pin of a certificate's key, or a marker when it cannot be parsed.
pub fn cert_pin(cert: &CertificateDer<'_>) -> String {
    cert_spki(cert).map_or_else(|| "unparsable-certificate".into(), |s| spki_pin(&s))
}

fn der_sequence(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Subject of a certificate as text, best effort (only for reports).
fn subject_text(cert: &CertificateDer<'_>) -> String {
    let Ok(ee) = webpki::EndEntityCert::try_from(cert) else {
        return "?".into();
    };
    dn_text(ee.subject())
}

/// Tiny DER walk over a Name: prints CN/O/OU values (what IT recognises).
fn dn_text(mut name: &[u8]) -> String {
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let l0 = *b.get(1)? as usize;
        let (len, hdr) = if l0 < 0x80 {
            (l0, 2)
        } else {
            let n = l0 & 0x7f;
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | *b.get(2 + i)? as usize;
            }
            (len, 2 + n)
        };
        let end = hdr.checked_add(len)?;
        Some((tag, b.get(hdr..end)?, b.get(end..)?))
    }
    let mut parts = Vec::new();
    while let Some((_, set, rest)) = tlv(name) {
        name = rest;
        if let Some((_, atv, _)) = tlv(set)
            && let Some((_, oid, after)) = tlv(atv)
            && let Some((_, val, _)) = tlv(after)
        {
            let label = match oid {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                _ => continue,
            };
            parts.push(format!("{label}={}", String::from_utf8_lossy(val)));
        }
    }
    if parts.is_empty() {
        "(no name)".into()
    } else {
        parts.join(", ")
    }
}

/// The host key used for pins: lowercase, no port, no IPv6 brackets.
pub fn pin_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

fn server_name_host(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => pin_host(d.as_ref()),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => String::new(),
    }
}

/// Checks that each pin looks like `sha256/<base64 of 32 bytes>`.
pub fn parse_pin(pin: &str) -> Result<String, String> {
    let b64 = pin
        .strip_prefix("sha256/")
        .ok_or_else(|| format!("pin `{pin}` must start with sha256/"))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| format!("pin `{pin}` is not base64"))?;
    if raw.len() != 32 {
        return Err(format!("pin `{pin}` is not a SHA-256 hash"));
    }
    Ok(pin.to_string())
}

/// The verifier every connection of the core goes through.
#[derive(Debug)]
pub struct PolicyVerifier {
    hospital: Option<Arc<WebPkiServerVerifier>>,
    hospital_roots: Vec<CertificateDer<'static>>,
    os: Option<Arc<dyn ServerCertVerifier>>,
    pins: BTreeMap<String, Vec<String>>,
    provider: Arc<CryptoProvider>,
    /// Set only for `doctor` probes: what the last handshake looked like.
    observer: Option<Arc<Mutex<Option<Verification>>>>,
}

impl PolicyVerifier {
    pub fn new(
        provider: Arc<CryptoProvider>,
        hospital_roots: Vec<CertificateDer<'static>>,
        use_os_store: bool,
        pins: BTreeMap<String, Vec<String>>,
    ) -> Result<Self, String> {
        let hospital = if hospital_roots.is_empty() {
            None
        } else {
            let mut store = rustls::RootCertStore::empty();
            for c in &hospital_roots {
                store
                    .add(c.clone())
                    .map_err(|e| format!("hospital CA certificate not usable: {e}"))?;
            }
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                    .build()
                    .map_err(|e| e.to_string())?,
            )
        };
        let os: Option<Arc<dyn ServerCertVerifier>> = if use_os_store {
            match rustls_platform_verifier::Verifier::new(provider.clone()) {
                Ok(v) => Some(Arc::new(v)),
                Err(e) => {
                    tracing::warn!(error = %e, "OS trust store unavailable; only the hospital CA is trusted");
                    None
                }
            }
        } else {
            None
        };
        let mut norm = BTreeMap::new();
        for (host, list) in pins {
            let mut ok = Vec::new();
            for p in list {
                ok.push(parse_pin(&p)?);
            }
            if !ok.is_empty() {
                norm.insert(pin_host(&host), ok);
            }
        }
        Ok(Self {
            hospital,
            hospital_roots,
            os,
            pins: norm,
            provider,
            observer: None,
        })
    }

    /// A copy that records each handshake's [`Verification`] (for `doctor`).
    pub fn observed(mut self, slot: Arc<Mutex<Option<Verification>>>) -> Self {
        self.observer = Some(slot);
        self
    }

    fn chain_verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<TrustedBy, rustls::Error> {
        if let Some(h) = &self.hospital {
            match h.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Ok(_) => return Ok(TrustedBy::HospitalCa),
                // Not issued under the hospital CA: the OS store may still vouch for it.
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
                    if self.os.is_some() => {}
                // Issued under the hospital CA but bad (expired, wrong name, …), or CA-only.
                Err(e) => return Err(e),
            }
        }
        match &self.os {
            Some(os) => os
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
                .map(|_| TrustedBy::OsStore),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        }
    }

    /// Pins: the leaf's key, or a key that provably signs the leaf through the presented chain.
    fn pin_check(
        &self,
        host: &str,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> PinStatus {
        let Some(pins) = self.pins.get(host) else {
            return PinStatus::NotPinned;
        };
        let leaf_pin = cert_pin(end_entity);
        if pins.contains(&leaf_pin) {
            return PinStatus::Matched { pin: leaf_pin };
        }
        let Ok(ee) = webpki::EndEntityCert::try_from(end_entity) else {
            return PinStatus::Mismatch {
                chain_pins: vec![leaf_pin],
            };
        };
        let algs = self.provider.signature_verification_algorithms.all;
        let candidates = intermediates.iter().chain(self.hospital_roots.iter());
        for cand in candidates {
            let pin = cert_pin(cand);
            if !pins.contains(&pin) {
                continue;
            }
            let Ok(anchor) = webpki::anchor_from_trusted_cert(cand) else {
                continue;
            };
            let anchors = [anchor];
            let signs_leaf = ee
                .verify_for_usage(
                    algs,
                    &anchors,
                    intermediates,
                    now,
                    webpki::KeyUsage::server_auth(),
                    None,
                    None,
                )
                .is_ok();
            if signs_leaf {
                return PinStatus::Matched { pin };
            }
        }
        let mut chain_pins = vec![leaf_pin];
        chain_pins.extend(intermediates.iter().map(|c| cert_pin(c)));
        PinStatus::Mismatch { chain_pins }
    }
}

impl ServerCertVerifier for PolicyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let host = server_name_host(server_name);
        let chain = self.chain_verify(end_entity, intermediates, server_name, ocsp_response, now);
        let (result, trusted_by, pin) = match chain {
            Err(e) => (Err(e), None, PinStatus::NotPinned),
            Ok(by) => match self.pin_check(&host, end_entity, intermediates, now) {
                PinStatus::Mismatch { chain_pins } => (
                    Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                        OtherError(Arc::new(PinMismatch {
                            host: host.clone(),
                            chain_pins: chain_pins.clone(),
                        })),
                    ))),
                    Some(by),
                    PinStatus::Mismatch { chain_pins },
                ),
                p => (Ok(ServerCertVerified::assertion()), Some(by), p),
            },
        };
        if let Err(e) = &result {
            tracing::warn!(host = %host, reason = %e, "server certificate refused");
        }
        if let Some(slot) = &self.observer {
            let mut presented_pins = vec![cert_pin(end_entity)];
            presented_pins.extend(intermediates.iter().map(|c| cert_pin(c)));
            let mut presented_subjects = vec![subject_text(end_entity)];
            presented_subjects.extend(intermediates.iter().map(|c| subject_text(c)));
            let v = Verification {
                host,
                presented_pins,
                presented_subjects,
                trusted_by,
                pin,
                refused: result.as_ref().err().map(|e| e.to_string()),
                leaf_der: end_entity.as_ref().to_vec(),
            };
            if let Ok(mut g) = slot.lock() {
                *g = Some(v);
            }
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_must_be_sha256_base64() {
        let good = format!(
            "sha256/{}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        );
        assert!(parse_pin(&good).is_ok());
        assert!(parse_pin("sha1/AAAA").is_err());
        assert!(parse_pin("sha256/not base64!").is_err());
        assert!(parse_pin("sha256/AAAA").is_err(), "3 bytes is not a hash");
    }

    #[test]
    fn der_sequence_long_form() {
        assert_eq!(der_sequence(&[1, 2]), vec![0x30, 2, 1, 2]);
        let long = vec![0u8; 300];
        let w = der_sequence(&long);
        assert_eq!(&w[..4], &[0x30, 0x82, 0x01, 0x2c]);
        assert_eq!(w.len(), 304);
    }

    #[test]
    fn pin_host_normalises() {
        assert_eq!(pin_host("[::1]"), "::1");
        assert_eq!(pin_host("EMR.Example.org"), "emr.example.org");
    }
}
