//! The sign-in screen in the real window, against the real sandbox over real TLS.

use fantoccini::Locator;
use fantoccini::key::Key;
use rounds_e2e::{Harness, Options, Result};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_screen_is_labelled_keyboard_ready_and_talks_tls_to_the_clinic() -> Result<()> {
    let h = Harness::start().await?;
    let c = &h.client;

    // Every field is there and labelled (what a screen reader announces).
    for (id, label) in [
        ("username", "User name"),
        ("password", "Password"),
        ("totp", "6-digit code from your authenticator app"),
    ] {
        h.wait_for(&format!("#{id}")).await?;
        let text = c
            .find(Locator::Css(&format!("label[for='{id}']")))
            .await?
            .text()
            .await?;
        assert_eq!(text.trim(), label, "label of #{id}");
    }

    // The clinic named by policy, and its TLS certificate verified with the sandbox's own CA.
    let name = h
        .wait_for("[data-testid=server-name]")
        .await?
        .text()
        .await?;
    assert_eq!(name, "Sandbox Clinic");
    let origin = h
        .wait_for("[data-testid=server-origin]")
        .await?
        .text()
        .await?;
    assert_eq!(origin, h.sandbox.base_url);
    h.wait_attr("[data-testid=server-status]", "data-state", "ok")
        .await?;

    // Keyboard-first: typing, then Tab moves user name → password → show/hide → code.
    let user = c.find(Locator::Id("username")).await?;
    user.click().await?;
    user.send_keys("drsmith").await?;
    user.send_keys(&Key::Tab.to_string()).await?;
    let active = c.active_element().await?;
    assert_eq!(active.attr("id").await?.as_deref(), Some("password"));
    active.send_keys("correct horse battery staple").await?;
    let code = c.find(Locator::Id("totp")).await?;
    code.send_keys("12 34 56").await?;
    assert_eq!(code.prop("value").await?.as_deref(), Some("123456"));
    assert_eq!(user.prop("value").await?.as_deref(), Some("drsmith"));

    let shot = h.screenshot("signin").await?;
    println!("screenshot: {}", shot.display());

    // Submitting reaches the clinic (wrong password) and comes back as a plain-words error
    // beside the field; the form keeps the user name and clears both secrets.
    c.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    let err = h.wait_for("#password-error").await?.text().await?;
    assert!(err.contains("not right"), "{err}");
    assert_eq!(code.prop("value").await?.as_deref(), Some(""));
    let pw = c.find(Locator::Id("password")).await?;
    assert_eq!(pw.prop("value").await?.as_deref(), Some(""));
    assert_eq!(user.prop("value").await?.as_deref(), Some("drsmith"));
    let page = c.source().await?;
    assert!(
        !page.contains("correct horse"),
        "password leaked into the DOM text"
    );
    h.screenshot("signin-submitted").await?;

    // Nothing the user typed reached the log.
    let logs = h.app_logs();
    assert!(
        logs.contains("starting"),
        "the app logs to the platform log dir"
    );
    assert!(
        !logs.contains("correct horse") && !logs.contains("123456"),
        "{logs}"
    );
    h.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_not_from_the_hospital_is_refused_in_plain_words() -> Result<()> {
    // Same sandbox, but this machine's policy does not trust the sandbox's CA: the app must
    // refuse the connection and say that nothing was sent.
    let h = Harness::start_with(Options {
        policy: Some(Box::new(
            |s| json!({"mandatory": {"clinic": {"servers": [{"url": s.base_url, "display_name": "Sandbox Clinic"}]}}}),
        )),
        ..Options::default()
    })
    .await?;
    h.wait_attr("[data-testid=server-status]", "data-state", "error")
        .await?;
    let msg = h
        .client
        .find(Locator::Css("[data-testid=server-status] [role=alert]"))
        .await?
        .text()
        .await?;
    assert!(msg.contains("did not send your password"), "{msg}");
    h.screenshot("signin-untrusted-certificate").await?;
    h.stop().await
}
