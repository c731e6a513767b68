//! The TLS and proxy set-up, shared by the client and the doctor's probe so both verify a
//! server the same way.

use super::verify::{self, PolicyVerifier};
use super::{NetConfig, NetError, ProxyConfig, origin};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// rustls configuration for a policy: TLS 1.3 + 1.2 only, aws-lc-rs' (all AEAD) suites, our
/// verifier. `observer` records the verification (doctor only).
pub(crate) fn tls_config(
    cfg: &NetConfig,
    observer: Option<Arc<Mutex<Option<verify::Verification>>>>,
) -> Result<rustls::ClientConfig, NetError> {
    let roots = match &cfg.ca_bundle {
        Some(path) => load_ca_bundle(path)?,
        None => Vec::new(),
    };
    if cfg.ca_only && roots.is_empty() {
        return Err(NetError::CaBundle {
            path: "(none)".into(),
            detail: "policy trusts only the hospital CA but names no CA bundle".into(),
        });
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut verifier =
        PolicyVerifier::new(provider.clone(), roots, !cfg.ca_only, cfg.spki_pins.clone())
            .map_err(NetError::Setup)?;
    if let Some(o) = observer {
        verifier = verifier.observed(o);
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| NetError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(tls)
}

fn load_ca_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let err = |detail: String| NetError::CaBundle {
        path: path.display().to_string(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificates in the file".into()));
    }
    Ok(certs)
}

/// The proxy part of the builder; the same TLS verifier runs end to end through a CONNECT.
pub(super) fn with_proxy(
    b: reqwest::ClientBuilder,
    proxy: &ProxyConfig,
) -> Result<reqwest::ClientBuilder, NetError> {
    Ok(match proxy {
        // reqwest reads HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY.
        ProxyConfig::System => b,
        ProxyConfig::Direct => b.no_proxy(),
        ProxyConfig::Url(u) => {
            if !matches!(u.scheme(), "http" | "https") {
                return Err(NetError::BadUrl {
                    url: origin(u),
                    detail: "a proxy must be an http:// or https:// address".into(),
                });
            }
            b.proxy(reqwest::Proxy::all(u.as_str()).map_err(|e| NetError::Setup(e.to_string()))?)
        }
    })
}
