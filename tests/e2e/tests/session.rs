//! A real sign-in in the real window: password + TOTP against the sandbox clinic, tokens in
//! the real (throwaway) gnome-keyring, state only in the page, one-click sign-out.

use fantoccini::Locator;
use rounds_e2e::{Harness, Result};

const PASSWORD: &str = "Sandbox-Clinic-2026!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_keeps_tokens_in_the_keychain_and_sign_out_wipes_them() -> Result<()> {
    let h = Harness::start().await?;
    let c = &h.client;
    h.wait_attr("[data-testid=server-status]", "data-state", "ok")
        .await?;

    // A wrong code first: refused beside the code field, nothing stored.
    h.submit_sign_in(Some("drsmith"), PASSWORD, Some("000000"))
        .await?;
    let err = h.wait_for("#totp-error").await?.text().await?;
    assert!(err.contains("not right"), "{err}");

    // Password again (it was cleared, the user name kept) and the code the authenticator shows now.
    let code = h.sandbox.totp("drsmith")?;
    h.submit_sign_in(None, PASSWORD, Some(&code)).await?;
    let who = h
        .wait_for("[data-testid=signed-in-user]")
        .await?
        .text()
        .await?;
    assert_eq!(who, "drsmith");
    h.screenshot("signed-in").await?;

    // The keychain, read with libsecret's own tool, holds the session and refresh token.
    let items = h.keychain_listing()?;
    assert!(
        items.contains("/session") && items.contains("/refresh"),
        "{items}"
    );
    // The page knows the user, never a token or the password.
    let page = c.source().await?;
    for line in items.lines().filter_map(|l| l.strip_prefix("secret = ")) {
        assert!(
            !page.contains(line.trim()),
            "a keychain secret reached the webview"
        );
    }
    assert!(!page.contains(PASSWORD) && !page.contains(&code));

    c.find(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await?
        .click()
        .await?;
    h.wait_for("#username").await?;
    let after = h.keychain_listing()?;
    assert!(
        !after.contains("/session") && !after.contains("/refresh"),
        "sign-out left tokens in the keychain: {after}"
    );
    // Nothing the clinician typed or the server returned reached the log.
    let logs = h.app_logs();
    assert!(!logs.contains(PASSWORD) && !logs.contains(&code), "{logs}");
    h.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinician_without_mfa_enrolls_before_anything_else() -> Result<()> {
    let h = Harness::start().await?;
    let c = &h.client;
    h.wait_attr("[data-testid=server-status]", "data-state", "ok")
        .await?;
    // No authenticator yet, so no code to give: the password alone leads to enrollment.
    h.submit_sign_in(Some("drjones"), PASSWORD, None).await?;

    h.wait_for("[data-testid=enroll] img.qr").await?;
    h.wait_for("[data-testid=manual-key]").await?;
    h.screenshot("enroll").await?;
    let (key, _code) = h.enroll_with_test_authenticator().await?;
    let who = h
        .wait_for("[data-testid=signed-in-user]")
        .await?
        .text()
        .await?;
    assert_eq!(who, "drjones");
    // The key left the page with the enrollment screen and was never logged or stored.
    let page = c.source().await?;
    let compact: String = key.split_whitespace().collect();
    assert!(!page.contains(&key) && !page.contains(&compact));
    assert!(!h.app_logs().contains(&compact));
    let items = h.keychain_listing()?;
    assert!(!items.contains(&compact), "the TOTP key must not be stored");
    h.stop().await
}
