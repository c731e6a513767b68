//! The encrypted cache as an attacker or a crash would meet it: no plaintext on disk, a wrong
//! or lost key and a damaged file are detected at open (the old file kept aside, a fresh cache
//! made), and `kill -9` in the middle of page writes leaves a consistent database whose cursor
//! matches its rows.

mod schedule_common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rounds_clinic_tests::temp_dir;
use rounds_core::schedule::cache::{PageWrite, Run, RunKind};
use rounds_core::schedule::key::new_raw_key;
use rounds_core::schedule::{
    Appointment, AppointmentStatus, Cache, CacheKey, CacheOpen, KeyStore, MemoryKeyStore, SyncMode,
    Unreadable,
};
use rounds_core::secret::Secret;
use schedule_common::*;

fn appt(id: String, start: i64) -> Appointment {
    Appointment {
        id,
        last_updated: Some(start - 86_400),
        status: AppointmentStatus::Booked,
        start,
        end: start + 1800,
        visit_type: Some("Office Visit".into()),
        video: false,
        comment: Some("Marker-comment-PLAINTEXT".into()),
        patient_id: Some("p1".into()),
        patient_display: Some("Wilhelmina Plaintextova".into()),
        clinicians: vec!["d1".into()],
        participants: vec![],
        link: None,
    }
}

fn run_after(page: u32) -> Run {
    Run {
        id: 1,
        kind: RunKind::Window,
        cursor: format!(
            "https://clinic.invalid/fhir/Appointment?_offset={}",
            page * 100
        ),
        max_last_updated: None,
        server_start: None,
        pages: page,
        appointments: page * 100,
        entries: page * 100,
        failures: 0,
    }
}

/// Writes page `k` (100 appointments) with the cursor for page k+1.
async fn write_page(cache: &Cache, k: u32) {
    let appts: Vec<Appointment> = (0..100)
        .map(|i| appt(format!("p{k}-{i}"), 1_800_000_000 + i64::from(k) * 3600))
        .collect();
    let run = run_after(k + 1);
    cache
        .commit_page(PageWrite {
            appointments: &appts,
            seen_run: Some(1),
            patients: &[("p1".to_string(), "Wilhelmina Plaintextova".to_string())],
            run: Some(&run),
            finish: None,
        })
        .await
        .expect("page committed");
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_on_disk_holds_no_plaintext_and_no_key() {
    let sb = clinic(300).await;
    let dir = temp_dir("sched-plain");
    let keys = MemoryKeyStore::default();
    let (cache, how) = Cache::open(&dir, PROFILE, &keys).await.expect("open");
    assert_eq!(how, CacheOpen::Created);
    let (src, _) = source(&sb).await;
    let s = syncer_with(&sb, cache.clone(), src).await;
    s.sync_once(SyncMode::Auto).await.expect("sync");
    let visits = cache
        .day(i64::MIN / 2, i64::MAX / 2, None)
        .await
        .expect("day");
    let name = visits
        .iter()
        .find_map(|v| v.patient.clone())
        .expect("a patient name");
    let comment = visits
        .iter()
        .find_map(|v| v.comment.clone())
        .expect("a comment");
    let first_id = visits[0].id.clone();
    let key = keys
        .get_key(PROFILE)
        .expect("keystore")
        .expect("key made on first use");
    // Look while the cache is open (WAL present) and after it is closed.
    for phase in ["open", "closed"] {
        if phase == "closed" {
            cache.close().await;
        }
        for f in files_in(&dir) {
            let bytes = std::fs::read(&f).expect("read");
            let fname = f.file_name().expect("name").to_string_lossy().to_string();
            assert!(fname.starts_with("schedule-clinic-test.db"), "{fname}");
            for needle in [
                name.as_bytes(),
                comment.as_bytes(),
                first_id.as_bytes(),
                b"SQLite format 3",
                key.expose().as_bytes(),
                b"Appointment",
            ] {
                assert!(
                    !contains(&bytes, needle),
                    "{phase}: {fname} contains {:?}",
                    String::from_utf8_lossy(needle)
                );
            }
        }
    }
}

async fn filled(dir: &Path, keys: &MemoryKeyStore, pages: u32) -> PathBuf {
    let (cache, _) = Cache::open(dir, PROFILE, keys).await.expect("open");
    for k in 0..pages {
        write_page(&cache, k).await;
    }
    let path = cache.path().to_path_buf();
    cache.close().await;
    path
}

#[tokio::test]
async fn a_wrong_or_lost_key_is_refused_and_the_old_file_kept_aside() {
    for lose in [false, true] {
        let dir = temp_dir("sched-key");
        let keys = MemoryKeyStore::default();
        let path = filled(&dir, &keys, 3).await;
        let old_bytes = std::fs::read(&path).expect("db");
        let old_key = keys.get_key(PROFILE).expect("ks").expect("key");
        if lose {
            keys.forget(PROFILE);
        } else {
            keys.set(PROFILE, new_raw_key().expect("rng").expose());
        }
        let (cache, how) = Cache::open(&dir, PROFILE, &keys).await.expect("recovers");
        let CacheOpen::Recovered { moved_to, reason } = how else {
            panic!("{how:?}")
        };
        let want = if lose {
            Unreadable::NoKey
        } else {
            Unreadable::WrongKeyOrHeader
        };
        assert_eq!(reason, want);
        let aside = moved_to
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        assert!(
            aside.starts_with("schedule-clinic-test.db.unreadable-"),
            "{aside}"
        );
        assert_eq!(
            std::fs::read(&moved_to).expect("kept"),
            old_bytes,
            "moved, not rewritten"
        );
        assert_eq!(
            cache.counts().await.expect("counts").appointments,
            0,
            "fresh cache"
        );
        assert!(keys.get_key(PROFILE).expect("ks").is_some());
        // The set-aside file still opens with its own key: nothing was destroyed.
        let old = Cache::open_at(&moved_to, CacheKey::Raw(old_key))
            .await
            .expect("old opens");
        assert_eq!(old.counts().await.expect("counts").appointments, 300);
    }
}

#[tokio::test]
async fn a_damaged_file_is_detected_at_open_and_kept_aside() {
    for (what, at) in [("middle", 0.5f64), ("header", 0.0)] {
        let dir = temp_dir("sched-corrupt");
        let keys = MemoryKeyStore::default();
        let path = filled(&dir, &keys, 20).await;
        assert!(
            !PathBuf::from(format!("{}-wal", path.display())).exists(),
            "checkpointed"
        );
        let mut bytes = std::fs::read(&path).expect("db");
        let off = ((bytes.len() as f64 * at) as usize).max(16);
        bytes[off..off + 64].fill(0x55);
        std::fs::write(&path, &bytes).expect("corrupt");
        let (cache, how) = Cache::open(&dir, PROFILE, &keys).await.expect("recovers");
        let CacheOpen::Recovered { moved_to, reason } = how else {
            panic!("{what}: {how:?}")
        };
        let want = if at == 0.0 {
            Unreadable::WrongKeyOrHeader
        } else {
            Unreadable::Damaged
        };
        assert_eq!(reason, want, "{what}");
        assert_eq!(std::fs::read(&moved_to).expect("kept"), bytes, "{what}");
        assert_eq!(cache.counts().await.expect("counts").appointments, 0);
        assert_eq!(cache.integrity_check().await.expect("check"), "ok");
    }
}

/// The writer the crash test kills: pages forever, each one transaction with its cursor.
#[tokio::test]
async fn crash_child_writer() {
    let (Ok(path), Ok(key)) = (
        std::env::var("SCHED_CRASH_DB"),
        std::env::var("SCHED_CRASH_KEY"),
    ) else {
        return; // only when re-executed by the crash test
    };
    let cache = Cache::open_at(Path::new(&path), CacheKey::Raw(Secret::new(key)))
        .await
        .expect("open");
    let start = cache
        .sync_state()
        .await
        .expect("state")
        .run
        .map_or(0, |r| r.pages);
    for k in start..start + 100_000 {
        write_page(&cache, k).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_page_writes_leaves_a_consistent_cache() {
    let dir = temp_dir("sched-crash");
    let path = dir.join("crash.db");
    let key = new_raw_key().expect("rng");
    let exe = std::env::current_exe().expect("test binary");
    let mut last_pages = 0;
    for (round, ms) in [350u64, 520, 800, 430, 610].into_iter().enumerate() {
        let mut child = std::process::Command::new(&exe)
            .args([
                "crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SCHED_CRASH_DB", &path)
            .env("SCHED_CRASH_KEY", key.expose())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("child");
        // Let it write for a while (first round also creates the file), then SIGKILL.
        tokio::time::sleep(Duration::from_millis(ms + if round == 0 { 700 } else { 0 })).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let cache = Cache::open_at(&path, CacheKey::Raw(Secret::new(key.expose().into())))
            .await
            .expect("reopens after kill -9");
        assert_eq!(
            cache.integrity_check().await.expect("check"),
            "ok",
            "round {round}"
        );
        let run = cache
            .sync_state()
            .await
            .expect("state")
            .run
            .expect("a cursor");
        let rows = cache.counts().await.expect("counts").appointments;
        assert_eq!(
            rows,
            i64::from(run.pages) * 100,
            "round {round}: rows match the cursor"
        );
        assert_eq!(run.cursor, run_after(run.pages).cursor, "round {round}");
        assert!(
            run.pages > last_pages,
            "round {round}: the child made progress"
        );
        last_pages = run.pages;
        cache.close().await;
    }
}

#[tokio::test]
async fn an_older_copy_never_overwrites_a_newer_one_but_still_counts_as_seen() {
    use rounds_core::schedule::cache::Finish;
    let dir = temp_dir("sched-stale");
    let keys = MemoryKeyStore::default();
    let (cache, _) = Cache::open(&dir, PROFILE, &keys).await.expect("open");
    let page = |a: Appointment, run: i64, finish: bool| {
        let cache = cache.clone();
        async move {
            cache
                .commit_page(PageWrite {
                    appointments: std::slice::from_ref(&a),
                    seen_run: Some(run),
                    patients: &[],
                    run: None,
                    finish: finish.then_some(Finish {
                        watermark: None,
                        now: 1,
                        reconcile_run: Some(run),
                    }),
                })
                .await
                .expect("page")
        }
    };
    let mut a = appt("x1".into(), 1_800_000_000);
    a.last_updated = Some(1000);
    assert_eq!(page(a.clone(), 1, false).await.written, 1);
    let mut older = a.clone();
    older.last_updated = Some(999);
    older.status = AppointmentStatus::Cancelled;
    // Window run 2 sees only the older copy: not written, but seen, so not deleted.
    let st = page(older, 2, true).await;
    assert_eq!((st.written, st.stale, st.deleted), (0, 1, 0));
    let v = cache.day(0, i64::MAX / 2, None).await.expect("day");
    assert_eq!(v[0].status, AppointmentStatus::Booked, "older copy ignored");
    let mut newer = a.clone();
    newer.last_updated = Some(1001);
    newer.status = AppointmentStatus::Arrived;
    assert_eq!(page(newer, 3, false).await.written, 1);
    let v = cache.day(0, i64::MAX / 2, None).await.expect("day");
    assert_eq!(v[0].status, AppointmentStatus::Arrived);
}
