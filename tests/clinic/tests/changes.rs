//! Push, not poll (issue 19), against the sandbox and a private gnome-keyring: the core says
//! what changed — a sign-in, the schedule's sync, the lock, a renewal its own clock makes before
//! the session ends, a renewal the clinic refuses — and says nothing while nothing changes.
//! The front end re-reads only what it is told of, so these are its only reasons to call.

use rounds_clinic_tests::auth_support::{self as s, Case, PASSWORD, request};
use rounds_clinic_tests::{case, control, sandbox};
use rounds_core::app::SessionState;
use rounds_core::changes::Change;
use serde_json::json;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;

fn main() {
    let cases: &[Case] = &[case!(the_core_tells_each_change_and_nothing_while_idle)];
    s::run(cases)
}

/// Everything published within `wait`.
async fn drain(rx: &mut Receiver<Change>, wait: Duration) -> Vec<Change> {
    let mut got = Vec::new();
    let end = tokio::time::Instant::now() + wait;
    while let Ok(Ok(c)) = tokio::time::timeout_at(end, rx.recv()).await {
        got.push(c);
    }
    got
}

fn until(s: &SessionState) -> i64 {
    match s {
        SessionState::SignedIn { until, .. } => *until,
        other => panic!("signed in expected: {other:?}"),
    }
}

async fn the_core_tells_each_change_and_nothing_while_idle() {
    let sb = sandbox().await;
    let policy = json!({"mandatory": {"network": {"ca_bundle": sb.ready.ca_pem}}});
    let (core, _root) = s::core_with_policy("changes", &sb.ready.base_url, &sb.ready.site, policy);
    let mut rx = core.changes();

    // A sign-in: the session, and the lock opening for this clinician.
    let code = s::totp(&sb, "drsmith", 0).await;
    core.sign_in_keychain(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in");
    let got = drain(&mut rx, Duration::from_millis(200)).await;
    assert!(
        got.contains(&Change::Session) && got.contains(&Change::Lock),
        "{got:?}"
    );

    // Opening the day starts the background sync: each of its steps is told, and the last
    // one comes with the visits in the cache.
    let now = rounds_core::vault::items::unix_now();
    core.schedule_day(now - 3600, now + 7200)
        .await
        .expect("day");
    let mut synced = false;
    for _ in 0..100 {
        let got = drain(&mut rx, Duration::from_millis(100)).await;
        let day = core
            .schedule_day(now - 3600, now + 7200)
            .await
            .expect("day");
        if got.contains(&Change::Schedule)
            && day.sync.last_synced.is_some()
            && !day.visits.is_empty()
        {
            synced = true;
            break;
        }
    }
    assert!(synced, "the first sync is told, with the day's visits");

    // The clock's first look (renewal question, readiness of the visit in five minutes), then
    // quiet: ticks with nothing changing publish nothing, so a front end calls nothing.
    core.tick().await;
    let _ = drain(&mut rx, Duration::from_secs(3)).await;
    for _ in 0..3 {
        assert_eq!(core.tick().await, None);
    }
    let idle = drain(&mut rx, Duration::from_secs(2)).await;
    assert_eq!(idle, [], "nothing changed, nothing told");

    // Sessions of a little over two minutes: the clock renews them before they end, on its own.
    control(
        &sb,
        "POST",
        "/control/config",
        json!({"access_token_seconds": 125}),
    )
    .await;
    let code = s::totp(&sb, "drsmith", 1).await;
    let first = core
        .sign_in_keychain(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in again");
    let _ = drain(&mut rx, Duration::from_millis(200)).await;
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    core.tick().await;
    let got = drain(&mut rx, Duration::from_millis(300)).await;
    assert!(got.contains(&Change::Session), "a renewal is told: {got:?}");
    let renewed = core.session_state().expect("state");
    assert!(
        until(&renewed) > until(&first),
        "{renewed:?} after {first:?}"
    );

    // The clinic kills the refresh token: the next renewal is refused, the session is over
    // (its tokens leave the keychain) and that is told once, not on every tick after.
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    s::control_post(
        &sb,
        "/control/tokens/expire",
        json!({"username": "drsmith", "refresh": true}),
    )
    .await;
    core.tick().await;
    let got = drain(&mut rx, Duration::from_millis(300)).await;
    assert_eq!(got, [Change::Session], "the refusal is told");
    assert_eq!(
        core.session_state().expect("state"),
        SessionState::SignedOut
    );
    for _ in 0..3 {
        core.tick().await;
    }
    let after = drain(&mut rx, Duration::from_millis(500)).await;
    assert_eq!(after, [], "told once");

    // "Lock now" and the unlock are told too (a fresh session first).
    control(
        &sb,
        "POST",
        "/control/config",
        json!({"access_token_seconds": 3600}),
    )
    .await;
    // (Two sign-ins used this half-minute's codes: the clinic's clock moves on to fresh ones.)
    control(&sb, "POST", "/control/time", json!({"advance_seconds": 90})).await;
    let code = s::totp(&sb, "drsmith", 0).await;
    core.sign_in_keychain(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in for the lock");
    let _ = drain(&mut rx, Duration::from_millis(200)).await;
    assert!(core.lock_now().await.is_some());
    let got = drain(&mut rx, Duration::from_millis(300)).await;
    assert!(got.contains(&Change::Lock), "{got:?}");
    let code = s::totp(&sb, "drsmith", 1).await;
    core.unlock(request("drsmith", PASSWORD, &code))
        .await
        .expect("unlock");
    let got = drain(&mut rx, Duration::from_millis(300)).await;
    assert!(
        got.contains(&Change::Lock) && got.contains(&Change::Session),
        "{got:?}"
    );
    core.sign_out().await.expect("sign out");
}
