//! No login secret touches disk: after enrollment, sign-in and sign-out in the real window,
//! every file the app's user could have written (HOME: settings, logs, cache, WebKit's local
//! storage / IndexedDB / caches, the keyring's own files) and /tmp is searched for the password,
//! the TOTP key, the codes and every token the keychain held — raw, hex, base64, URL-encoded.

use fantoccini::Locator;
use rounds_e2e::scan::{Hit, scan};
use rounds_e2e::{Harness, Result, authenticator};
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
    h.wait_for("#username").await?.send_keys(&user).await?;
    c.find(Locator::Id("password"))
        .await?
        .send_keys(&password)
        .await?;
    c.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    let key = h.wait_for("[data-testid=manual-key]").await?.text().await?;
    let compact: String = key.split_whitespace().collect();
    let code1 = authenticator::code_now(&key).ok_or("bad key")?;
    c.find(Locator::Id("enroll-code"))
        .await?
        .send_keys(&code1)
        .await?;
    c.find(Locator::XPath(
        "//button[normalize-space()='Confirm and sign in']",
    ))
    .await?
    .click()
    .await?;
    h.wait_for("[data-testid=signed-in-user]").await?;

    // Every secret the keychain holds now (tokens, client secret), read with libsecret's tool.
    let items = h.run_in_app_session(
        "secret-tool",
        &["search", "--all", "service", "app.rounds.desktop"],
    )?;
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
    // /tmp. The sandbox's own state dir is the server's side and is left out.
    let root = h.home.parent().ok_or("home has a parent")?.to_path_buf();
    let skip: Vec<PathBuf> = vec![root.join("sandbox")];
    let mut roots = vec![root.clone(), PathBuf::from("/tmp")];
    roots.dedup();
    let hits: Vec<Hit> = scan(&roots, &skip, &secrets);
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
