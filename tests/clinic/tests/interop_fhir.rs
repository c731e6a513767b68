//! Schedule sync against an independent FHIR R4 server (Medplum's FhirRouter over its
//! MemoryRepository, in the stock clinic of tests/interop), through core's real syncer and
//! `NetClient` into a real SQLCipher cache, with a bearer token oidc-provider issued: the date
//! window, `_count`, Medplum's `next` links followed as written, `_lastUpdated` increments from
//! the CapabilityStatement, an update, a cancellation, a delete dropped by the window re-sync,
//! and the cache and day query compared with what the server holds.

mod schedule_common;

use std::collections::BTreeMap;
use std::sync::Arc;

use rounds_clinic_tests::stock::StockClinic;
use rounds_clinic_tests::{hospital, temp_dir};
use rounds_core::auth::AuthError;
use rounds_core::net::NetClient;
use rounds_core::schedule::cache::RunKind;
use rounds_core::schedule::{
    BoxFuture, Cache, MemoryKeyStore, NetSource, SyncMode, SyncOptions, Syncer, TokenSource,
    fhir_base, instant,
};
use rounds_core::secret::Secret;
use schedule_common::{cached_rows, open_cache};
use serde_json::{Value, json};

/// The provider's access token; the tests never need a renewal (1 h lifetime).
struct ProviderToken(String);

impl TokenSource for ProviderToken {
    fn token(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(Secret::new(t)) })
    }
    fn renew(&self) -> BoxFuture<'_, Result<Secret, AuthError>> {
        Box::pin(async { Err(AuthError::SessionExpired) })
    }
}

async fn syncer(sc: &StockClinic, cache: Cache) -> Syncer {
    let token = sc.access_token().await;
    let net = NetClient::new(&hospital(&sc.ca_pem().to_string_lossy())).expect("net client");
    let source = NetSource::new(net, sc.base(), Arc::new(ProviderToken(token)));
    let base = fhir_base(&sc.base(), "default").expect("fhir base");
    Syncer::new(cache, Arc::new(source), base, SyncOptions::default())
}

/// What the server holds inside Rounds' default window (today-30 d .. today+90 d, by start),
/// as (id, start, status): what a complete cache must hold.
fn in_window(all: &BTreeMap<String, Value>) -> Vec<(String, i64, String)> {
    let today = instant::day_start(instant::unix_now());
    let (lo, hi) = (today - 30 * 86_400, today + 91 * 86_400);
    let mut v: Vec<(String, i64, String)> = all
        .iter()
        .filter_map(|(id, a)| {
            let start = instant::parse_instant(a["start"].as_str()?)?;
            (lo..hi).contains(&start).then(|| {
                (
                    id.clone(),
                    start,
                    a["status"].as_str().unwrap_or_default().to_string(),
                )
            })
        })
        .collect();
    v.sort();
    v
}

/// The Appointment searches the server logged (path + query), in order.
fn searches(sc: &StockClinic) -> Vec<String> {
    sc.log()
        .lines()
        .filter_map(|l| {
            l.split_once("] GET /apis/default/fhir/Appointment?")
                .map(|x| x.1.to_string())
        })
        .collect()
}

fn appointment_at(sc: &StockClinic, start: i64, status: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": status,
        "start": instant::format_instant(start),
        "end": instant::format_instant(start + 1800),
        "participant": [
            {"actor": {"reference": format!("Practitioner/{}", sc.ready.practitioner)}, "status": "accepted"},
        ],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_sync_follows_medplums_next_links_into_the_cache() {
    // 6 seeded today + 250 over the window = 256: three pages of 100.
    let sc = StockClinic::start(250);
    // Outside the window on both sides: never asked for.
    let today = instant::day_start(instant::unix_now());
    for (d, st) in [(-45, "fulfilled"), (120, "booked")] {
        let (s, b) = sc
            .fhir(
                "POST",
                "Appointment",
                Some(&appointment_at(&sc, today + d * 86_400 + 36_000, st)),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let all = sc.all("Appointment").await;
    let want = in_window(&all);
    assert_eq!(want.len(), 256);

    let keys = MemoryKeyStore::default();
    let s = syncer(&sc, open_cache(&temp_dir("interop-fhir"), &keys).await).await;
    let before = searches(&sc).len();
    let sum = s
        .sync_once(SyncMode::Auto)
        .await
        .unwrap_or_else(|e| panic!("window sync: {e:?}\n{}", sc.log()));
    assert_eq!(sum.kind, Some(RunKind::Window));
    assert_eq!(
        (sum.pages, sum.appointments, sum.skipped),
        (3, 256, 0),
        "{sum:?}"
    );
    assert!(
        sum.patient_requests >= 1,
        "names looked up with Patient?_id="
    );

    // The requests: the date window with _count=100, then Medplum's next links verbatim
    // (its own parameter order, `_offset` advanced by `_count`).
    let q = searches(&sc).split_off(before);
    assert_eq!(q.len(), 3, "{q:?}");
    assert!(
        q[0].contains("date=ge") && q[0].contains("date=le") && q[0].contains("_count=100"),
        "{q:?}"
    );
    assert!(q[1].starts_with("_count=100&_offset=100&date=ge"), "{q:?}");
    assert!(q[2].starts_with("_count=100&_offset=200&date=ge"), "{q:?}");

    // The cache holds exactly what the server holds in the window.
    assert_eq!(cached_rows(s.cache()).await, want);

    // Today's day view for the clinician: the seeded visits of drsmith, named, sorted.
    let mine: Vec<&Value> = all
        .values()
        .filter(|a| {
            let start = a["start"]
                .as_str()
                .and_then(instant::parse_instant)
                .unwrap_or(0);
            (today..today + 86_400).contains(&start)
                && a["participant"].as_array().is_some_and(|p| {
                    p.iter().any(|x| {
                        x["actor"]["reference"]
                            == json!(format!("Practitioner/{}", sc.ready.practitioner))
                    })
                })
        })
        .collect();
    let day = s
        .cache()
        .day(today, today + 86_400, Some(&sc.ready.practitioner))
        .await
        .expect("day");
    assert_eq!(day.len(), mine.len(), "{day:?}");
    assert!(day.len() >= 5);
    assert!(day.windows(2).all(|w| w[0].start <= w[1].start));
    assert!(
        day.iter().all(|v| v.patient.is_some()),
        "every patient named: {day:?}"
    );
    let ada = day
        .iter()
        .find(|v| v.patient.as_deref() == Some("Ada Lovelace"))
        .expect("Ada's visit");
    assert_eq!(ada.status.as_str(), "fulfilled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_update_cancel_and_the_window_drops_a_delete() {
    let sc = StockClinic::start(0);
    let keys = MemoryKeyStore::default();
    let s = syncer(&sc, open_cache(&temp_dir("interop-fhir"), &keys).await).await;
    let first = s.sync_once(SyncMode::Auto).await.expect("first sync");
    assert_eq!((first.kind, first.pages), (Some(RunKind::Window), 1));
    let all = sc.all("Appointment").await;
    assert_eq!(cached_rows(s.cache()).await, in_window(&all));
    let me = json!(format!("Practitioner/{}", sc.ready.practitioner));
    let booked: Vec<&Value> = all
        .values()
        .filter(|a| a["status"] == "booked")
        .filter(|a| {
            a["participant"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x["actor"]["reference"] == me))
        })
        .collect();
    assert!(booked.len() >= 2, "{booked:?}");

    // An EHR edits through FHIR itself: a move, a cancellation, a delete.
    let mut moved = booked[0].clone();
    let new_start = instant::day_start(instant::unix_now()) + 2 * 86_400 + 9 * 3600;
    moved["start"] = json!(instant::format_instant(new_start));
    moved["end"] = json!(instant::format_instant(new_start + 1800));
    let mut cancelled = booked[1].clone();
    cancelled["status"] = json!("cancelled");
    let gone = all
        .values()
        .find(|a| a["status"] == "arrived")
        .and_then(|a| a["id"].as_str())
        .expect("an arrived visit")
        .to_string();
    for a in [&moved, &cancelled] {
        let id = a["id"].as_str().expect("id");
        let (st, b) = sc.fhir("PUT", &format!("Appointment/{id}"), Some(a)).await;
        assert_eq!(st, 200, "{b}");
    }
    let (st, b) = sc
        .fhir("DELETE", &format!("Appointment/{gone}"), None)
        .await;
    assert!((200..300).contains(&st), "{b}");

    // Incremental: `_lastUpdated=gt{W-60s}` (the CapabilityStatement lists _lastUpdated).
    let before = searches(&sc).len();
    let inc = s
        .sync_once(SyncMode::Incremental)
        .await
        .expect("incremental");
    assert_eq!(inc.kind, Some(RunKind::Incremental), "{inc:?}");
    let q = searches(&sc);
    assert_eq!(q.len(), before + 1, "{q:?}");
    assert!(q[before].starts_with("_lastUpdated=gt"), "{q:?}");
    let rows = cached_rows(s.cache()).await;
    let row = |id: &str| rows.iter().find(|r| r.0 == id).cloned();
    let mid = moved["id"].as_str().expect("id");
    assert_eq!(row(mid).map(|r| r.1), Some(new_start), "the move arrived");
    let cid = cancelled["id"].as_str().expect("id");
    assert_eq!(row(cid).map(|r| r.2).as_deref(), Some("cancelled"));
    assert!(
        row(&gone).is_some(),
        "no tombstone: an increment cannot see the delete"
    );

    // The window run sees the whole window (total = entries) and drops what is gone.
    let win = s.sync_once(SyncMode::Window).await.expect("window");
    assert_eq!(
        (win.kind, win.deleted),
        (Some(RunKind::Window), 1),
        "{win:?}"
    );
    let all = sc.all("Appointment").await;
    assert!(!all.contains_key(&gone));
    assert_eq!(cached_rows(s.cache()).await, in_window(&all));

    // The day view shows the cancellation as such (it is not hidden or lost).
    let today = instant::day_start(instant::unix_now());
    let day = s
        .cache()
        .day(today, today + 86_400, Some(&sc.ready.practitioner))
        .await
        .expect("day");
    assert!(
        day.iter()
            .any(|v| v.id == cid && v.status.as_str() == "cancelled")
    );
    assert!(day.iter().all(|v| v.id != mid && v.id != gone));
}
