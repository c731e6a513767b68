//! Sign-in against a certified OpenID Provider nobody here wrote (oidc-provider 9, in the stock
//! clinic of tests/interop): discovery, open dynamic registration (RFC 7591 / OIDC
//! Registration), authorization code + PKCE through the browser and the loopback redirect
//! (RFC 6749, 7636, 8252), refresh-token rotation, userinfo, tokens only in the keychain.
//! Core's own `Authenticator` does it all, exactly as in auth_browser.rs against the sandbox;
//! the binary re-runs itself under `dbus-run-session` with a throwaway gnome-keyring.

use rounds_clinic_tests::auth_support::{
    self as s, Case, TestTransport, secret_tool_accounts, secret_tool_items, secret_tool_lookup,
};
use rounds_clinic_tests::case;
use rounds_clinic_tests::clinic_page::{self, Consent};
use rounds_clinic_tests::stock::{self, Landing, StockClinic};
use rounds_core::auth::{Account, AuthError, Authenticator, SessionState, SignInMethod};
use serde_json::{Value, json};
use url::Url;

fn main() {
    let cases: &[Case] = &[
        case!(discovery_and_registration_are_standard),
        case!(code_and_pkce_through_the_providers_page),
        case!(refresh_rotates_and_the_old_token_is_refused),
        case!(deny_on_the_consent_page_is_named),
    ];
    s::run(cases)
}

/// A loopback redirect on a free port (the app uses the fixed, registered 8765).
fn redirect() -> Url {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let port = l.local_addr().expect("addr").port();
    Url::parse(&format!("http://127.0.0.1:{port}/callback")).expect("url")
}

fn account(sc: &StockClinic, profile: &str) -> Account {
    Account {
        profile: profile.into(),
        server: sc.base(),
        site: "default".into(),
        // Not known beforehand: it must come from userinfo.
        username: String::new(),
    }
}

fn transport(sc: &StockClinic) -> TestTransport {
    TestTransport::with_ca(sc.ca_pem())
}

async fn discovery_doc(sc: &StockClinic) -> Value {
    let url = format!(
        "{}/oauth2/default/.well-known/openid-configuration",
        sc.ready.base_url
    );
    sc.http()
        .get(url)
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json")
}

/// Signs drsmith in through the provider's page; returns what `finish_browser` gave.
async fn browser_sign_in(
    sc: &StockClinic,
    auth: &Authenticator<'_, TestTransport>,
    acct: &Account,
    consent: Consent,
) -> (
    Result<rounds_core::auth::SignedIn, AuthError>,
    Url,
    (u16, String),
) {
    let login = auth.begin_browser(acct).await.expect("begin");
    let url = login.url().clone();
    let browser = async {
        match stock::sign_in(sc, &url, &sc.ready.username, &sc.ready.password, consent).await {
            Landing::Callback(loc) => clinic_page::follow_callback(&loc).await.expect("callback"),
            Landing::Page(st, html) => {
                panic!("stuck on the provider's page ({st}): {html}\n{}", sc.log())
            }
        }
    };
    let (signed, page) = tokio::join!(
        auth.finish_browser(acct, login, std::future::pending()),
        browser
    );
    (signed, url, page)
}

async fn discovery_and_registration_are_standard() {
    let sc = StockClinic::start(0);
    let d = discovery_doc(&sc).await;
    assert_eq!(
        d["issuer"],
        json!(format!("{}/oauth2/default", sc.ready.base_url))
    );
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    let v = s::vault();
    let auth = Authenticator::new(transport(&sc), &v).with_redirect(redirect());
    let acct = account(&sc, "oidc-a");
    let disc = auth.discover(&acct).await.expect("discover");
    assert!(disc.authorization_endpoint.is_some() && disc.registration_endpoint.is_some());
    assert_eq!(
        disc.userinfo_endpoint.as_ref().map(Url::path),
        Some("/oauth2/default/me"),
        "oidc-provider's userinfo is not at OpenEMR's path: it must come from discovery"
    );
    assert!(
        disc.scope().split(' ').any(|s| s == "profile"),
        "{}",
        disc.scope()
    );
    // No password grant on a standard provider: the clinic's page it is.
    assert_eq!(
        auth.method(&acct).await.expect("method"),
        SignInMethod::Browser
    );

    // OpenEMR's `application_type: private` is not OIDC Registration's: refused.
    let reg = disc.registration_endpoint.clone().expect("registration");
    let r = sc
        .http()
        .post(reg.clone())
        .json(&json!({"application_type": "private", "client_name": "x",
            "redirect_uris": [redirect().as_str()], "token_endpoint_auth_method": "client_secret_post"}))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client_metadata", "{body}");

    // Rounds registers as a native client (RFC 8252 §8.4) with the grants it uses.
    let login = auth
        .begin_browser(&acct)
        .await
        .expect("registers and begins");
    drop(login);
    let items = secret_tool_items();
    let client = items
        .iter()
        .find(|m| m.get("username").map(String::as_str) == Some("oidc-a/client"))
        .expect("client in the keychain");
    let id = client.get("rounds_client_id").expect("client id attribute");
    let log = sc.log();
    // Two registrations: the `private` one above (refused) and Rounds' own (accepted at once,
    // no fallback needed).
    assert_eq!(log.matches("POST /oauth2/default/reg").count(), 2, "{log}");
    assert_eq!(log.matches("registration error").count(), 1, "{log}");
    assert!(!id.is_empty());
}

async fn code_and_pkce_through_the_providers_page() {
    let sc = StockClinic::start(0);
    let v = s::vault();
    let auth = Authenticator::new(transport(&sc), &v).with_redirect(redirect());
    let acct = account(&sc, "oidc-b");
    let (signed, url, (status, page)) = browser_sign_in(&sc, &auth, &acct, Consent::Allow).await;
    let q = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(
        q("prompt").as_deref(),
        Some("consent"),
        "OIDC Core §11 with offline_access"
    );
    assert!(q("scope").is_some_and(|s| s.split(' ').any(|x| x == "offline_access")));
    assert!(q("code_verifier").is_none());
    let signed = signed.unwrap_or_else(|e| panic!("signed in: {e:?}\n{}", sc.log()));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are signed in"), "{page}");
    assert_eq!(
        signed.user, sc.ready.username,
        "preferred_username from userinfo"
    );

    // Tokens: in the keychain, and only there.
    let mut items: Vec<String> = secret_tool_accounts()
        .into_iter()
        .filter(|a| a.starts_with("oidc-b/"))
        .collect();
    items.sort();
    assert_eq!(items, ["oidc-b/client", "oidc-b/refresh", "oidc-b/session"]);
    let access = secret_tool_lookup("oidc-b/session").expect("access token");
    assert!(
        !page.contains(&access),
        "the browser tab never sees a token"
    );
    for f in walk(&sc.state_dir) {
        let text = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains(&access),
            "token in {}",
            f.display()
        );
    }

    // userinfo, with the stored token: who, and which FHIR Practitioner.
    let disc = auth.discover(&acct).await.expect("discover");
    let ui: Value = sc
        .http()
        .get(disc.userinfo_endpoint.expect("userinfo").as_str())
        .bearer_auth(&access)
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("json");
    assert_eq!(ui["preferred_username"], json!(sc.ready.username), "{ui}");
    assert_eq!(
        ui["fhirUser"],
        json!(format!("Practitioner/{}", sc.ready.practitioner)),
        "{ui}"
    );
    // The same token reads the schedule from the FHIR server.
    let r = sc
        .http()
        .get(format!(
            "{}/apis/default/fhir/Appointment?_count=1",
            sc.ready.base_url
        ))
        .bearer_auth(&access)
        .send()
        .await
        .expect("fhir");
    assert_eq!(r.status().as_u16(), 200);

    let acct = Account {
        username: sc.ready.username.clone(),
        ..acct
    };
    assert!(matches!(
        auth.state(&acct).expect("state"),
        SessionState::SignedIn { .. }
    ));
    auth.sign_out("oidc-b").expect("sign out");
    assert!(secret_tool_lookup("oidc-b/session").is_none());
}

async fn refresh_rotates_and_the_old_token_is_refused() {
    let sc = StockClinic::start(0);
    let v = s::vault();
    let auth = Authenticator::new(transport(&sc), &v).with_redirect(redirect());
    let acct = account(&sc, "oidc-c");
    let (signed, _, _) = browser_sign_in(&sc, &auth, &acct, Consent::Allow).await;
    signed.unwrap_or_else(|e| panic!("signed in: {e:?}\n{}", sc.log()));
    let acct = Account {
        username: sc.ready.username.clone(),
        ..acct
    };
    let old = secret_tool_lookup("oidc-c/refresh").expect("refresh token");
    let old_access = secret_tool_lookup("oidc-c/session").expect("access");
    auth.refresh(&acct)
        .await
        .unwrap_or_else(|e| panic!("refresh: {e:?}\n{}", sc.log()));
    let new = secret_tool_lookup("oidc-c/refresh").expect("new refresh token");
    assert_ne!(
        old, new,
        "the server rotated the refresh token and Rounds kept the new one"
    );
    assert_ne!(
        old_access,
        secret_tool_lookup("oidc-c/session").expect("access")
    );

    // The old refresh token is dead at the server.
    let disc = auth.discover(&acct).await.expect("discover");
    let client = secret_tool_items()
        .into_iter()
        .find(|m| m.get("username").map(String::as_str) == Some("oidc-c/client"))
        .and_then(|m| m.get("rounds_client_id").cloned())
        .expect("client id");
    let secret = secret_tool_lookup("oidc-c/client").expect("client secret");
    let r = sc
        .http()
        .post(disc.token_endpoint.as_str())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", old.as_str()),
            ("client_id", client.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // oidc-provider treats a reused refresh token as theft and revokes the whole grant: Rounds'
    // next renewal is refused, and it ends the session cleanly instead of looping.
    let e = auth.refresh(&acct).await.expect_err("grant revoked");
    assert!(matches!(e, AuthError::SessionExpired), "{e:?}");
    assert!(secret_tool_lookup("oidc-c/refresh").is_none());
    assert!(secret_tool_lookup("oidc-c/session").is_none());
    assert!(matches!(
        auth.state(&acct).expect("state"),
        SessionState::SignedOut
    ));
}

async fn deny_on_the_consent_page_is_named() {
    let sc = StockClinic::start(0);
    let v = s::vault();
    let auth = Authenticator::new(transport(&sc), &v).with_redirect(redirect());
    let acct = account(&sc, "oidc-d");
    let (denied, _, (status, page)) = browser_sign_in(&sc, &auth, &acct, Consent::Deny).await;
    assert!(
        matches!(denied, Err(AuthError::BrowserDenied)),
        "{denied:?}"
    );
    assert_eq!(status, 200, "{page}");
    assert!(
        secret_tool_accounts()
            .iter()
            .all(|a| a != "oidc-d/session" && a != "oidc-d/refresh")
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
