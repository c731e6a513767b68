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
    h.wait_for("#username").await?.send_keys("drsmith").await?;
    c.find(Locator::Id("password"))
        .await?
        .send_keys(PASSWORD)
        .await?;

    // A wrong code first: refused beside the code field, nothing stored.
    c.find(Locator::Id("totp"))
        .await?
        .send_keys("000000")
        .await?;
    c.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    let err = h.wait_for("#totp-error").await?.text().await?;
    assert!(err.contains("not right"), "{err}");

    // Password again (it was cleared) and the code the authenticator shows now.
    c.find(Locator::Id("password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    let code = h.sandbox.totp("drsmith")?;
    c.find(Locator::Id("totp")).await?.send_keys(&code).await?;
    c.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    let who = h
        .wait_for("[data-testid=signed-in-user]")
        .await?
        .text()
        .await?;
    assert_eq!(who, "drsmith");
    h.screenshot("signed-in").await?;

    // The keychain, read with libsecret's own tool, holds the session and refresh token.
    let items = h.run_in_app_session(
        "secret-tool",
        &["search", "--all", "service", "app.rounds.desktop"],
    )?;
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
    let after = h.run_in_app_session(
        "secret-tool",
        &["search", "--all", "service", "app.rounds.desktop"],
    )?;
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
    h.wait_for("#username").await?.send_keys("drjones").await?;
    c.find(Locator::Id("password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    // No authenticator yet, so no code to give: the password alone leads to enrollment.
    c.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;

    h.wait_for("[data-testid=enroll] img.qr").await?;
    let key = h.wait_for("[data-testid=manual-key]").await?.text().await?;
    h.screenshot("enroll").await?;
    let code = rounds_e2e::authenticator::code_now(&key).ok_or("manual key is not base32")?;
    c.find(Locator::Id("enroll-code"))
        .await?
        .send_keys(&code)
        .await?;
    c.find(Locator::XPath(
        "//button[normalize-space()='Confirm and sign in']",
    ))
    .await?
    .click()
    .await?;
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
    let items = h.run_in_app_session(
        "secret-tool",
        &["search", "--all", "service", "app.rounds.desktop"],
    )?;
    assert!(!items.contains(&compact), "the TOTP key must not be stored");
    h.stop().await
}
