//! "Patient waiting" across the day, in the real window: two video visits today; the patient
//! of the second one checks in (the sandbox marks the Appointment `arrived`, as OpenEMR's
//! portal check-in sets `@`); after the next schedule sync that row says "Waiting n min" in
//! words and its primary action becomes "Open visit — patient waiting", which opens that visit
//! in one click. The first row says nothing of the kind.

use rounds_e2e::{Harness, Options, Result, default_policy};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The check-in happened this long before the sync that brings it (the sandbox's clock is set
/// back for that one edit only), so the row must show minutes, not "0 min".
const CHECKED_IN_AGO_SECS: i64 = 4 * 60 + 10;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn instant(t: i64) -> String {
    // RFC 3339 in UTC from unix seconds, by hand (no date crate in this crate).
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// A video visit for `clinician` (a FHIR reference) starting at `start`, booked, with the
/// patient named on the participant (no Patient lookup needed).
fn video_visit(id: &str, clinician: &str, patient: &str, start: i64, updated: i64) -> Value {
    let part = |code: &str, reference: String, display: Option<&str>| {
        let mut actor = json!({"reference": reference});
        if let Some(d) = display {
            actor["display"] = json!(d);
        }
        json!({"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": code}]}],
               "actor": actor, "status": "accepted"})
    };
    json!({
        "resourceType": "Appointment", "id": id,
        "meta": {"versionId": "1", "lastUpdated": instant(updated)},
        "status": "booked",
        "appointmentType": {"coding": [{"code": "video_visit", "display": "Video Visit"}]},
        "participant": [
            part("PART", format!("Patient/{id}-patient"), Some(patient)),
            part("PPRF", clinician.to_string(), None),
        ],
        "start": instant(start),
        "end": instant(start + 30 * 60),
        "comment": "Video follow-up",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_checking_in_for_a_later_visit_shows_on_its_row_and_opens_it() -> Result<()> {
    let h = Harness::start_with(Options {
        // The shortest incremental sync policy allows (the default is 60 s); no faster timer.
        policy: Some(Box::new(|sb| {
            let mut p = default_policy(sb);
            p["mandatory"]["sync"] = json!({"interval_seconds": 15});
            p
        })),
        ..Options::default()
    })
    .await?;
    let sb = &h.sandbox;
    // Only these two visits today, both joinable now (the join window opens 15 min before).
    sb.control("DELETE", "/control/appointments", None)?;
    let users = sb.control("GET", "/control/users", None)?;
    let smith = users["users"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["username"] == "drsmith"))
        .and_then(|u| u["fhir_ref"].as_str())
        .ok_or("drsmith's FHIR reference")?
        .to_string();
    let t = now();
    let (first, second) = ("e2e-wait-first", "e2e-wait-second");
    // Dated an hour back, so the check-in below (dated four minutes back) is newer than
    // everything the first sync sees and the next incremental sync brings it.
    for (id, patient, start) in [
        (first, "Ada Early", t + 2 * 60),
        (second, "Wren Waitwell", t + 9 * 60),
    ] {
        sb.control(
            "POST",
            "/control/appointments",
            Some(&video_visit(id, &smith, patient, start, t - 3600)),
        )?;
    }

    h.sign_in_demo("drsmith").await?;
    for id in [first, second] {
        h.wait_for(&format!("[data-visit='{id}'] button.primary"))
            .await?;
    }
    let c = &h.client;
    assert!(
        c.find_all(fantoccini::Locator::Css("[data-testid=waiting]"))
            .await?
            .is_empty(),
        "nobody waits before the check-in"
    );

    // The second visit's patient checks in on the portal (four minutes ago, as the clinic's
    // clock tells it): the sandbox stamps `meta.lastUpdated` with that time.
    sb.control(
        "POST",
        "/control/time",
        Some(&json!({"offset_seconds": -CHECKED_IN_AGO_SECS})),
    )?;
    let marked = sb.control(
        "POST",
        &format!("/control/appointments/{second}/status"),
        Some(&json!({"status": "arrived"})),
    )?;
    sb.control("POST", "/control/time", Some(&json!({"offset_seconds": 0})))?;
    let arrived_at = Instant::now();
    assert!(marked["lastUpdated"].is_string(), "{marked}");

    let badge = format!("[data-visit='{second}'] [data-testid=waiting]");
    let text = loop {
        if let Ok(e) = c.find(fantoccini::Locator::Css(&badge)).await {
            break e.text().await?;
        }
        if arrived_at.elapsed() > Duration::from_secs(60) {
            return Err("the waiting patient never showed on the schedule row".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let shown_after = arrived_at.elapsed();
    println!(
        "waiting shown {:.1} s after the sandbox marked the patient arrived (sync every 15 s; the day view re-read when the sync tells it)",
        shown_after.as_secs_f64()
    );
    assert_eq!(
        text.trim(),
        "Waiting 4 min",
        "the row says how long, in words"
    );
    let first_row = c
        .find(fantoccini::Locator::Css(&format!("[data-visit='{first}']")))
        .await?;
    assert!(
        first_row
            .find_all(fantoccini::Locator::Css("[data-testid=waiting]"))
            .await?
            .is_empty(),
        "the first visit's row says nothing about waiting"
    );
    h.screenshot("waiting-row").await?;

    // One click on the row's primary action opens that visit (not the earlier one).
    let open = c
        .find(fantoccini::Locator::Css(&format!(
            "[data-visit='{second}'] button.primary"
        )))
        .await?;
    assert_eq!(open.text().await?.trim(), "Open visit — patient waiting");
    let label = open.attr("aria-label").await?.unwrap_or_default();
    assert!(label.contains("patient waiting"), "{label}");
    open.click().await?;
    h.wait_attr("[data-testid=visit-strip]", "data-phase", "joined")
        .await?;
    h.wait_for(&format!(
        "[data-visit='{second}'] [data-testid=visit-badge]"
    ))
    .await?;
    let room = sb.control("GET", &format!("/control/jitsi/appointment/{second}"), None)?;
    let room = room["room"].as_str().ok_or("the second visit's room")?;
    // The sandbox knows a room only once someone joined it: the app did, the second visit's.
    sb.control("GET", &format!("/control/jitsi/rooms/{room}"), None)?;
    h.screenshot("waiting-opened").await?;
    h.stop().await
}
