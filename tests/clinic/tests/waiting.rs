//! "Patient waiting" from the clinic's side: the sandbox marks an appointment `arrived` (a
//! patient portal check-in, OpenEMR `@`), the core's sync brings it into the SQLCipher cache,
//! and the visit says since when the patient waits: the `meta.lastUpdated` of that change.
//! An unrelated edit later (a new comment, which bumps `meta.lastUpdated` again) and a full
//! window run keep that time; a status that is not arrived/checked-in clears it.

mod schedule_common;

use rounds_clinic_tests::temp_dir;
use rounds_core::schedule::{MemoryKeyStore, SyncMode, Visit, instant};
use schedule_common::*;
use serde_json::json;

async fn cached(s: &rounds_core::schedule::Syncer, id: &str) -> Visit {
    s.cache()
        .day(i64::MIN / 2, i64::MAX / 2, None)
        .await
        .expect("day")
        .into_iter()
        .find(|v| v.id == id)
        .expect("the appointment is cached")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrival_time_survives_later_edits_and_window_runs() {
    let sb = clinic(0).await;
    let keys = MemoryKeyStore::default();
    let cache = open_cache(&temp_dir("waiting"), &keys).await;
    let (src, _) = source(&sb).await;
    let s = syncer_with(&sb, cache, src).await;
    s.sync_once(SyncMode::Auto).await.expect("first sync");

    // A booked video visit that nobody waits for yet.
    let visits = s
        .cache()
        .day(i64::MIN / 2, i64::MAX / 2, None)
        .await
        .expect("day");
    let v = visits
        .iter()
        .find(|v| v.video && v.status.as_str() == "booked")
        .expect("a booked video visit in the demo seed");
    assert_eq!(v.waiting_since, None, "booked: nobody waiting");
    let id = v.id.clone();

    // The patient checks in on the portal.
    let r = control(
        &sb,
        "POST",
        &format!("/control/appointments/{id}/status"),
        json!({"status": "arrived"}),
    )
    .await;
    let t = instant::parse_instant(r["lastUpdated"].as_str().expect("lastUpdated"))
        .expect("an instant");
    s.sync_once(SyncMode::Incremental)
        .await
        .expect("incremental");
    let v = cached(&s, &id).await;
    assert_eq!(v.status.as_str(), "arrived");
    assert_eq!(v.waiting_since, Some(t), "waiting since the status change");

    // Two minutes later the front desk edits the comment: lastUpdated moves, the wait does not.
    control(
        &sb,
        "POST",
        "/control/time",
        json!({"advance_seconds": 120}),
    )
    .await;
    let r = control(
        &sb,
        "PATCH",
        &format!("/control/appointments/{id}"),
        json!({"comment": "Video follow-up, interpreter booked"}),
    )
    .await;
    let edited = instant::parse_instant(r["lastUpdated"].as_str().expect("lastUpdated"))
        .expect("an instant");
    assert!(edited >= t + 120, "the edit bumped meta.lastUpdated");
    s.sync_once(SyncMode::Incremental)
        .await
        .expect("incremental");
    let v = cached(&s, &id).await;
    assert_eq!(
        v.comment.as_deref(),
        Some("Video follow-up, interpreter booked"),
        "the edit arrived"
    );
    assert_eq!(v.waiting_since, Some(t), "an unrelated edit keeps T");

    // Checked in (`<`) is still waiting; the full window run (deletions) keeps T too.
    control(
        &sb,
        "POST",
        &format!("/control/appointments/{id}/status"),
        json!({"status": "checked-in"}),
    )
    .await;
    s.sync_once(SyncMode::Window).await.expect("window run");
    let v = cached(&s, &id).await;
    assert_eq!(
        (v.status.as_str(), v.waiting_since),
        ("checked-in", Some(t))
    );

    // Seen and checked out: nobody waits any more.
    control(
        &sb,
        "POST",
        &format!("/control/appointments/{id}/status"),
        json!({"status": "fulfilled"}),
    )
    .await;
    s.sync_once(SyncMode::Incremental)
        .await
        .expect("incremental");
    assert_eq!(cached(&s, &id).await.waiting_since, None);
}
