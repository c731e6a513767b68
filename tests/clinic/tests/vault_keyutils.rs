//! The kernel keyutils store, which Rounds uses on Linux when no Secret Service runs (a
//! server, a bare window manager). keyutils has no attributes, so each item's expiry lives in
//! a companion `<account>#meta` key. The binary re-runs itself in a fresh anonymous session
//! keyring (`keyctl session -`) with no D-Bus, so the Secret Service cannot answer and the
//! machine's own keyrings are never touched. Keys are read back with the `keyctl` tool.

use rounds_core::secret::Secret;
use rounds_core::vault::items::unix_now;
use rounds_core::vault::{Backend, ItemKind, Vault};
use std::process::Command;
use std::time::Instant;

const CHILD: &str = "ROUNDS_KEYUTILS_CHILD";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("keyutils_store: test");
        return;
    }
    if std::env::var_os(CHILD).is_none() {
        if Command::new("keyctl").arg("--version").output().is_err() {
            println!("SKIP: keyctl (package keyutils) is not installed");
            return;
        }
        let me = std::env::current_exe().expect("own path");
        let st = Command::new("keyctl")
            .args(["session", "-"])
            .arg(me)
            .env(CHILD, "1")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("DISPLAY")
            .env(
                "XDG_RUNTIME_DIR",
                std::env::temp_dir().join("no-such-runtime-dir"),
            )
            .status()
            .expect("keyctl session");
        assert!(st.success(), "keyutils test failed");
        println!("test keyutils_store ... ok");
        return;
    }
    keyutils_store();
}

/// What the kernel holds in this session keyring, as `keyctl` prints it.
fn keyctl_show() -> String {
    let o = Command::new("keyctl")
        .args(["show", "@s"])
        .output()
        .expect("keyctl show");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn keyutils_store() {
    let v = Vault::open().expect("a store opens without any Secret Service");
    assert_eq!(v.backend(), Backend::Keyutils, "no D-Bus: kernel keyutils");
    v.probe().expect("keyutils answers");
    let now = unix_now();
    let session = Secret::new("keyutils-access-token-0123456789".into());
    v.put("ku", ItemKind::Session, &session, Some(now + 3600), None)
        .expect("put session");
    v.put(
        "ku",
        ItemKind::Refresh,
        &Secret::new("keyutils-refresh-token-abcdef".into()),
        Some(now + 86_400),
        None,
    )
    .expect("put refresh");
    v.put(
        "ku",
        ItemKind::Client,
        &Secret::new("client-secret-xyz".into()),
        None,
        Some("client-17"),
    )
    .expect("put client");

    // Read back through the kernel, not through Rounds: the item and its metadata key.
    let shown = keyctl_show();
    for want in [
        "ku/session",
        "ku/session#meta",
        "ku/refresh",
        "ku/client#meta",
    ] {
        assert!(shown.contains(want), "keyctl does not show {want}: {shown}");
    }
    let info = v
        .info("ku", ItemKind::Session)
        .expect("info")
        .expect("some");
    assert_eq!(info.expires_at, Some(now + 3600));
    let client = v.info("ku", ItemKind::Client).expect("info").expect("some");
    assert_eq!(
        (client.expires_at, client.client_id.as_deref()),
        (None, Some("client-17"))
    );
    let got = v
        .get("ku", ItemKind::Session, now)
        .expect("get")
        .expect("some");
    assert_eq!(got.secret.expose(), session.expose());

    // Listing reads only the metadata keys.
    let mut kinds: Vec<ItemKind> = v
        .list(&["ku"])
        .expect("list")
        .into_iter()
        .map(|i| i.kind)
        .collect();
    kinds.sort_by_key(|k| k.as_str());
    assert_eq!(
        kinds,
        [ItemKind::Client, ItemKind::Refresh, ItemKind::Session]
    );

    // Past its expiry a session is never returned, and reading it deletes it (item + meta).
    assert!(
        v.get("ku", ItemKind::Session, now + 3601)
            .expect("get")
            .is_none()
    );
    let shown = keyctl_show();
    assert!(
        !shown.contains("ku/session"),
        "expired session still in the kernel: {shown}"
    );

    // Purge at start: expired items go, live ones stay.
    v.put(
        "old",
        ItemKind::Refresh,
        &Secret::new("expired-refresh-token-000".into()),
        Some(now - 1),
        None,
    )
    .expect("put expired");
    let gone = v.purge_expired(&["ku", "old"], now).expect("purge");
    assert_eq!(gone.len(), 1, "{gone:?}");
    let shown = keyctl_show();
    assert!(!shown.contains("old/refresh"), "{shown}");
    assert!(shown.contains("ku/refresh"), "{shown}");

    // Removing the profile removes everything of it, metadata included.
    v.delete_profile("ku").expect("delete profile");
    let shown = keyctl_show();
    assert!(!shown.contains("ku/"), "profile keys left: {shown}");

    // Latency (figures for the note): write = secret + meta key; read = meta + secret.
    let (mut w, mut r) = (Vec::new(), Vec::new());
    let s = Secret::new("x".repeat(40));
    for _ in 0..200 {
        let t = Instant::now();
        v.put("bench", ItemKind::Session, &s, Some(now + 3600), None)
            .expect("put");
        w.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        v.get("bench", ItemKind::Session, now)
            .expect("get")
            .expect("some");
        r.push(t.elapsed().as_secs_f64() * 1e3);
    }
    v.delete_profile("bench").expect("clean");
    println!(
        "keyutils latency over 200: write median {:.3} ms, read median {:.3} ms",
        median(w),
        median(r)
    );
}
