//! The audit chain with the real keychain: the app's `AuditLog::open` makes its key in the
//! Secret Service (gnome-keyring on a private D-Bus session; the binary re-runs itself there),
//! the real `rounds-cli audit verify` checks it with that key and the keychain's checkpoint,
//! and a locked keychain costs no event. Keychain contents are read back with `secret-tool`.

use rounds_clinic_tests::auth_support::{
    self as s, Case, secret_tool_accounts, secret_tool_lookup,
};
use rounds_clinic_tests::case;
use rounds_core::audit::{AuditEntry, AuditKind, AuditLog};
use std::path::Path;
use std::process::{Command, Output};

const T: i64 = 1_795_530_000;

fn main() {
    if std::env::args().any(|a| a == "--locked-child") {
        locked_child();
    }
    let cases: &[Case] = &[
        case!(the_app_keys_its_log_in_the_keychain_and_the_cli_verifies_it),
        case!(a_locked_keychain_loses_no_event_and_verify_says_unverified),
    ];
    s::run(cases)
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rounds-cli"))
        .args(args)
        .output()
        .expect("rounds-cli runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn append(dir: &Path, n: i64) {
    let log = AuditLog::open(dir).expect("open with the OS keychain");
    for i in 0..n {
        log.append(&AuditEntry::new(T + i, AuditKind::Knock, "a1"))
            .expect("append");
    }
}

fn current(dir: &Path) -> std::path::PathBuf {
    dir.join("audit.jsonl")
}

async fn the_app_keys_its_log_in_the_keychain_and_the_cli_verifies_it() {
    let dir = rounds_clinic_tests::temp_dir("audit-keyed");
    let d = dir.to_str().expect("utf8 path");
    append(&dir, 30);
    let accounts = secret_tool_accounts();
    assert!(
        accounts.contains(&"_audit/mac-key".into())
            && accounts.contains(&"_audit/checkpoint".into()),
        "{accounts:?}"
    );
    let key = secret_tool_lookup("_audit/mac-key").expect("key in the keychain");
    assert_eq!(key.trim().len(), 64);
    let file = std::fs::read_to_string(current(&dir)).expect("log");
    assert!(!file.contains(key.trim()), "the key is in the log file");
    let checkpoint = secret_tool_lookup("_audit/checkpoint").expect("checkpoint");
    assert!(checkpoint.contains("\"seq\":30"), "{checkpoint}");

    let o = cli(&["audit", "verify", "--dir", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("INTACT"), "{}", text(&o));
    let o = cli(&["audit", "verify", "--dir", d, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(
        (v["status"].as_str(), v["mac_checked"].as_bool()),
        (Some("intact"), Some(true))
    );
    let o = cli(&[
        "audit",
        "export",
        "--since",
        "2026-01-01",
        "--format",
        "csv",
        "--dir",
        d,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(csv.lines().count(), 32, "{csv}");
    assert_eq!(
        csv.lines().next(),
        Some("seq,at,kind,appointment,detail,mac")
    );

    // The last record dropped: the file alone still verifies, the keychain does not agree.
    let mut lines: Vec<&str> = file.lines().collect();
    lines.pop();
    std::fs::write(current(&dir), lines.join("\n") + "\n").expect("cut");
    let o = cli(&["audit", "verify", "--dir", d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("BROKEN at audit.jsonl line 31, seq 30: truncated tail"),
        "{}",
        text(&o)
    );
    // The app starts again: the cut stays on record, the checkpoint cannot launder it.
    append(&dir, 1);
    let o = cli(&["audit", "verify", "--dir", d, "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["broken"]["problem"], "tail_missing", "{v:#}");
    assert_eq!(v["broken"]["seq"], 31, "{v:#}");

    let o = cli(&["audit", "verify", "--bogus"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = cli(&["audit", "export", "--since", "yesterday", "--dir", d]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

async fn a_locked_keychain_loses_no_event_and_verify_says_unverified() {
    let me = std::env::current_exe().expect("self");
    let home = rounds_clinic_tests::temp_dir("audit-locked-home");
    let run = home.join("run");
    std::fs::create_dir_all(&run).expect("dir");
    let script = r#"
set -eu
eval "$(printf '%s' pw | gnome-keyring-daemon --unlock --components=secrets)"
exec "$@"
"#;
    let out = Command::new("timeout")
        .args(["60", "dbus-run-session", "--", "sh", "-c", script, "sh"])
        .arg(&me)
        .arg("--locked-child")
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &run)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("ROUNDS_TEST_KEYRING", "1")
        .env("ROUNDS_AUDIT_DIR", home.join("audit"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("child runs");
    let t = String::from_utf8_lossy(&out.stdout);
    println!("{}", t.trim_end());
    eprintln!("{}", String::from_utf8_lossy(&out.stderr).trim_end());
    assert!(
        out.status.success() && t.contains("LOCKED-CHILD-OK"),
        "locked child failed"
    );
    let _ = std::fs::remove_dir_all(&home);
}

/// Locks the login collection, as the screen locker or `seahorse` does.
fn lock_keychain() {
    let st = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .output()
        .expect("dbus-send");
    assert!(st.status.success(), "lock: {}", text(&st));
}

fn locked_child() -> ! {
    let dir = std::path::PathBuf::from(std::env::var_os("ROUNDS_AUDIT_DIR").expect("dir"));
    append(&dir, 2);
    lock_keychain();
    // A locked gnome-keyring answers "no such item" for the key: the keyed chain must stay.
    append(&dir, 3);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["audit.jsonl"], "nothing set aside");
    let file = std::fs::read_to_string(current(&dir)).expect("every event written");
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(lines.len(), 6, "{file}");
    assert!(
        lines[..3].iter().all(|l| l.contains("\"mac\":\"")),
        "{file}"
    );
    assert!(
        lines[3..].iter().all(|l| l.ends_with(",\"mac\":null}")),
        "{file}"
    );
    let o = cli(&["audit", "verify", "--dir", dir.to_str().expect("utf8")]);
    println!("{}", text(&o).trim_end());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("Unkeyed: 3 record(s)"), "{}", text(&o));
    println!("LOCKED-CHILD-OK");
    std::process::exit(0);
}
