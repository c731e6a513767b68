//! Sign-in timed around the schedule, against the sandbox and a private gnome-keyring: on a
//! shared PC (no refresh token kept, so the sign-in ends with the session) whose clinic hands
//! out 10-minute sessions, the demo seed's video visit for drsmith starting in about five
//! minutes would be cut off mid-visit. The core asks to renew before it starts, in words that
//! name both times; once a full sign-in lasts past the visit's end, it stops asking.

use rounds_clinic_tests::auth_support::{self as s, Case, PASSWORD, request};
use rounds_clinic_tests::{case, control, sandbox};
use serde_json::json;

fn main() {
    let cases: &[Case] = &[case!(
        a_session_ending_mid_visit_is_renewed_before_it_and_then_no_longer_asked_for
    )];
    s::run(cases)
}

async fn a_session_ending_mid_visit_is_renewed_before_it_and_then_no_longer_asked_for() {
    let sb = sandbox().await;
    let policy = json!({"mandatory": {
        "network": {"ca_bundle": sb.ready.ca_pem},
        "session": {"shared_pc": true},
    }});
    let (core, _root) = s::core_with_policy("renew", &sb.ready.base_url, &sb.ready.site, policy);
    control(
        &sb,
        "POST",
        "/control/config",
        json!({"access_token_seconds": 600}),
    )
    .await;
    let code = s::totp(&sb, "drsmith", 0).await;
    core.sign_in_keychain(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in");

    // The question needs the day's visits: wait for the first sync to bring them.
    let now = rounds_core::vault::items::unix_now();
    let mut visits = Vec::new();
    for _ in 0..100 {
        visits = core
            .schedule_day(now - 3600, now + 7200)
            .await
            .expect("day view")
            .visits;
        if !visits.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The seed's fixed slots may put another visit in the next few minutes, where the core
    // rightly holds the question back (the clinician is about to join): the clinic cancels it.
    let soon = rounds_sandbox::util::uuid_from("demo:now:0");
    let quiet = rounds_core::readiness::renewal::QUIET_BEFORE_SECS + 60;
    for v in visits
        .iter()
        .filter(|v| v.id != soon && v.start >= now && v.start - now < quiet)
    {
        control(
            &sb,
            "POST",
            &format!("/control/appointments/{}/status", v.id),
            json!({"status": "cancelled"}),
        )
        .await;
        core.sync_now().await.expect("sync");
    }
    let mut asked = None;
    for _ in 0..100 {
        asked = core.renew_prompt().await.expect("renew prompt");
        if asked.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let p = asked.expect("a session ending during the next video visit is asked about");
    let now = rounds_core::vault::items::unix_now();
    assert!(
        p.visit_start - now <= 5 * 60,
        "the seed's visit in five minutes: {p:?}"
    );
    assert!(
        p.visit_start > p.session_end - 600 && p.session_end < p.visit_end,
        "{p:?}"
    );
    assert!(
        p.visit_start - now >= rounds_core::readiness::renewal::QUIET_BEFORE_SECS,
        "asked at a quiet moment, not in the last minutes: {p:?}"
    );
    let text = serde_json::to_string(&p).expect("json");
    assert!(text.contains("during your"), "{text}");
    assert!(text.contains("password and code"), "{text}");

    // The clinician signs in again (a full sign-in: a shared PC keeps no refresh token); the
    // clinic now hands out two hours, past the visit's end: nothing more to ask.
    control(
        &sb,
        "POST",
        "/control/config",
        json!({"access_token_seconds": 7200}),
    )
    .await;
    let code = s::totp(&sb, "drsmith", 1).await;
    core.sign_in_keychain(request("drsmith", PASSWORD, &code))
        .await
        .expect("sign in again");
    assert_eq!(core.renew_prompt().await.expect("renew prompt"), None);
    core.sign_out().await.expect("sign out");
}
