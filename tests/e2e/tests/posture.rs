//! The security posture panel in the real window, reached from the header by keyboard: the
//! clinic's connection as the sandbox really serves it (TLS 1.3, verified by the sandbox CA
//! given as the hospital CA, not pinned), the Secret Service of the test's gnome-keyring, the
//! SQLCipher cache, the time of the password + code sign-in. Then the same facts from
//! `rounds --cli doctor` (text and `--json`) in the app's own session, and neither the panel nor
//! the CLI shows a token, the password, a TOTP secret or a patient's name.

use fantoccini::Locator;
use fantoccini::key::Key;
use rounds_e2e::{DEMO_PASSWORD, Harness, Result};

async fn attr(h: &Harness, css: &str, name: &str) -> Result<String> {
    Ok(h.client
        .find(Locator::Css(css))
        .await?
        .attr(name)
        .await?
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_posture_panel_tells_the_real_setup_and_nothing_secret() -> Result<()> {
    let h = Harness::start().await?;
    let c = &h.client;
    h.sign_in_demo("drsmith").await?;
    h.wait_for("[data-visit]").await?;
    // Patient names on today's schedule: what must not appear in the panel or the CLI.
    let names = c
        .execute(
            "return [...document.querySelectorAll('[data-visit] .patient')].map(e => e.textContent.trim());",
            vec![],
        )
        .await?;
    let names: Vec<String> = names
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(!names.is_empty(), "today's schedule names patients");

    // Keyboard: focus the header's Security button and press Enter; focus lands on the title.
    let button = h.wait_for("[data-testid=open-posture]").await?;
    c.execute(
        "document.querySelector('[data-testid=open-posture]').focus();",
        vec![],
    )
    .await?;
    button.send_keys(&Key::Enter.to_string()).await?;
    h.wait_for("[data-testid=posture-clinic][data-accepted=true]")
        .await?;
    let focused = c
        .execute(
            "return document.activeElement && document.activeElement.id;",
            vec![],
        )
        .await?;
    assert_eq!(
        focused.as_str(),
        Some("posture-title"),
        "focus moves into the panel"
    );

    let clinic = "[data-testid=posture-clinic]";
    assert_eq!(attr(&h, clinic, "data-tls").await?, "TLS 1.3");
    assert_eq!(attr(&h, clinic, "data-trust").await?, "hospitalCa");
    assert_eq!(attr(&h, clinic, "data-pin").await?, "notPinned");
    assert_eq!(
        attr(&h, "[data-testid=posture-keychain]", "data-backend").await?,
        "secret-service"
    );
    assert!(
        attr(&h, "[data-testid=posture-cache]", "data-cipher")
            .await?
            .starts_with('4'),
        "SQLCipher 4.x"
    );
    assert_eq!(
        attr(&h, "[data-testid=posture-cache]", "data-encrypted").await?,
        "true"
    );
    let mfa: i64 = attr(&h, "[data-testid=posture-session]", "data-mfa-at")
        .await?
        .parse()
        .map_err(|_| "the sign-in time is shown")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    assert!(
        (now - 120..=now).contains(&mfa),
        "signed in just now: {mfa}"
    );
    let took = h
        .wait_for("[data-testid=posture-checked]")
        .await?
        .text()
        .await?;
    println!("panel: {took}");
    let panel = h.wait_for("[data-testid=posture]").await?.text().await?;
    assert!(panel.contains("Password and code entered"), "{panel}");
    h.screenshot("posture").await?;

    // The CLI in the app's own session (same HOME, keyring, policy) says the same.
    let out = h
        .command_like_app(&h.app)?
        .args(["--cli", "doctor", "--json"])
        .output()?;
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("doctor --json: {e}: {json}"))?;
    let p = &v["posture"];
    assert_eq!(p["clinic"]["tlsVersion"], "TLS 1.3", "{p:#}");
    assert_eq!(p["clinic"]["trustedBy"], "hospitalCa");
    assert_eq!(p["keychain"]["backend"], "secret-service");
    assert_eq!(p["cache"]["fileEncrypted"], true);
    assert_eq!(
        p["session"]["mfaAt"], mfa,
        "the CLI reads the same sign-in time"
    );
    let text = h.run_in_app_session(h.app.to_str().ok_or("path")?, &["--cli", "doctor"])?;
    assert!(
        text.contains("Security posture:") && text.contains("TLS 1.3"),
        "{text}"
    );

    // Nothing secret, no PHI, in any of the three.
    // Every secret Rounds keeps in the keychain (tokens, client, cache key), from libsecret's
    // own listing (it prints attributes on stderr, hence the merged pipe).
    let tokens: Vec<String> = h.keychain_items()?.into_iter().map(|(_, s)| s).collect();
    assert!(
        !tokens.is_empty(),
        "the session's tokens are in the keychain"
    );
    let users = h.sandbox.control("GET", "/control/users", None)?;
    let totp: Vec<String> = users["users"]
        .as_array()
        .map(|u| {
            u.iter()
                .filter_map(|u| u["totp_secret"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for (what, out) in [
        ("panel", &panel),
        ("doctor --json", &json),
        ("doctor", &text),
    ] {
        for x in tokens.iter().chain(totp.iter()).chain(names.iter()) {
            assert!(
                !out.contains(x.as_str()),
                "{what} shows a secret or a patient's name"
            );
        }
        assert!(!out.contains(DEMO_PASSWORD), "{what} shows the password");
        assert!(!out.contains("eyJ"), "{what} shows a JWT");
    }

    // Escape closes the panel; focus goes back to the Security button.
    c.find(Locator::Id("posture-title"))
        .await?
        .send_keys(&Key::Escape.to_string())
        .await?;
    h.wait_attr("[data-testid=open-posture]", "aria-expanded", "false")
        .await?;
    let focused = c
        .execute(
            "return document.activeElement && document.activeElement.dataset.testid;",
            vec![],
        )
        .await?;
    assert_eq!(focused.as_str(), Some("open-posture"));
    h.stop().await
}
