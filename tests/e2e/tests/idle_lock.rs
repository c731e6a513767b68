//! Automatic logoff in the real window: with IT's policy at 1 idle minute and "end the visit
//! on lock", a signed-in clinician with a video visit open leaves the keyboard. After the
//! minute the page holds no patient name, visit or schedule (read from the DOM through
//! WebDriver, not just what is visible), the visit window is gone, a restart keeps the lock,
//! a wrong password keeps it, and only the clinician's password + a fresh code open it.

use fantoccini::Locator;
use rounds_e2e::{DEMO_PASSWORD, Harness, Options, Result, default_policy};
use serde_json::json;
use std::time::{Duration, Instant};

async fn patient_names(h: &Harness) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for e in h
        .client
        .find_all(Locator::Css("[data-visit] .patient"))
        .await?
    {
        names.push(e.text().await?);
    }
    Ok(names)
}

/// Fails when any of `names` (or any schedule or visit element) is in the page's DOM.
async fn assert_no_phi(h: &Harness, names: &[String], when: &str) -> Result<()> {
    let dom = h.client.source().await?;
    for n in names {
        assert!(!dom.contains(n.as_str()), "{when}: '{n}' is in the DOM");
    }
    for marker in ["data-visit", "visit-strip", "sync-status", "signed-in-user"] {
        assert!(!dom.contains(marker), "{when}: '{marker}' is in the DOM");
    }
    Ok(())
}

async fn fill_unlock(h: &Harness, password: &str, code: &str) -> Result<()> {
    let p = h.wait_for("#unlock-password").await?;
    p.clear().await?;
    p.send_keys(password).await?;
    h.client
        .find(Locator::Id("unlock-totp"))
        .await?
        .send_keys(code)
        .await?;
    h.client
        .find(Locator::Css("[data-testid=locked] button[type=submit]"))
        .await?
        .click()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_idle_minutes_no_phi_is_left_and_only_a_fresh_sign_in_unlocks() -> Result<()> {
    let mut h = Harness::start_with(Options {
        policy: Some(Box::new(|s| {
            let mut p = default_policy(s);
            p["mandatory"]["session"] = json!({"idle_lock_minutes": 1, "on_lock_video": "end"});
            p
        })),
        timeout: Some(Duration::from_secs(300)),
        ..Options::default()
    })
    .await?;
    h.sign_in_demo("drsmith").await?;
    h.wait_attr("[data-testid=sync-status]", "data-phase", "done")
        .await?;
    h.wait_for("[data-visit]").await?;
    let names = patient_names(&h).await?;
    assert!(!names.is_empty(), "the demo day has visits");

    // A video visit is open (nobody else in it yet) when the clinician walks away.
    h.client
        .find(Locator::Css("[data-visit] button.primary"))
        .await?
        .click()
        .await?;
    h.wait_for("[data-testid=visit-strip]").await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.client.windows().await?.len() < 2 {
        assert!(Instant::now() < deadline, "the visit window did not open");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let idle_from = Instant::now();

    // No input from here on: WebDriver's finds below are not input events.
    let mut locked = None;
    while idle_from.elapsed() < Duration::from_secs(90) {
        if let Ok(e) = h.client.find(Locator::Css("[data-testid=locked]")).await {
            locked = Some(e);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after = idle_from.elapsed();
    assert!(locked.is_some(), "not locked after {after:?}");
    assert!(
        after >= Duration::from_secs(55),
        "locked too early: {after:?}"
    );
    println!(
        "idle lock fell {:.1} s after the last input (policy: 60 s)",
        after.as_secs_f64()
    );
    let why = h.wait_for("[data-testid=locked-why]").await?.text().await?;
    assert!(why.contains("after 1 minute without use"), "{why}");
    assert_no_phi(&h, &names, "locked").await?;
    assert_eq!(
        h.client.windows().await?.len(),
        1,
        "the visit window is still open (policy: end the visit on lock)"
    );
    h.screenshot("idle-locked").await?;

    // Closing and reopening Rounds does not open the lock.
    h.restart_app().await?;
    h.wait_for("[data-testid=locked]").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_no_phi(&h, &names, "locked after a restart").await?;

    // A wrong password keeps the lock and says so.
    fill_unlock(&h, "not-the-password", &h.sandbox.totp_at("drsmith", 1)?).await?;
    let err = h
        .wait_for("#unlock-password-error, [data-testid=unlock-error]")
        .await?;
    println!("wrong password: {}", err.text().await?);
    assert_no_phi(&h, &names, "after a wrong password").await?;

    // The clinician's own password and a fresh code: the day is back.
    fill_unlock(&h, DEMO_PASSWORD, &h.sandbox.totp_at("drsmith", 1)?).await?;
    if let Err(e) = h.wait_for("[data-visit]").await {
        h.screenshot("unlock-failed").await?;
        return Err(format!("not unlocked: {e:?}\n{}", h.app_logs()).into());
    }
    assert_eq!(patient_names(&h).await?, names);
    h.stop().await
}
