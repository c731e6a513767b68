//! No login secret touches disk or the webview: after enrollment, a session renewal, sign-out,
//! a second sign-in and sign-out in the real window, every file the app's user could have
//! written (HOME: settings, logs, cache, WebKit's local storage / IndexedDB / caches, the
//! keyring's own files) and /tmp, and every answer the core sent to the webview over IPC, is
//! searched for the password, the TOTP key, the codes and every token the keychain held — raw,
//! hex, base64, URL-encoded.

use fantoccini::Locator;
use rounds_e2e::scan::{Hit, encodings, scan, scan_since};
use rounds_e2e::{Harness, Options, Result};
use serde_json::json;
use std::time::{Duration, Instant};

/// Records every IPC answer (and refusal) the page receives, as text, in `window.__ipc`.
/// Tauri's `__TAURI_INTERNALS__` is frozen, but its IPC travels as `fetch` to the `ipc://`
/// custom protocol (`http://ipc.localhost` on some platforms), so wrapping `fetch` sees all.
const RECORD_IPC: &str = r#"
const orig = window.fetch.bind(window);
window.__ipc = [];
window.fetch = async (input, init) => {
  const url = String(input && input.url ? input.url : input);
  const r = await orig(input, init);
  if (url.startsWith("ipc:") || url.includes("ipc.localhost")) {
    const cmd = decodeURIComponent(url.split("/").pop() || "");
    r.clone().text().then((t) => window.__ipc.push(cmd + " " + t));
  }
  return r;
};
return window.fetch !== orig;
"#;

fn keychain_secrets(h: &Harness) -> Result<Vec<String>> {
    Ok(h.keychain_items()?.into_iter().map(|(_, s)| s).collect())
}

async fn sign_out(h: &Harness) -> Result<()> {
    h.client
        .find(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await?
        .click()
        .await?;
    h.wait_for("#username").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_left_in_any_file_or_ipc_message() -> Result<()> {
    // A second of slack for file systems with coarse timestamps.
    let started = std::time::SystemTime::now() - Duration::from_secs(1);
    // Short sessions: the core's clock renews 2 min before the end, i.e. after ~10 s, and the
    // page re-reads the session state when told (no renewal answer crosses to the page).
    let h = Harness::start_with(Options {
        sandbox_config: Some(json!({"access_token_seconds": 130})),
        ..Options::default()
    })
    .await?;
    let c = &h.client;
    h.wait_attr("[data-testid=server-status]", "data-state", "ok")
        .await?;
    assert_eq!(c.execute(RECORD_IPC, vec![]).await?, json!(true));

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
    let mut tokens = keychain_secrets(&h)?;
    assert!(
        tokens.len() >= 2,
        "expected session + refresh tokens in the keychain: {tokens:?}"
    );

    // The renewal: the session rotates without the clinician doing anything; meanwhile the
    // schedule has created its cache key.
    let session = |items: &[(String, String)]| {
        items
            .iter()
            .find(|(k, _)| k == "session")
            .map(|(_, s)| s.clone())
    };
    let first = session(&h.keychain_items()?).ok_or("a session in the keychain")?;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let items = h.keychain_items()?;
        let renewed = session(&items).is_some_and(|s| s != first);
        if renewed && items.iter().any(|(k, _)| k == "cache-key") {
            tokens.extend(items.into_iter().map(|(_, s)| s));
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("no renewal or no cache key within 40 s: {items:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sign_out(&h).await?;

    // A second session: password + the next code (the first step's code was used).
    let next = h
        .sandbox
        .control("GET", &format!("/control/users/{user}/totp?steps=1"), None)?;
    let code2 = next["code"].as_str().ok_or("no code")?.to_string();
    h.submit_sign_in(Some(&user), &password, Some(&code2))
        .await?;
    h.wait_for("[data-testid=signed-in-user]").await?;
    tokens.extend(keychain_secrets(&h)?);

    // Lock, and unlock with the password and the code after that (a full sign-in).
    c.find(Locator::Css("[data-testid=lock-now]"))
        .await?
        .click()
        .await?;
    let code3 = h.sandbox.fresh_totp(&user)?;
    h.wait_for("#unlock-password")
        .await?
        .send_keys(&password)
        .await?;
    c.find(Locator::Id("unlock-totp"))
        .await?
        .send_keys(&code3)
        .await?;
    c.find(Locator::Css("[data-testid=locked] button[type=submit]"))
        .await?
        .click()
        .await?;
    h.wait_for("[data-testid=signed-in-user]").await?;
    tokens.extend(keychain_secrets(&h)?);

    // Change the password (old + new + code; the meter sees every keystroke), then sign in
    // with the new one: neither password may be left anywhere.
    let new_password = format!("Nw-{nonce:x}-Lantern#7");
    c.find(Locator::Css("[data-testid=open-change-password]"))
        .await?
        .click()
        .await?;
    let code4 = h.sandbox.fresh_totp(&user)?;
    h.wait_for("#pw-current")
        .await?
        .send_keys(&password)
        .await?;
    c.find(Locator::Id("pw-new"))
        .await?
        .send_keys(&new_password)
        .await?;
    c.find(Locator::Id("pw-again"))
        .await?
        .send_keys(&new_password)
        .await?;
    h.wait_attr("[data-testid=strength]", "data-acceptable", "true")
        .await?;
    c.find(Locator::Id("pw-totp"))
        .await?
        .send_keys(&code4)
        .await?;
    c.find(Locator::Css(
        "[data-testid=change-password] button[type=submit]",
    ))
    .await?
    .click()
    .await?;
    h.wait_for("[data-testid=signin-notice]").await?;
    let code5 = h.sandbox.fresh_totp(&user)?;
    h.submit_sign_in(None, &new_password, Some(&code5)).await?;
    h.wait_for("[data-testid=signed-in-user]").await?;
    tokens.extend(keychain_secrets(&h)?);
    sign_out(&h).await?;
    tokens.sort();
    tokens.dedup();

    let mut secrets: Vec<(String, String)> = vec![
        ("password".into(), password.clone()),
        ("TOTP key".into(), compact.clone()),
        ("TOTP key (grouped)".into(), key.clone()),
        ("first code".into(), code1.clone()),
        ("second code".into(), code2.clone()),
        ("unlock code".into(), code3.clone()),
        ("password-change code".into(), code4.clone()),
        ("new password".into(), new_password.clone()),
        ("code after the change".into(), code5.clone()),
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
    // Everything is looked for in the run's own files; in the rest of the temp dir (shared
    // with other programs' data) only what cannot match by chance: a 6-digit code would turn
    // up in any large file of numbers.
    let root = h.home.parent().ok_or("home has a parent")?.to_path_buf();
    let long: Vec<(String, String)> = secrets
        .iter()
        .filter(|(_, s)| s.len() >= 12)
        .cloned()
        .collect();
    let mut hits: Vec<Hit> = scan(std::slice::from_ref(&root), &secrets);
    hits.extend(scan_since(&[std::env::temp_dir()], &long, started));
    assert!(
        hits.is_empty(),
        "secrets found on disk: {:#?}",
        hits.iter()
            .map(|h| (&h.label, h.encoding, &h.file))
            .collect::<Vec<_>>()
    );
    // Every message the core sent to the webview: state only.
    let ipc: Vec<String> = serde_json::from_value(c.execute("return window.__ipc", vec![]).await?)?;
    for cmd in [
        "session_state ",
        "lock_now ",
        "unlock ",
        "check_new_password ",
        "change_password ",
    ] {
        assert!(
            ipc.iter().any(|m| m.starts_with(cmd)),
            "the recorder saw `{cmd}`: {ipc:#?}"
        );
    }
    // The one exception by design: the new authenticator's key, shown once for enrollment
    // (QR + typed form) by the one `take_enrollment` answer that carries it.
    let carrying_key = |m: &&String| m.contains(&key) || m.contains(&compact);
    let shown: Vec<&String> = ipc.iter().filter(carrying_key).collect();
    assert_eq!(shown.len(), 1, "the TOTP key is handed over exactly once");
    assert!(shown[0].starts_with("take_enrollment "), "{}", shown[0]);
    for (label, secret) in &secrets {
        for (enc, form) in encodings(secret) {
            let leak = ipc.iter().find(|m| {
                m.contains(&form)
                    && !(label.starts_with("TOTP key") && m.starts_with("take_enrollment "))
            });
            if let Some(m) = leak {
                let cmd = m.split(' ').next().unwrap_or_default();
                return Err(format!("{label} ({enc}) reached the webview in `{cmd}`").into());
            }
        }
    }

    // The scan really looked: the app wrote logs and WebKit wrote its data under HOME.
    assert!(h.app_logs().contains("first screen painted"));
    h.stop().await
}
