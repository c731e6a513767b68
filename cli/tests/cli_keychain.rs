//! `rounds-cli profiles` and `sessions` as IT runs them: the real binary, a throwaway HOME and
//! the real Secret Service (gnome-keyring on a private D-Bus session; the binary re-runs
//! itself there). What the keychain holds is read back with `secret-tool`, not with Rounds.

use rounds_clinic_tests::auth_support::{self as s, Case, TestTransport, secret_tool_accounts};
use rounds_clinic_tests::{case, sandbox};
use rounds_core::auth::Authenticator;
use rounds_core::secret::Secret;
use rounds_core::vault::ItemKind;
use rounds_core::vault::items::unix_now;
use std::process::{Command, Output};

fn main() {
    let cases: &[Case] = &[
        case!(profiles_add_list_and_remove_with_its_keychain_items),
        case!(sessions_list_shows_expiry_never_a_secret_and_clear_deletes),
        case!(bad_arguments_are_refused_with_usage),
        case!(schedule_sync_uses_the_profiles_keychain_session),
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

async fn profiles_add_list_and_remove_with_its_keychain_items() {
    let o = cli(&[
        "profiles",
        "add",
        "north",
        "https://emr.north.example",
        "--name",
        "North Clinic",
        "--user",
        "drsmith",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let again = cli(&["profiles", "add", "north", "https://emr.north.example"]);
    assert!(!again.status.success(), "a second `north` must be refused");
    let plain = cli(&["profiles", "add", "south", "http://emr.south.example"]);
    assert!(
        !plain.status.success(),
        "plain http to a remote host: {}",
        text(&plain)
    );

    let list = cli(&["profiles", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let ids: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, ["north"], "{v}");

    // The profile's keychain items, as the app would have left them.
    let vault = s::vault();
    let now = unix_now();
    vault
        .put(
            "north",
            ItemKind::Session,
            &Secret::new("north-access-token-0001".into()),
            Some(now + 3600),
            None,
        )
        .expect("put");
    vault
        .put(
            "north",
            ItemKind::Refresh,
            &Secret::new("north-refresh-token-0001".into()),
            Some(now + 86_400),
            None,
        )
        .expect("put");
    assert!(secret_tool_accounts().iter().any(|a| a == "north/session"));

    let rm = cli(&["profiles", "remove", "north"]);
    assert!(rm.status.success(), "{}", text(&rm));
    assert!(
        text(&rm).contains("2 keychain item(s) deleted"),
        "{}",
        text(&rm)
    );
    assert!(
        secret_tool_accounts()
            .iter()
            .all(|a| !a.starts_with("north/")),
        "{:?}",
        secret_tool_accounts()
    );
    let list = cli(&["profiles", "list"]);
    assert!(text(&list).contains("No profiles"), "{}", text(&list));
    let missing = cli(&["profiles", "remove", "north"]);
    assert!(!missing.status.success());
}

async fn sessions_list_shows_expiry_never_a_secret_and_clear_deletes() {
    let o = cli(&["profiles", "add", "east", "https://emr.east.example"]);
    assert!(o.status.success(), "{}", text(&o));
    let vault = s::vault();
    let now = unix_now();
    let secrets = [
        "east-access-token-0002",
        "east-refresh-token-0002",
        "west-refresh-token-0002",
    ];
    vault
        .put(
            "east",
            ItemKind::Session,
            &Secret::new(secrets[0].into()),
            Some(now + 3000),
            None,
        )
        .expect("put");
    vault
        .put(
            "east",
            ItemKind::Refresh,
            &Secret::new(secrets[1].into()),
            Some(now + 80 * 86_400),
            None,
        )
        .expect("put");
    vault
        .put(
            "west",
            ItemKind::Refresh,
            &Secret::new(secrets[2].into()),
            Some(now - 60),
            None,
        )
        .expect("put");

    let human = cli(&["sessions", "list"]);
    let t = text(&human);
    assert!(human.status.success(), "{t}");
    assert!(
        t.contains("expires in 50 min") || t.contains("expires in 49 min"),
        "{t}"
    );
    assert!(
        t.contains("expires in 79 days") || t.contains("expires in 80 days"),
        "{t}"
    );
    assert!(
        t.contains("expired 60 s ago") || t.contains("expired 61 s ago"),
        "{t}"
    );
    let json = cli(&["sessions", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let session = v
        .as_array()
        .expect("array")
        .iter()
        .find(|i| i["profile"] == "east" && i["kind"] == "session")
        .expect("east session listed");
    assert_eq!(session["expiresAt"], now + 3000);
    for secret in secrets {
        assert!(!t.contains(secret) && !String::from_utf8_lossy(&json.stdout).contains(secret));
    }

    let clear = cli(&["sessions", "clear", "east"]);
    assert!(clear.status.success(), "{}", text(&clear));
    let left = secret_tool_accounts();
    assert!(left.iter().all(|a| !a.starts_with("east/")), "{left:?}");
    assert!(
        left.iter().any(|a| a == "west/refresh"),
        "only `east` is cleared: {left:?}"
    );
    let all = cli(&["sessions", "clear"]);
    assert!(all.status.success(), "{}", text(&all));
    assert!(
        secret_tool_accounts()
            .iter()
            .all(|a| !a.starts_with("west/"))
    );
    let _ = cli(&["profiles", "remove", "east"]);
}

async fn bad_arguments_are_refused_with_usage() {
    for args in [
        &["profiles", "frobnicate"][..],
        &["sessions", "list", "--yaml"],
        &["nonsense"],
    ] {
        let o = cli(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o).contains("Usage: rounds-cli"), "{}", text(&o));
    }
}

/// A headless sync for IT: the profile's session from the keychain (signed in beforehand, as the
/// app leaves it), the clinic's CA from policy, the cache key created in the keychain.
async fn schedule_sync_uses_the_profiles_keychain_session() {
    let sb = sandbox().await;
    let policy =
        std::env::temp_dir().join(format!("rounds-cli-policy-{}.json", std::process::id()));
    std::fs::write(
        &policy,
        serde_json::json!({"mandatory": {"network": {"ca_bundle": sb.ready.ca_pem}}}).to_string(),
    )
    .expect("policy");
    let add = cli(&["profiles", "add", "clin", &sb.ready.base_url]);
    assert!(add.status.success(), "{}", text(&add));
    let vault = s::vault();
    let auth = Authenticator::new(TestTransport::new(&sb), &vault);
    s::sign_in(&auth, &sb, &s::account(&sb, "clin", "drsmith")).await;

    let o = Command::new(env!("CARGO_BIN_EXE_rounds-cli"))
        .args(["schedule", "sync", "--profile", "clin"])
        .env("ROUNDS_POLICY_FILE", &policy)
        .output()
        .expect("rounds-cli runs");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("appointments"), "progress is shown: {t}");
    assert!(
        secret_tool_accounts().iter().any(|a| a == "clin/cache-key"),
        "{:?}",
        secret_tool_accounts()
    );
    let cache = std::path::PathBuf::from(std::env::var("XDG_CACHE_HOME").expect("cache home"))
        .join("rounds/schedule-clin.db");
    let bytes = std::fs::read(&cache).expect("the cache file exists");
    assert!(
        !bytes.starts_with(b"SQLite format 3"),
        "the cache is encrypted"
    );
    // Counts only on the terminal, never a patient.
    for name in ["Nadia", "Oskar", "Amelia"] {
        assert!(!t.contains(name), "{t}");
    }
    let rm = cli(&["profiles", "remove", "clin"]);
    assert!(rm.status.success(), "{}", text(&rm));
    assert!(!cache.exists(), "removing the profile removes its cache");
    let _ = std::fs::remove_file(policy);
}
