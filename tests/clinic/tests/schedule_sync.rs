//! The schedule sync against the sandbox clinic over real loopback TLS, into a real SQLCipher
//! cache: full, incremental, cancellations, moves, hard deletes, and the fault matrix (dropped
//! connections at several points, 5xx/429, 401 renewal, 403, malformed and hostile pages, a
//! foreign `next` link, clock skew). After every failure the cache must hold what it held
//! before the failed page, and the next sync must resume and end complete.

mod schedule_common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use rounds_clinic_tests::temp_dir;
use rounds_core::schedule::cache::RunKind;
use rounds_core::schedule::{
    MemoryKeyStore, ScheduleError, SyncMode, SyncPhase, SyncProgress, instant,
};
use schedule_common::*;
use serde_json::json;

/// 86 demo + 314 generated = 400 appointments = 4 pages of 100.
const N: usize = 314;
const PAGES: u32 = 4;

type Rows = Vec<(String, i64, String)>;

async fn full_sync(sb: &rounds_sandbox::Sandbox) -> (rounds_core::schedule::Syncer, Rows) {
    let keys = MemoryKeyStore::default();
    let cache = open_cache(&temp_dir("sched-sync"), &keys).await;
    let (src, _) = source(sb).await;
    let s = syncer_with(sb, cache, src).await;
    let sum = s.sync_once(SyncMode::Auto).await.expect("first sync");
    assert_eq!(
        (sum.kind, sum.pages, sum.resumed),
        (Some(RunKind::Window), PAGES, false)
    );
    let rows = cached_rows(s.cache()).await;
    (s, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_then_incremental_brings_only_what_changed() {
    let sb = clinic(N).await;
    let (s, rows) = full_sync(&sb).await;
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    assert_eq!(
        ids,
        sandbox_ids(&sb),
        "the cache holds exactly the clinic's appointments"
    );
    let p: SyncProgress = s.progress().borrow().clone();
    assert_eq!(
        (p.phase, p.pages, p.appointments),
        (SyncPhase::Done, PAGES, 400)
    );
    assert!(p.last_synced.is_some());

    // Names came from Patient?_id= lookups; the day view shows them.
    let visits = s
        .cache()
        .day(i64::MIN / 2, i64::MAX / 2, None)
        .await
        .expect("day");
    assert!(
        visits.iter().all(|v| v.patient.is_some()),
        "every patient named"
    );
    assert!(
        visits.windows(2).all(|w| w[0].start <= w[1].start),
        "sorted by start"
    );
    assert!(visits.iter().any(|v| v.video) && visits.iter().any(|v| !v.video));

    // Only the signed-in clinician's visits, matched by uuid (drjones is a Person/).
    for user in ["drsmith", "drjones"] {
        let uuid = uuid_of(&sb, user).await;
        let mine = s
            .cache()
            .day(i64::MIN / 2, i64::MAX / 2, Some(&uuid))
            .await
            .expect("day");
        let want = sb
            .state
            .store
            .read()
            .expect("store")
            .iter()
            .filter(|a| a.actors.iter().any(|r| r.ends_with(&format!("/{uuid}"))))
            .count();
        assert_eq!(mine.len(), want, "{user}");
        assert!(want > 0 && want < visits.len(), "{user}");
    }

    // One change → an incremental run asks only for changes since W (60-s overlap included).
    let id = sandbox_ids(&sb)[7].clone();
    control(
        &sb,
        "POST",
        &format!("/control/appointments/{id}/status"),
        json!({"status":"cancelled"}),
    )
    .await;
    let w = s
        .cache()
        .sync_state()
        .await
        .expect("state")
        .watermark
        .expect("W stored");
    let expect: usize = sb
        .state
        .store
        .read()
        .expect("store")
        .iter()
        .filter(|a| a.last_updated.unix_timestamp() > w - 60)
        .count();
    let inc = s
        .sync_once(SyncMode::Incremental)
        .await
        .expect("incremental");
    assert_eq!(inc.kind, Some(RunKind::Incremental));
    assert_eq!(inc.appointments as usize, expect);
    assert!(
        expect <= 3,
        "only the change (and the overlap), got {expect}"
    );
    assert!(
        inc.bytes * 20 < 400 * 1000,
        "incremental bytes {}",
        inc.bytes
    );
    let after = cached_rows(s.cache()).await;
    let row = after.iter().find(|r| r.0 == id).expect("still cached");
    assert_eq!(row.2, "cancelled");
    assert_eq!(after.len(), rows.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_update_and_hard_deletes_go_only_after_a_complete_window_run() {
    let sb = clinic(N).await;
    let (s, rows) = full_sync(&sb).await;
    let ids = sandbox_ids(&sb);

    // A move: same id, new start.
    let moved = ids[3].clone();
    let mut res: serde_json::Value = {
        let st = sb.state.store.read().expect("store");
        serde_json::from_str(&st.get(&moved).expect("appt").json).expect("json")
    };
    let new_start = instant::format_instant(instant::unix_now() + 2 * 86_400);
    let new_end = instant::format_instant(instant::unix_now() + 2 * 86_400 + 1800);
    res["start"] = json!(new_start);
    res["end"] = json!(new_end);
    res["meta"]
        .as_object_mut()
        .expect("meta")
        .remove("lastUpdated");
    control(&sb, "POST", "/control/appointments", res).await;

    // A hard delete: OpenEMR sends no tombstone, so an incremental run cannot see it.
    let gone = ids[10].clone();
    control(
        &sb,
        "DELETE",
        &format!("/control/appointments/{gone}"),
        json!({}),
    )
    .await;
    s.sync_once(SyncMode::Incremental)
        .await
        .expect("incremental");
    let after = cached_rows(s.cache()).await;
    let m = after.iter().find(|r| r.0 == moved).expect("moved");
    assert_eq!(Some(m.1), instant::parse_instant(&new_start));
    assert!(
        after.iter().any(|r| r.0 == gone),
        "still there before the window run"
    );

    // A window run that fails on its last page deletes nothing yet.
    let (src, _) = source(&sb).await;
    let faulty = FaultAt::new(
        &sb,
        src,
        PAGES as usize,
        json!({"kind":"status","status":503}),
    );
    let s2 = syncer_with(&sb, s.cache().clone(), faulty).await;
    let e = s2
        .sync_once(SyncMode::Window)
        .await
        .expect_err("last page fails");
    assert!(
        matches!(e, ScheduleError::ServerBusy { status: 503 }),
        "{e:?}"
    );
    assert!(
        cached_rows(s.cache()).await.iter().any(|r| r.0 == gone),
        "no delete on a partial run"
    );
    clear_faults(&sb).await;
    let done = s2.sync_once(SyncMode::Auto).await.expect("resume");
    assert!(done.resumed);
    assert_eq!(done.deleted, 1);
    let final_rows = cached_rows(s.cache()).await;
    assert!(!final_rows.iter().any(|r| r.0 == gone));
    assert_eq!(final_rows.len(), rows.len() - 1);
    assert_eq!(
        final_rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        sandbox_ids(&sb)
    );
}

/// A fault at page `at`: the sync fails with `check`, the cache keeps exactly its rows, and
/// the next sync resumes from the stored cursor and ends with the clinic's appointments.
async fn fault_then_resume(rule: serde_json::Value, at: usize, check: fn(&ScheduleError) -> bool) {
    let sb = clinic(N).await;
    let (s, before) = full_sync(&sb).await;
    let (src, _) = source(&sb).await;
    let faulty = FaultAt::new(&sb, src, at, rule.clone());
    let s2 = syncer_with(&sb, s.cache().clone(), faulty).await;
    let e = s2
        .sync_once(SyncMode::Window)
        .await
        .expect_err("fault must fail the run");
    assert!(check(&e), "{rule} at page {at}: {e:?}");
    assert_eq!(
        cached_rows(s.cache()).await,
        before,
        "{rule}: cache changed"
    );
    assert_eq!(s.cache().integrity_check().await.expect("check"), "ok");
    let pending = s
        .cache()
        .sync_state()
        .await
        .expect("state")
        .run
        .expect("run kept for resume");
    assert_eq!(
        pending.pages as usize,
        at - 1,
        "{rule}: cursor after the last good page"
    );
    clear_faults(&sb).await;
    let r = s2.sync_once(SyncMode::Auto).await.expect("resumes");
    assert!(r.resumed, "{rule}");
    assert_eq!(
        r.pages as usize,
        PAGES as usize - (at - 1),
        "{rule}: only the missing pages"
    );
    assert_eq!(
        cached_rows(s.cache()).await,
        before,
        "{rule}: complete again"
    );
    assert!(s.cache().sync_state().await.expect("state").run.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_at_several_points() {
    let net = |e: &ScheduleError| matches!(e, ScheduleError::Net(_));
    for (after_bytes, at) in [(0, 1), (60, 2), (700, 3), (40_000, 3), (120_000, 4)] {
        fault_then_resume(json!({"kind":"drop","after_bytes":after_bytes}), at, net).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_refusals() {
    let busy = |e: &ScheduleError| matches!(e, ScheduleError::ServerBusy { status: 500 });
    fault_then_resume(json!({"kind":"status","status":500}), 2, busy).await;
    let busy429 = |e: &ScheduleError| matches!(e, ScheduleError::ServerBusy { status: 429 });
    fault_then_resume(json!({"kind":"status","status":429}), 3, busy429).await;
    let forbidden =
        |e: &ScheduleError| e.kind() == rounds_core::schedule::SyncErrorKind::Permission;
    fault_then_resume(json!({"kind":"status","status":403}), 2, forbidden).await;
    let bad = |e: &ScheduleError| matches!(e, ScheduleError::BadPage(_));
    fault_then_resume(json!({"kind":"malformed_json","times":1}), 2, bad).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pages_fail_the_page_never_the_process() {
    for variant in [
        "deep_nesting",
        "huge_string",
        "wrong_types",
        "huge_number",
        "duplicate_keys",
        "invalid_utf8",
        "control_chars",
    ] {
        let sb = clinic(N).await;
        let (s, before) = full_sync(&sb).await;
        fault(&sb, json!({"kind":"hostile_json","variant":variant,"path":"/apis/default/fhir/Appointment"})).await;
        let r = s.sync_once(SyncMode::Window).await;
        eprintln!("hostile {variant}: {:?}", r.as_ref().map(|s| s.pages));
        // Either refused, or read as an empty page that ends the run: never a panic, and a
        // window run that ended on a hostile page must not wipe the cache.
        match &r {
            Err(ScheduleError::BadPage(_) | ScheduleError::Net(_)) => {
                assert_eq!(cached_rows(s.cache()).await, before, "{variant}")
            }
            Ok(sum) => {
                assert_eq!(sum.appointments, 0, "{variant}");
                assert_eq!(
                    sum.deleted, 0,
                    "{variant}: an empty page without a total deletes nothing"
                );
                assert_eq!(cached_rows(s.cache()).await, before, "{variant}");
            }
            Err(e) => panic!("{variant}: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_renewed_once() {
    let sb = clinic(N).await;
    let keys = MemoryKeyStore::default();
    let cache = open_cache(&temp_dir("sched-401"), &keys).await;
    let (src, tokens) = source(&sb).await;
    let s = syncer_with(&sb, cache, src).await;
    control(
        &sb,
        "POST",
        "/control/tokens/expire",
        json!({"username":"drnomfa"}),
    )
    .await;
    let r = s
        .sync_once(SyncMode::Auto)
        .await
        .expect("sync after renewal");
    assert_eq!(r.pages, PAGES);
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 1);
    // A server that keeps refusing: one renewal per request, then "sign in again".
    fault(
        &sb,
        json!({"kind":"status","status":401,"path":"/apis/default/fhir/Appointment"}),
    )
    .await;
    let e = s
        .sync_once(SyncMode::Window)
        .await
        .expect_err("401 after renewal");
    assert!(
        matches!(e, ScheduleError::Unauthorized) && e.needs_user(),
        "{e:?}"
    );
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_next_link_is_refused_and_never_followed() {
    let sb = clinic(N).await;
    let (s, before) = full_sync(&sb).await;
    let seq_before = request_paths(&sb).len();
    fault(
        &sb,
        json!({"kind":"hostile_json","variant":"foreign_next_link",
                      "path":"/apis/default/fhir/Appointment","times":1}),
    )
    .await;
    let e = s
        .sync_once(SyncMode::Window)
        .await
        .expect_err("foreign next refused");
    match &e {
        ScheduleError::ForeignLink { origin } => assert_eq!(origin, "https://evil.example"),
        e => panic!("{e:?}"),
    }
    assert!(e.to_string().contains("https://evil.example") && !e.to_string().contains("_offset"));
    // One Appointment request reached the clinic, nothing else was attempted.
    let paths = request_paths(&sb);
    assert_eq!(&paths[seq_before..], ["/apis/default/fhir/Appointment"]);
    assert_eq!(cached_rows(s.cache()).await, before);
    let run = s
        .cache()
        .sync_state()
        .await
        .expect("state")
        .run
        .expect("pending");
    assert!(
        run.cursor.starts_with(&sb.ready.base_url),
        "the foreign URL is never stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_between_client_and_server_misses_nothing() {
    let sb = clinic(N).await;
    // The server's clock is 5 hours behind this computer's.
    control(
        &sb,
        "POST",
        "/control/time",
        json!({"offset_seconds": -5 * 3600}),
    )
    .await;
    let (s, _) = full_sync(&sb).await;
    let victim = {
        let st = sb.state.store.read().expect("store");
        let old = instant::unix_now() - 6 * 3600;
        st.iter()
            .find(|a| a.last_updated.unix_timestamp() < old)
            .expect("old appt")
            .id
            .clone()
    };
    control(
        &sb,
        "POST",
        &format!("/control/appointments/{victim}/status"),
        json!({"status":"noshow"}),
    )
    .await;
    let r = s
        .sync_once(SyncMode::Incremental)
        .await
        .expect("incremental");
    assert_eq!(r.kind, Some(RunKind::Incremental));
    let rows = cached_rows(s.cache()).await;
    assert_eq!(
        rows.iter().find(|r| r.0 == victim).expect("cached").2,
        "noshow"
    );
    // W is on the server's clock, not ours.
    let w = s
        .cache()
        .sync_state()
        .await
        .expect("state")
        .watermark
        .expect("W");
    assert!(
        w < instant::unix_now() - 4 * 3600,
        "watermark from the server clock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sync_at_a_time() {
    let sb = clinic(N).await;
    let keys = MemoryKeyStore::default();
    let cache = open_cache(&temp_dir("sched-once"), &keys).await;
    let (src, _) = source(&sb).await;
    let s = Arc::new(syncer_with(&sb, cache, src).await);
    fault(
        &sb,
        json!({"kind":"delay","ms":300,"path":"/apis/default/fhir/Appointment","times":1}),
    )
    .await;
    let mut watch = s.progress();
    let a = tokio::spawn({
        let s = s.clone();
        async move { s.sync_once(SyncMode::Auto).await }
    });
    // Wait until the first run is under way, then try a second.
    loop {
        watch.changed().await.expect("progress");
        if watch.borrow().phase == SyncPhase::Window {
            break;
        }
    }
    let b = s.sync_once(SyncMode::Auto).await;
    assert!(matches!(b, Err(ScheduleError::AlreadyRunning)), "{b:?}");
    assert_eq!(a.await.expect("join").expect("first").pages, PAGES);
}
