//! Password rotation in the real window, against the sandbox clinic's password endpoints:
//! - drgrace's password is past its expiry (in the clinic's grace period): after sign-in the
//!   change-password screen comes before anything else (no schedule in the DOM); the meter
//!   refuses a breached password while typing; the clinic's refusals (wrong current password,
//!   its own composition rule) are shown beside their fields; a good change signs out (the
//!   clinic revoked the tokens, Rounds discards its own) and the new password signs in.
//! - drold's is due in 5 days: a reminder card at sign-in, then a banner, snoozed for today
//!   and still snoozed after a restart.

use fantoccini::Locator;
use rounds_e2e::{DEMO_PASSWORD, Harness, Result};

async fn type_into(h: &Harness, id: &str, text: &str) -> Result<()> {
    let e = h.wait_for(&format!("#{id}")).await?;
    e.clear().await?;
    e.send_keys(text).await?;
    Ok(())
}

async fn text_of(h: &Harness, css: &str) -> Result<String> {
    Ok(h.wait_for(css).await?.text().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_password_is_changed_before_anything_else() -> Result<()> {
    let h = Harness::start().await?;
    let c = &h.client;
    h.sign_in_demo("drgrace").await?;
    h.wait_for("[data-testid=password-expired]").await?;
    let dom = c.source().await?;
    for marker in ["data-visit", "sync-status", "signed-in-user", "lock-now"] {
        assert!(
            !dom.contains(marker),
            "'{marker}' is shown beside an expired password"
        );
    }
    assert!(
        c.find(Locator::XPath("//button[normalize-space()='Cancel']"))
            .await
            .is_err(),
        "an expired password's change can be cancelled"
    );

    // The meter's cost per keystroke as the page sees it (IPC + core), for the issue note:
    // a passphrase typed one character at a time, five times.
    let times = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            (async () => {
              const invoke = window.__TAURI_INTERNALS__.invoke;
              const pw = "quiet otter lantern meadow 7 harbor";
              const t = [];
              for (let r = 0; r < 5; r++)
                for (let i = 1; i <= pw.length; i++) {
                  const s = performance.now();
                  await invoke("check_new_password", { candidate: pw.slice(0, i), minLength: 9 });
                  t.push(performance.now() - s);
                }
              t.sort((a, b) => a - b);
              done([t.length, t[Math.floor(t.length / 2)], t[Math.floor(t.length * 0.99)], t[t.length - 1]]);
            })();"#,
            vec![],
        )
        .await?;
    println!("meter per keystroke through IPC (debug build) [n, p50 ms, p99 ms, max ms]: {times}");

    // While typing: a breached password is refused by the meter, before anything is sent.
    type_into(&h, "pw-new", "iloveyou2").await?;
    h.wait_attr("[data-testid=strength]", "data-acceptable", "false")
        .await?;
    let advice = text_of(&h, "[data-testid=strength]").await?;
    println!("meter on a breached password: {advice:?}");
    let submit = c
        .find(Locator::Css(
            "[data-testid=change-password] button[type=submit]",
        ))
        .await?;
    assert!(!submit.is_enabled().await?, "a weak password can be sent");

    // The clinic says no: wrong current password (beside that field).
    let strong = "quiet otter lantern meadow";
    type_into(&h, "pw-current", "not-my-password").await?;
    type_into(&h, "pw-new", strong).await?;
    type_into(&h, "pw-again", strong).await?;
    h.wait_attr("[data-testid=strength]", "data-acceptable", "true")
        .await?;
    type_into(&h, "pw-totp", &h.sandbox.fresh_totp("drgrace")?).await?;
    submit.click().await?;
    println!("wrong current: {}", text_of(&h, "#pw-current-error").await?);

    // Strong by NIST, but this clinic (OpenEMR's secure_password) also wants a digit,
    // capitals and a symbol: its refusal is shown beside the new password.
    type_into(&h, "pw-current", DEMO_PASSWORD).await?;
    type_into(&h, "pw-totp", &h.sandbox.fresh_totp("drgrace")?).await?;
    submit.click().await?;
    let why = text_of(&h, "#pw-new-error").await?;
    assert!(why.contains("did not accept"), "{why}");

    // A password both accept: the session ends, and the new password signs in.
    let new_password = "Quiet-Otter-Lantern-Meadow-7";
    type_into(&h, "pw-new", new_password).await?;
    type_into(&h, "pw-again", new_password).await?;
    h.wait_attr("[data-testid=strength]", "data-acceptable", "true")
        .await?;
    type_into(&h, "pw-totp", &h.sandbox.fresh_totp("drgrace")?).await?;
    submit.click().await?;
    let notice = text_of(&h, "[data-testid=signin-notice]").await?;
    assert!(notice.contains("password was changed"), "{notice}");
    let items = h.keychain_listing()?;
    assert!(
        !items.contains("/session") && !items.contains("/refresh"),
        "tokens kept after the change: {items}"
    );
    let code = h.sandbox.fresh_totp("drgrace")?;
    h.submit_sign_in(None, new_password, Some(&code)).await?;
    h.wait_for("[data-testid=signed-in-user]").await?;
    assert!(
        c.find(Locator::Css("[data-testid=password-reminder]"))
            .await
            .is_err(),
        "a fresh password still reminded"
    );
    h.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_due_soon_is_reminded_and_snoozed_for_the_day() -> Result<()> {
    let mut h = Harness::start().await?;
    h.sign_in_demo("drold").await?;
    let card = text_of(&h, "[data-testid=password-reminder-card]").await?;
    assert!(card.contains("in 5 days"), "{card}");
    h.client
        .find(Locator::XPath("//button[normalize-space()='Not now']"))
        .await?
        .click()
        .await?;
    let banner = h.wait_for("[data-testid=password-reminder]").await?;
    assert_eq!(banner.attr("data-days").await?.as_deref(), Some("5"));
    h.wait_for("[data-testid=signed-in-user]").await?;
    h.screenshot("password-reminder").await?;
    h.client
        .find(Locator::XPath(
            "//*[@data-testid='password-reminder']//button[normalize-space()='Remind me tomorrow']",
        ))
        .await?
        .click()
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        h.client
            .find(Locator::Css("[data-testid=password-reminder]"))
            .await
            .is_err()
    );

    // Snoozed for the day: a restart does not bring it back.
    h.restart_app().await?;
    h.wait_for("[data-testid=signed-in-user]").await?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let dom = h.client.source().await?;
    assert!(
        !dom.contains("password-reminder"),
        "the snoozed reminder came back after a restart"
    );
    h.stop().await
}
