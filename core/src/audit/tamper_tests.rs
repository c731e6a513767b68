//! The chain against real files: every kind of tampering a file-only attacker can do, named
//! at the right record; rotation; the legacy file; a locked keychain.

use std::path::Path;
use std::sync::Arc;

use super::chain::{self, MacKey};
use super::export::{self, Format};
use super::files::file_path;
use super::verify::{Finding, Problem, Report, Status, verify};
use super::*;

const T: i64 = 1_795_530_000; // 2026-11-24T14:20:00Z

fn keys() -> Arc<MemoryAuditKeys> {
    Arc::new(MemoryAuditKeys::default())
}

fn open(dir: &Path, k: &Arc<MemoryAuditKeys>, rotation: Rotation) -> AuditLog {
    AuditLog::with_keys(dir, k.clone(), rotation).expect("open")
}

/// A log of `n` records after its genesis (seq 0): record `i` has seq `i`.
fn log_of(n: i64) -> (tempfile::TempDir, Arc<MemoryAuditKeys>) {
    let dir = tempfile::tempdir().expect("tmp");
    let k = keys();
    let log = open(dir.path(), &k, Rotation::default());
    for i in 1..=n {
        log.append(&AuditEntry::new(T + i, AuditKind::ParticipantJoined, "a1").count("n", 1))
            .expect("append");
    }
    (dir, k)
}

/// Verify as IT would, with the key and checkpoint of `k`. A log still open must be
/// [`AuditLog::sync`]ed first (its checkpoint is written in the background).
fn check(dir: &Path, k: &Arc<MemoryAuditKeys>) -> Report {
    verify(dir, Some(k.as_ref() as &dyn AuditKeys))
}

fn lines(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file_path(dir, 0)).expect("read");
    text.lines().map(str::to_string).collect()
}

fn write(dir: &Path, lines: &[String]) {
    std::fs::write(file_path(dir, 0), lines.join("\n") + "\n").expect("write");
}

fn broken(r: &Report) -> &Finding {
    assert_eq!(r.status, Status::Broken, "{r:#?}");
    r.broken.as_ref().expect("a finding")
}

/// Line `no` (1-based) of the current file, record `seq`, with `problem`.
fn assert_names(r: &Report, no: usize, seq: Option<u64>, problem: Problem) {
    let f = broken(r);
    assert_eq!(
        (f.file.as_str(), f.line, f.seq, &f.problem),
        ("audit.jsonl", no, seq, &problem)
    );
}

#[test]
fn an_untouched_log_verifies_after_10000_records_and_rotations() {
    let dir = tempfile::tempdir().expect("tmp");
    let k = keys();
    let rotation = Rotation {
        max_bytes: 256 * 1024,
        keep: 100,
    };
    let log = open(dir.path(), &k, rotation);
    for i in 0..10_000 {
        log.append(&AuditEntry::new(T + i, AuditKind::HostCommand, "a1").code("command", "mute"))
            .expect("append");
    }
    log.sync();
    let r = check(dir.path(), &k);
    assert_eq!(r.status, Status::Intact, "{r:#?}");
    assert_eq!(
        (r.records, r.first_seq, r.last_seq),
        (10_001, Some(0), Some(10_000))
    );
    assert!(r.files.len() >= 5, "rotated: {:?}", r.files);
    assert_eq!(r.files.last().map(|f| f.file.as_str()), Some("audit.jsonl"));
    // Reopening carries on the same chain.
    drop(log);
    let log = open(dir.path(), &k, rotation);
    log.append(&AuditEntry::new(T, AuditKind::VisitEnded, "a1"))
        .expect("append");
    log.sync();
    assert_eq!(check(dir.path(), &k).status, Status::Intact);
    assert_eq!(check(dir.path(), &k).last_seq, Some(10_001));
}

#[test]
fn rotation_deletes_beyond_keep_and_a_deleted_oldest_file_is_found() {
    let dir = tempfile::tempdir().expect("tmp");
    let k = keys();
    let log = open(
        dir.path(),
        &k,
        Rotation {
            max_bytes: 2048,
            keep: 2,
        },
    );
    for i in 0..100 {
        log.append(&AuditEntry::new(T + i, AuditKind::Knock, "a1"))
            .expect("append");
    }
    assert!(file_path(dir.path(), 2).exists() && !file_path(dir.path(), 3).exists());
    log.sync();
    let r = check(dir.path(), &k);
    assert_eq!(r.status, Status::Intact, "{r:#?}");
    assert!(r.first_seq > Some(0));
    std::fs::remove_file(file_path(dir.path(), 2)).expect("rm");
    let f = broken(&check(dir.path(), &k)).clone();
    assert_eq!(f.file, "audit.1.jsonl");
    assert!(
        matches!(f.problem, Problem::OlderRecordsMissing { .. }),
        "{f:?}"
    );
}

#[test]
fn an_edited_record_has_a_bad_mac() {
    let (dir, k) = log_of(20);
    let mut l = lines(dir.path());
    l[5] = l[5].replace("\"n\":1", "\"n\":2");
    write(dir.path(), &l);
    assert_names(&check(dir.path(), &k), 6, Some(5), Problem::BadMac);
}

#[test]
fn a_deleted_record_is_a_seq_gap() {
    let (dir, k) = log_of(20);
    let mut l = lines(dir.path());
    l.remove(5);
    write(dir.path(), &l);
    let gap = Problem::SeqGap {
        expected: 5,
        found: 6,
    };
    assert_names(&check(dir.path(), &k), 6, Some(6), gap);
}

#[test]
fn reordered_records_are_out_of_order() {
    let (dir, k) = log_of(20);
    let mut l = lines(dir.path());
    l.swap(5, 6);
    write(dir.path(), &l);
    let p = Problem::OutOfOrder {
        expected: 5,
        found: 6,
    };
    assert_names(&check(dir.path(), &k), 6, Some(6), p);
}

#[test]
fn an_inserted_record_is_found() {
    // A forgery with the right seq and a correct link, MACed with a key of the attacker's.
    let (dir, k) = log_of(20);
    let mut l = lines(dir.path());
    let fake_key = MacKey::from_hex(&"11".repeat(32)).expect("key");
    let prev = chain::line_hash(l[4].as_bytes());
    let e = AuditEntry::new(T, AuditKind::VisitEnded, "a1");
    l.insert(5, chain::make_line(5, &e, &prev, Some(&fake_key)));
    write(dir.path(), &l);
    assert_names(&check(dir.path(), &k), 6, Some(5), Problem::BadMac);
    // A genuine record replayed further down.
    let (dir, k) = log_of(20);
    let mut l = lines(dir.path());
    let copy = l[3].clone();
    l.insert(10, copy);
    write(dir.path(), &l);
    let p = Problem::OutOfOrder {
        expected: 10,
        found: 3,
    };
    assert_names(&check(dir.path(), &k), 11, Some(3), p);
}

#[test]
fn a_truncated_file_is_found() {
    // The last record dropped whole: only the keychain's checkpoint knows.
    let (dir, k) = log_of(20);
    let mut l = lines(dir.path());
    l.pop();
    write(dir.path(), &l);
    let p = Problem::TruncatedTail {
        checkpoint_seq: 20,
        last_seq: 19,
    };
    assert_names(&check(dir.path(), &k), 21, Some(20), p);
    // Cut in the middle of a record.
    let (dir, k) = log_of(20);
    let bytes = std::fs::read(file_path(dir.path(), 0)).expect("read");
    std::fs::write(file_path(dir.path(), 0), &bytes[..bytes.len() - 30]).expect("cut");
    assert_names(&check(dir.path(), &k), 21, None, Problem::TornLine);
}

#[test]
fn a_record_spliced_in_from_another_chain_under_the_same_key_is_found() {
    // Two chains under one key (e.g. an old log of the same user). The attacker takes record
    // 5 of the other chain and fixes the links around it, which needs no key, only SHA-256.
    let (a, k) = log_of(20);
    let b = tempfile::tempdir().expect("tmp");
    let kb = keys();
    kb.put_key(&k.get_key().expect("ok").expect("key"))
        .expect("same key");
    let log_b = open(b.path(), &kb, Rotation::default());
    for i in 1..=20 {
        log_b
            .append(&AuditEntry::new(T + i, AuditKind::VisitFailed, "b2").code("reason", "x"))
            .expect("append");
    }
    let mut l = lines(a.path());
    l[5] = lines(b.path())[5].clone();
    let relink = |l: &mut Vec<String>, i: usize| {
        let old = chain::parse(l[i].as_bytes()).expect("record").prev;
        let new = chain::line_hash(l[i - 1].as_bytes());
        l[i] = l[i].replace(&chain::hex(&old), &chain::hex(&new));
    };
    relink(&mut l, 5);
    relink(&mut l, 6);
    write(a.path(), &l);
    assert_names(&check(a.path(), &k), 6, Some(5), Problem::BadMac);
}

#[test]
fn a_cut_tail_found_at_start_stays_in_the_chain() {
    let (dir, k) = log_of(20);
    let mut l = lines(dir.path());
    l.truncate(15);
    write(dir.path(), &l);
    let log = open(dir.path(), &k, Rotation::default());
    log.append(&AuditEntry::new(T, AuditKind::VisitEnded, "a1"))
        .expect("append");
    let p = Problem::TailMissing {
        checkpoint_seq: 20,
        last_seq: 14,
    };
    log.sync();
    assert_names(&check(dir.path(), &k), 16, Some(21), p);
    let f = broken(&check(dir.path(), &k)).message.clone();
    assert!(f.contains("15..=20"), "{f}");
}

#[test]
fn a_deleted_log_is_found_at_start() {
    let (dir, k) = log_of(5);
    std::fs::remove_file(file_path(dir.path(), 0)).expect("rm");
    let r = check(dir.path(), &k);
    assert!(
        matches!(
            broken(&r).problem,
            Problem::LogMissing { checkpoint_seq: 5 }
        ),
        "{r:?}"
    );
    open(dir.path(), &k, Rotation::default()).sync();
    let p = Problem::LogMissing { checkpoint_seq: 5 };
    assert_names(&check(dir.path(), &k), 1, Some(6), p);
}

#[test]
fn a_legacy_log_is_moved_aside_and_the_new_chain_starts_from_its_hash() {
    let dir = tempfile::tempdir().expect("tmp");
    let old: String = (0..3)
        .map(|i| AuditEntry::new(T + i, AuditKind::VisitJoined, "a1").to_line() + "\n")
        .collect();
    std::fs::write(file_path(dir.path(), 0), &old).expect("old file");
    let k = keys();
    let log = open(dir.path(), &k, Rotation::default());
    log.append(&AuditEntry::new(T, AuditKind::VisitEnded, "a1"))
        .expect("append");
    log.sync();
    let legacy = dir.path().join("audit.legacy.jsonl");
    assert_eq!(std::fs::read_to_string(&legacy).expect("kept"), old);
    let first = chain::parse(lines(dir.path())[0].as_bytes()).expect("genesis");
    assert_eq!(first.kind, "audit.started");
    assert_eq!(first.detail["reason"], "legacy");
    assert_eq!(first.detail["legacy_lines"], 3);
    assert_eq!(first.prev, chain::line_hash(old.as_bytes()));
    assert_eq!(check(dir.path(), &k).status, Status::Intact);
    // Reading the recent lines still works over the new format.
    assert_eq!(log.read_recent(1).expect("read")[0].kind, "visit.ended");
    std::fs::write(&legacy, old.replace("a1", "a2")).expect("edit legacy");
    assert_names(&check(dir.path(), &k), 1, Some(0), Problem::LegacyChanged);
}

#[test]
fn a_locked_keychain_loses_no_event_and_verify_says_unverified() {
    // A first start while locked: a chain, unkeyed.
    let dir = tempfile::tempdir().expect("tmp");
    let k = keys();
    k.set_locked(true);
    let log = open(dir.path(), &k, Rotation::default());
    log.append(&AuditEntry::new(T, AuditKind::Knock, "a1"))
        .expect("append");
    drop(log);
    assert!(
        lines(dir.path())
            .iter()
            .all(|l| l.ends_with(",\"mac\":null}"))
    );
    // A keyed log, then a start while the keychain is locked: it answers "no such item",
    // which must not set the keyed chain aside as if the key were lost.
    let (dir, k) = log_of(2);
    k.set_locked(true);
    let log = open(dir.path(), &k, Rotation::default());
    for i in 0..3 {
        log.append(&AuditEntry::new(T + i, AuditKind::Knock, "a1"))
            .expect("append");
    }
    drop(log);
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "nothing set aside"
    );
    assert!(
        lines(dir.path())[3..]
            .iter()
            .all(|l| l.ends_with(",\"mac\":null}"))
    );
    k.set_locked(false);
    let log = open(dir.path(), &k, Rotation::default());
    log.append(&AuditEntry::new(T, AuditKind::VisitEnded, "a1"))
        .expect("append");
    log.sync();
    let r = check(dir.path(), &k);
    assert_eq!(
        (r.status, r.unkeyed, r.records),
        (Status::Unverified, 3, 7),
        "{r:#?}"
    );
    assert!(
        lines(dir.path())[6].contains("\"mac\":\""),
        "keyed again once unlocked"
    );
}

#[test]
fn a_lost_key_sets_the_old_chain_aside() {
    let (dir, k) = log_of(3);
    k.forget_key();
    open(dir.path(), &k, Rotation::default()).sync();
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("audit.unverifiable-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let first = chain::parse(lines(dir.path())[0].as_bytes()).expect("genesis");
    assert_eq!(
        (first.seq, first.detail["reason"].as_str()),
        (4, Some("key_missing"))
    );
    let r = check(dir.path(), &k);
    assert_eq!(r.status, Status::Intact, "{r:#?}");
}

#[test]
fn a_crash_mid_line_is_named_and_the_log_carries_on() {
    let (dir, k) = log_of(5);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file_path(dir.path(), 0))
        .expect("open");
    std::io::Write::write_all(&mut f, b"{\"seq\":6,\"at\":").expect("torn");
    let log = open(dir.path(), &k, Rotation::default());
    log.append(&AuditEntry::new(T, AuditKind::VisitEnded, "a1"))
        .expect("append");
    log.sync();
    assert_names(&check(dir.path(), &k), 7, None, Problem::Unparsable);
}

#[test]
fn export_since_a_date_as_jsonl_and_csv() {
    let (dir, _k) = log_of(3);
    let since = export::parse_since("2026-11-24").expect("date");
    let mut out = Vec::new();
    let n = export::export(dir.path(), &since, Format::Csv, &mut out).expect("csv");
    let text = String::from_utf8(out).expect("utf8");
    // The genesis (written now) and the three records.
    assert_eq!(n, 4, "{text}");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], export::CSV_COLUMNS);
    assert!(rows[1].starts_with("0,") && rows[1].ends_with(",audit.started,-,reason=new,keyed"));
    assert_eq!(
        rows[2],
        "1,2026-11-24T14:20:01Z,visit.participant_joined,a1,n=1,keyed"
    );
    let since = export::parse_since("2026-11-24T14:20:02Z").expect("instant");
    let mut out = Vec::new();
    assert_eq!(
        export::export(dir.path(), &since, Format::Jsonl, &mut out).expect("j"),
        3
    );
    assert!(export::parse_since("24/11/2026").is_none());
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tmp");
    let path = file_path(dir.path(), 0);
    std::fs::write(&path, "").expect("pre-existing");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let _log = open(dir.path(), &keys(), Rotation::default());
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}
