//! Audit log costs (issue 17): append per record, p50/p99, for the chained log beside the
//! unchained append it replaced (kept here as the baseline: the entry's JSON line, written and
//! flushed under a mutex), with the checkpoint in memory and, where a Secret Service can be
//! started (gnome-keyring on a private D-Bus session; the bench re-runs itself there), in the
//! real keychain; and `verify` over 100,000 records.
//! Run: `cargo bench -p rounds-core --bench audit_bench`.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rounds_core::audit::verify::verify;
use rounds_core::audit::{
    AuditEntry, AuditKeys, AuditKind, AuditLog, MemoryAuditKeys, Rotation, Status,
};

const N: usize = 20_000;
const T: i64 = 1_795_530_000;

fn entry(i: usize) -> AuditEntry {
    AuditEntry::new(T + i as i64, AuditKind::ParticipantJoined, "a1b2c3-appt")
        .count("participants", i % 7)
        .flag("moderator", i.is_multiple_of(2))
}

/// The append of the previous version: one JSON line, no chain.
struct Unchained(Mutex<File>);

impl Unchained {
    fn open(dir: &Path) -> Self {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("audit.jsonl"))
            .expect("open");
        Self(Mutex::new(f))
    }

    fn append(&self, e: &AuditEntry) {
        let mut line = e.to_line();
        line.push('\n');
        let mut f = self.0.lock().expect("lock");
        f.write_all(line.as_bytes())
            .and_then(|()| f.flush())
            .expect("write");
    }
}

fn time(n: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    let mut t: Vec<Duration> = (0..n)
        .map(|i| {
            let t0 = Instant::now();
            f(i);
            t0.elapsed()
        })
        .collect();
    t.sort_unstable();
    t
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn report(name: &str, t: &[Duration]) -> (f64, f64) {
    let (p50, p99) = (pct(t, 0.5), pct(t, 0.99));
    println!(
        "{name:<44} p50 {p50:>8.2} µs  p99 {p99:>8.2} µs  ({} appends)",
        t.len()
    );
    (p50, p99)
}

fn main() {
    if std::env::args().any(|a| a == "--keychain-child") {
        keychain_child();
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let base = Unchained::open(&dir.path().join("."));
    let unchained = report(
        "unchained append (previous version)",
        &time(N, |i| base.append(&entry(i))),
    );
    let dir2 = tempfile::tempdir().expect("tmp");
    let keys = Arc::new(MemoryAuditKeys::default());
    let log = AuditLog::with_keys(dir2.path(), keys.clone(), Rotation::default()).expect("log");
    let chained = report(
        "chained + HMAC, checkpoint in memory",
        &time(N, |i| log.append(&entry(i)).expect("append")),
    );
    println!(
        "ratio chained/unchained: p50 {:.2}x  p99 {:.2}x",
        chained.0 / unchained.0,
        chained.1 / unchained.1
    );

    // verify over 100,000 records (10 MiB files: the default rotation, so several files).
    let dir3 = tempfile::tempdir().expect("tmp");
    let keys = Arc::new(MemoryAuditKeys::default());
    let log = AuditLog::with_keys(dir3.path(), keys.clone(), Rotation::default()).expect("log");
    for chunk in (0..100_000).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<_> = chunk.iter().map(|&i| entry(i)).collect();
        log.append_all(&batch).expect("append");
    }
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        let r = verify(dir3.path(), Some(keys.as_ref() as &dyn AuditKeys));
        runs.push(t0.elapsed());
        assert_eq!(r.status, Status::Intact, "{r:?}");
        assert_eq!(r.records, 100_001);
        if runs.len() == 1 {
            println!("verify: {} records in {} files", r.records, r.files.len());
        }
    }
    runs.sort_unstable();
    let v = runs[1].as_secs_f64();
    println!(
        "verify 100k records: median of 3 {:.1} ms ({:.2} µs/record)",
        v * 1e3,
        v * 1e6 / 100_001.0
    );
    println!(
        "  ratio to one unchained append p50 per record: {:.2}x",
        v * 1e6 / 100_001.0 / unchained.0
    );

    // The checkpoint in the real keychain: a private gnome-keyring, if this machine has one.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e/session.sh");
    let home = tempfile::tempdir().expect("tmp");
    let run = home.path().join("run");
    std::fs::create_dir_all(&run).expect("run dir");
    let out = Command::new("dbus-run-session")
        .arg("--")
        .arg("sh")
        .arg(&script)
        .arg(std::env::current_exe().expect("self"))
        .arg("--keychain-child")
        .arg(format!("{}", unchained.0))
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", &run)
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output();
    match out {
        Ok(o) if o.status.success() => print!("{}", String::from_utf8_lossy(&o.stdout)),
        Ok(o) => println!(
            "keychain checkpoint: not measured ({})",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next_back()
                .unwrap_or("")
        ),
        Err(e) => println!("keychain checkpoint: not measured (dbus-run-session: {e})"),
    }
}

#[cfg(target_os = "linux")]
fn keychain_child() {
    let unchained_p50: f64 = std::env::args()
        .next_back()
        .and_then(|a| a.parse().ok())
        .unwrap_or(f64::NAN);
    let v = rounds_core::vault::Vault::open_secret_service().expect("Secret Service");
    v.probe().expect("unlocked");
    let dir = tempfile::tempdir().expect("tmp");
    let log = AuditLog::with_keys(dir.path(), Arc::new(v), Rotation::default()).expect("log");
    let t = time(2000, |i| log.append(&entry(i)).expect("append"));
    let (p50, p99) = report("chained + HMAC, gnome-keyring checkpoint", &t);
    println!(
        "ratio to unchained: p50 {:.2}x  p99 {:.2}x (checkpoint written in the background)",
        p50 / unchained_p50,
        p99 / unchained_p50
    );
    log.sync();
    // What the background thread pays per checkpoint, and what a synchronous one would cost.
    let v = rounds_core::vault::Vault::open_secret_service().expect("Secret Service");
    let c = v.checkpoint().expect("read").expect("a checkpoint");
    let t = time(200, |_| v.set_checkpoint(&c).expect("write"));
    let (p50, p99) = report("one checkpoint write to gnome-keyring", &t);
    println!(
        "  a synchronous checkpoint per append would be p50 {:.0}x  p99 {:.0}x the unchained append",
        p50 / unchained_p50,
        p99 / unchained_p50
    );
}

#[cfg(not(target_os = "linux"))]
fn keychain_child() {}
