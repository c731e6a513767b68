//! The keychain items against the real Secret Service (a throwaway gnome-keyring on a private
//! D-Bus session; the binary re-runs itself there). What is stored is read back through
//! `secret-tool` (libsecret), not only through Rounds' own code.

use rounds_clinic_tests::auth_support::{
    self as s, Case, secret_tool_accounts, secret_tool_items, secret_tool_lookup,
};
use rounds_clinic_tests::case;
use rounds_core::secret::Secret;
use rounds_core::vault::items::unix_now;
use rounds_core::vault::{Backend, ItemKind, Vault};
use std::process::Command;
use std::time::Instant;

fn main() {
    // The child half of `locked_keychain_is_a_clear_error_and_nothing_is_written_elsewhere`.
    if std::env::args().any(|a| a == "--locked-child") {
        locked_child();
    }
    let cases: &[Case] = &[
        case!(items_carry_expiry_readable_without_the_secret),
        case!(expired_items_are_purged_and_never_returned),
        case!(delete_profile_removes_every_item_of_that_profile_only),
        case!(rotation_replaces_the_item_in_one_write),
        case!(keychain_latency),
        case!(locked_keychain_is_a_clear_error_and_nothing_is_written_elsewhere),
    ];
    s::run(cases)
}

fn sec(v: &str) -> Secret {
    Secret::new(v.into())
}

async fn items_carry_expiry_readable_without_the_secret() {
    let v = s::vault();
    assert_eq!(v.backend(), Backend::SecretService);
    let now = unix_now();
    v.put(
        "alpha",
        ItemKind::Refresh,
        &sec("rt-alpha-1"),
        Some(now + 1000),
        None,
    )
    .expect("put refresh");
    v.put(
        "alpha",
        ItemKind::Session,
        &sec("at-alpha-1"),
        Some(now + 60),
        None,
    )
    .expect("put session");
    v.put(
        "alpha",
        ItemKind::Client,
        &sec("cs-alpha"),
        None,
        Some("client-123"),
    )
    .expect("put client");

    // libsecret sees exactly these, with the expiry as an attribute beside the secret.
    assert_eq!(
        secret_tool_lookup("alpha/refresh").as_deref(),
        Some("rt-alpha-1")
    );
    let items = secret_tool_items();
    let session = items
        .iter()
        .find(|m| m.get("username").map(String::as_str) == Some("alpha/session"))
        .expect("session item");
    assert_eq!(session["rounds_expires"], (now + 60).to_string());
    assert_eq!(session["rounds_profile"], "alpha");
    assert_eq!(session["service"], "app.rounds.desktop");
    let client = items
        .iter()
        .find(|m| m.get("username").map(String::as_str) == Some("alpha/client"))
        .expect("client item");
    assert_eq!(client["rounds_client_id"], "client-123");
    assert_eq!(client["rounds_expires"], "0");

    // Our listing agrees, and it never reads a secret (it has none to give).
    let list = v.list(&[]).expect("list");
    let alpha: Vec<_> = list.iter().filter(|i| i.profile == "alpha").collect();
    assert_eq!(alpha.len(), 3, "{list:?}");
    assert!(format!("{list:?}").find("rt-alpha").is_none());
    v.delete_profile("alpha").expect("clean up");
    assert!(
        secret_tool_accounts()
            .iter()
            .all(|a| !a.starts_with("alpha/"))
    );
}

async fn expired_items_are_purged_and_never_returned() {
    let v = s::vault();
    let now = unix_now();
    v.put(
        "beta",
        ItemKind::Session,
        &sec("at-beta-old"),
        Some(now - 5),
        None,
    )
    .expect("put expired");
    v.put(
        "beta",
        ItemKind::Refresh,
        &sec("rt-beta"),
        Some(now + 3600),
        None,
    )
    .expect("put live");
    v.put(
        "gamma",
        ItemKind::Session,
        &sec("at-gamma"),
        Some(now + 30),
        None,
    )
    .expect("put gamma");
    assert!(secret_tool_lookup("beta/session").is_some(), "written");

    let gone = v.purge_expired(&[], now).expect("purge");
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(
        (gone[0].profile.as_str(), gone[0].kind),
        ("beta", ItemKind::Session)
    );
    // Read back through libsecret: the expired item is gone, the live ones stay.
    assert_eq!(secret_tool_lookup("beta/session"), None);
    assert!(secret_tool_lookup("beta/refresh").is_some());
    assert!(secret_tool_lookup("gamma/session").is_some());

    // Time passes (as the purge timer would see it): gamma's session expires too.
    let gone = v.purge_expired(&[], now + 31).expect("purge later");
    assert_eq!(gone.len(), 1);
    assert_eq!(secret_tool_lookup("gamma/session"), None);

    // A read of an expired item deletes it and returns nothing.
    v.put(
        "beta",
        ItemKind::Session,
        &sec("at-beta-2"),
        Some(now + 10),
        None,
    )
    .expect("put");
    assert!(
        v.get("beta", ItemKind::Session, now + 11)
            .expect("get")
            .is_none()
    );
    assert_eq!(secret_tool_lookup("beta/session"), None);

    // An item of ours without an expiry attribute (half-written) counts as expired.
    let raw = Command::new("sh")
        .arg("-c")
        .arg("printf half | secret-tool store --label=x service app.rounds.desktop username beta/session")
        .status()
        .expect("secret-tool store");
    assert!(raw.success());
    assert!(
        v.get("beta", ItemKind::Session, now)
            .expect("get")
            .is_none()
    );
    assert_eq!(secret_tool_lookup("beta/session"), None);

    v.delete_profile("beta").expect("clean");
    v.delete_profile("gamma").expect("clean");
}

async fn delete_profile_removes_every_item_of_that_profile_only() {
    let v = s::vault();
    let now = unix_now();
    for p in ["one", "two"] {
        for k in ItemKind::ALL {
            v.put(p, k, &sec(&format!("{p}-{k}")), Some(now + 100), Some("c"))
                .expect("put");
        }
    }
    assert_eq!(
        v.delete_profile("one").expect("delete"),
        ItemKind::ALL.len()
    );
    let accounts = secret_tool_accounts();
    assert!(
        accounts.iter().all(|a| !a.starts_with("one/")),
        "{accounts:?}"
    );
    assert_eq!(
        accounts.iter().filter(|a| a.starts_with("two/")).count(),
        ItemKind::ALL.len(),
        "{accounts:?}"
    );
    // A profile id that could address another profile's items is refused.
    assert!(
        v.put("two/refresh", ItemKind::Session, &sec("x"), None, None)
            .is_err()
    );
    assert!(v.delete_profile("../two").is_err());
    assert_eq!(
        v.delete_profile("two").expect("delete"),
        ItemKind::ALL.len()
    );
    assert_eq!(v.delete_profile("two").expect("again"), 0);
}

async fn rotation_replaces_the_item_in_one_write() {
    let v = s::vault();
    let now = unix_now();
    v.put(
        "rot",
        ItemKind::Refresh,
        &sec("rt-old"),
        Some(now + 100),
        None,
    )
    .expect("put");
    v.put(
        "rot",
        ItemKind::Refresh,
        &sec("rt-new"),
        Some(now + 200),
        None,
    )
    .expect("rotate");
    // One item, the new secret, the new expiry.
    let matching: Vec<_> = secret_tool_items()
        .into_iter()
        .filter(|m| m.get("username").map(String::as_str) == Some("rot/refresh"))
        .collect();
    assert_eq!(matching.len(), 1);
    assert_eq!(matching[0]["rounds_expires"], (now + 200).to_string());
    assert_eq!(secret_tool_lookup("rot/refresh").as_deref(), Some("rt-new"));
    v.delete_profile("rot").expect("clean");
}

/// Keychain read/write latency on the Secret Service (printed; the report quotes it).
async fn keychain_latency() {
    let v = s::vault();
    let now = unix_now();
    let n = 20;
    let (mut w, mut r, mut l) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let t = Instant::now();
        v.put(
            "bench",
            ItemKind::Session,
            &sec(&format!("tok-{i}")),
            Some(now + 100),
            None,
        )
        .expect("put");
        w.push(t.elapsed());
        let t = Instant::now();
        let got = v
            .get("bench", ItemKind::Session, now)
            .expect("get")
            .expect("item");
        r.push(t.elapsed());
        assert_eq!(got.secret.expose(), format!("tok-{i}"));
        let t = Instant::now();
        v.list(&[]).expect("list");
        l.push(t.elapsed());
    }
    v.delete_profile("bench").expect("clean");
    let med = |v: &mut Vec<std::time::Duration>| {
        v.sort();
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (wm, wx) = med(&mut w);
    let (rm, rx) = med(&mut r);
    let (lm, lx) = med(&mut l);
    println!(
        "    keychain (Secret Service, {n} runs): write+expiry median {wm:?} max {wx:?}; \
         read (expiry check + secret) median {rm:?} max {rx:?}; list median {lm:?} max {lx:?}"
    );
}

/// Runs this binary under a second private session whose gnome-keyring is created, then
/// locked; the child checks the errors and that nothing landed anywhere else.
async fn locked_keychain_is_a_clear_error_and_nothing_is_written_elsewhere() {
    let me = std::env::current_exe().expect("self");
    let home = rounds_clinic_tests::temp_dir("locked-home");
    let run = home.join("run");
    std::fs::create_dir_all(&run).expect("dir");
    let script = r#"
set -eu
eval "$(printf '%s' pw | gnome-keyring-daemon --unlock --components=secrets)"
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
  org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
exec "$@"
"#;
    let out = Command::new("timeout")
        .args(["60", "dbus-run-session", "--", "sh", "-c", script, "sh"])
        .arg(&me)
        .arg("--locked-child")
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &run)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("ROUNDS_TEST_KEYRING", "1")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{}", text.trim_end());
    eprintln!("{}", String::from_utf8_lossy(&out.stderr).trim_end());
    assert!(out.status.success(), "locked child failed");
    assert!(text.contains("LOCKED-CHILD-OK"));
    // Nothing written anywhere in the child's home except gnome-keyring's own keyring file.
    let mut files = Vec::new();
    walk(&home, &mut files);
    let foreign: Vec<_> = files
        .iter()
        .filter(|p| !p.to_string_lossy().contains("/keyrings/") && !p.starts_with(&run))
        .collect();
    assert!(foreign.is_empty(), "files written: {foreign:?}");
    let _ = std::fs::remove_dir_all(&home);
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

fn locked_child() -> ! {
    let v = Vault::open().expect("open");
    // A locked Secret Service is still the Secret Service: no fallback to keyutils.
    assert_eq!(v.backend(), Backend::SecretService);
    let e = v.probe().expect_err("locked");
    println!("probe on a locked keyring: {e}");
    assert!(
        matches!(e, rounds_core::vault::VaultError::Locked { .. }),
        "{e:?}"
    );
    let e = v
        .put(
            "locked",
            ItemKind::Session,
            &sec("at-locked"),
            Some(unix_now() + 60),
            None,
        )
        .expect_err("locked put");
    println!("put on a locked keyring: {e}");
    assert!(
        matches!(e, rounds_core::vault::VaultError::Locked { .. }),
        "{e:?}"
    );
    // Signing in with a locked keychain: a clear keychain error, and the password never left
    // (the client secret is needed first and cannot be stored).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sb = rounds_clinic_tests::sandbox().await;
        let auth = rounds_core::auth::Authenticator::new(s::TestTransport::new(&sb), &v);
        let acct = s::account(&sb, "locked", "drsmith");
        let e = auth
            .sign_in(&acct, s::request("drsmith", s::PASSWORD, "123456"))
            .await
            .expect_err("locked keychain");
        println!("sign-in on a locked keyring: {e}");
        assert!(
            matches!(
                e,
                rounds_core::auth::AuthError::Vault(rounds_core::vault::VaultError::Locked { .. })
            ),
            "{e:?}"
        );
        let reqs = sb.state.requests.lock().expect("log").clone();
        assert!(
            reqs.iter().all(|r| !r.has_password && !r.has_otp),
            "{reqs:?}"
        );
    });
    // Nothing in the kernel keyrings either.
    let keys = Command::new("keyctl").args(["show", "@u"]).output();
    if let Ok(k) = keys {
        let t = String::from_utf8_lossy(&k.stdout);
        assert!(!t.contains("rounds"), "keyutils has a Rounds key: {t}");
    }
    println!("LOCKED-CHILD-OK");
    std::process::exit(0);
}
