//! The OS trust store half of the trust rules, and "only the hospital CA" (`ca_only`).
//!
//! rustls-platform-verifier reads the Linux trust store through rustls-native-certs, which
//! honours `SSL_CERT_FILE`. This binary holds a single test that points it at the sandbox CA
//! before anything else runs, so the sandbox CA plays "a CA this computer trusts": accepted by
//! default, refused when policy trusts only the hospital CA.
#![allow(unsafe_code)]

use rounds_clinic_tests::*;
use rounds_core::net::probe::probe;
use rounds_core::net::verify::TrustedBy;
use rounds_core::net::{NetClient, NetConfig, NetError, ProxyConfig};

#[test]
fn os_store_trusted_unless_policy_says_hospital_ca_only() {
    if !cfg!(target_os = "linux") {
        eprintln!("SKIP: SSL_CERT_FILE drives the OS store only on Linux");
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sb = sandbox().await;
        // SAFETY: this is the only test in this binary and no other thread reads the
        // environment yet (the sandbox does not), so the write cannot race.
        unsafe {
            std::env::set_var("SSL_CERT_FILE", &sb.ready.ca_pem);
            std::env::remove_var("SSL_CERT_DIR");
        }
        let meta = url(&sb.ready.base_url)
            .join("/apis/default/fhir/metadata")
            .expect("url");

        // No policy at all: the "OS store" (the sandbox CA) vouches for the server.
        let cfg = NetConfig {
            proxy: ProxyConfig::Direct,
            ..NetConfig::default()
        };
        let c = NetClient::new(&cfg).expect("client");
        c.get_json(&meta).await.expect("trusted by the OS store");
        let p = probe(&cfg, &c, &meta).await;
        assert!(p.accepted, "{p:?}");
        assert_eq!(p.trusted_by, Some(TrustedBy::OsStore), "{p:?}");

        // Policy: only the hospital CA (another CA). The OS-trusted chain is refused.
        let dir = temp_dir("caonly");
        let hospital_ca = Pki::new("The Hospital's Own Root");
        let cfg = NetConfig {
            ca_bundle: Some(hospital_ca.write_ca(&dir, "hospital.pem")),
            ca_only: true,
            proxy: ProxyConfig::Direct,
            ..NetConfig::default()
        };
        let c = NetClient::new(&cfg).expect("client");
        let before = sandbox_requests(&sb, "main").len();
        let e = c
            .get_json_with(&meta, Some(&cred_for(&meta)))
            .await
            .expect_err("CA not allowed by policy");
        assert!(
            matches!(&e, NetError::Certificate { detail, .. } if detail.contains("UnknownIssuer")),
            "{e:?}"
        );
        assert_eq!(sandbox_requests(&sb, "main").len(), before, "nothing sent");
        let p = probe(&cfg, &c, &meta).await;
        assert!(!p.accepted, "{p:?}");
        assert!(p.verdict.starts_with("REFUSED"), "{p:?}");

        // Hospital CA + OS store (not ca_only): accepted again, by the OS store.
        let cfg = NetConfig {
            ca_only: false,
            ..cfg
        };
        let c = NetClient::new(&cfg).expect("client");
        c.get_json(&meta).await.expect("OS store still counts");
    });
}
