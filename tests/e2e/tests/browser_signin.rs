//! Against a stock OpenEMR (no MFA step in the password grant) the sign-in screen offers the
//! clinic's own page: the real window opens it in the system browser (here the `$BROWSER`
//! stand-in), the clinician signs in there with password + TOTP, the clinic sends the browser
//! back to Rounds' loopback address, and the window shows the signed-in state with the tokens
//! in the keychain only.

use fantoccini::Locator;
use rounds_clinic_tests::clinic_page::{self, Consent};
use rounds_e2e::{Harness, Options, Result};
use serde_json::json;

const PASSWORD: &str = "Sandbox-Clinic-2026!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_openemr_signs_in_on_the_clinic_page() -> Result<()> {
    let h = Harness::start_with(Options {
        sandbox_config: Some(json!({"mfa_grant_enabled": false})),
        ..Options::default()
    })
    .await?;
    let c = &h.client;
    let start = h
        .wait_for("[data-testid=browser-signin] button.primary")
        .await?;
    assert_eq!(start.text().await?, "Sign in with your clinic's page");
    // No password field in Rounds: it is typed on the clinic's page only.
    assert!(c.find(Locator::Css("#password")).await.is_err());
    h.screenshot("browser-signin").await?;
    start.click().await?;
    h.wait_for("[data-testid=browser-waiting]").await?;

    let url = h.browser_url().await?;
    assert!(url.starts_with(&h.sandbox.base_url), "{url}");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let location = clinic_page::sign_in(
        &h.sandbox.ca_pem,
        &url,
        "drsmith",
        PASSWORD,
        async || h.sandbox.totp("drsmith").expect("code"),
        Consent::Allow,
    )
    .await?;
    assert!(
        location.starts_with("http://127.0.0.1:8765/callback?"),
        "{location}"
    );
    let (status, page) = clinic_page::follow_callback(&location).await?;
    assert_eq!(status, 200);
    assert!(page.contains("return to Rounds"), "{page}");

    let who = h
        .wait_for("[data-testid=signed-in-user]")
        .await?
        .text()
        .await?;
    assert_eq!(
        who, "drsmith",
        "the user name comes from the clinic (userinfo)"
    );
    let items = h.keychain_listing()?;
    assert!(
        items.contains("/session") && items.contains("/refresh"),
        "{items}"
    );
    let source = c.source().await?;
    for line in items.lines().filter_map(|l| l.strip_prefix("secret = ")) {
        assert!(
            !source.contains(line.trim()),
            "a keychain secret reached the webview"
        );
    }
    h.screenshot("browser-signed-in").await?;
    Ok(())
}
