//! No login secret touches disk: after enrollment, sign-in and sign-out in the real window,
//! every file the app's user could have written (HOME: settings, logs, cache, WebKit's local
//! storage / IndexedDB / caches, the keyring's own files) and /tmp is searched for the password,
//! the TOTP key, the codes and every token the keychain held — raw, hex, base64, URL-encoded.

use fantoccini::Locator;
use rounds_e2e::scan::{Hit, scan};
use rounds_e2e::{Harness, Result};
use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_left_in_any_file() -> Result<()> {
    let h = Harness::start().await?;
    let c = &h.client;
    h.wait_attr("[data-testid=server-status]", "data-state", "ok")
        .await?;

    // A clinician made for this run only, with no authenticator yet: enrollment + sign-in.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let user = format!("scan{}", nonce % 1_000_000);
    let password = format!("Pw-{nonce:x}-scan!");
    h.sandbox.add_unenrolled_user(&user, &password)?;
    h.submit_sign_in(Some(&user), &password, None).await?;
    let (key, code1) = h.enroll_with_test_authenticator().await?;
    let compact: String = key.split_whitespace().collect();
    h.wait_for("[data-testid=signed-in-user]").await?;

    // Every secret the keychain holds now (tokens, client secret), read with libsecret's tool.
    let items = h.keychain_listing()?;
    let tokens: Vec<String> = items
        .lines()
        .filter_map(|l| l.strip_prefix("secret = "))
        .map(|s| s.trim().to_string())
        .filter(|s| s.len() >= 8)
        .collect();
    assert!(
        tokens.len() >= 2,
        "expected session + refresh tokens in the keychain: {items}"
    );

    c.find(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await?
        .click()
        .await?;
    h.wait_for("#username").await?;

    let mut secrets: Vec<(String, String)> = vec![
        ("password".into(), password.clone()),
        ("TOTP key".into(), compact.clone()),
        ("TOTP key (grouped)".into(), key.clone()),
        ("first code".into(), code1.clone()),
    ];
    secrets.extend(
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("keychain secret #{i}"), t.clone())),
    );

    // The app's side of the machine: this run's HOME (with the keyring's encrypted file, which
    // must not hold anything in the clear), the run's temp root (the app's stdout/stderr) and
    // the temp dir. The run's root usually lies inside the temp dir: then scan that once.
    let root = h.home.parent().ok_or("home has a parent")?.to_path_buf();
    let tmp = std::env::temp_dir();
    let roots: Vec<PathBuf> = if root.starts_with(&tmp) {
        vec![tmp]
    } else {
        vec![root, tmp]
    };
    let hits: Vec<Hit> = scan(&roots, &secrets);
    assert!(
        hits.is_empty(),
        "secrets found on disk: {:#?}",
        hits.iter()
            .map(|h| (&h.label, h.encoding, &h.file))
            .collect::<Vec<_>>()
    );
    // The scan really looked: the app wrote logs and WebKit wrote its data under HOME.
    assert!(h.app_logs().contains("first screen painted"));
    h.stop().await
}
