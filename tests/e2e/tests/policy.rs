//! IT's policy in the real window: locked settings are disabled and say who locked them; a
//! policy that fails validation is ignored whole, and the app says so.

use fantoccini::Locator;
use rounds_e2e::{Harness, Options, Result, default_policy};
use serde_json::json;

/// Each `(key, locked, source)` row of the open managed panel: listed, marked locked or not,
/// and naming its source where one is given.
async fn managed_rows(h: &Harness, rows: &[(&str, bool, Option<&str>)]) -> Result<()> {
    for (key, locked, source) in rows {
        let row = h
            .client
            .find(Locator::Css(&format!("tr[data-key='{key}']")))
            .await
            .map_err(|e| format!("{key} not listed in the managed panel: {e}"))?;
        let want = if *locked { "true" } else { "false" };
        assert_eq!(
            row.attr("data-locked").await?.as_deref(),
            Some(want),
            "{key}"
        );
        if let Some(source) = source {
            let text = row.text().await?;
            assert!(text.contains(source), "{key}: {text}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_settings_are_disabled_and_open_ones_apply() -> Result<()> {
    let h = Harness::start_with(Options {
        policy: Some(Box::new(|s| {
            let mut p = default_policy(s);
            p["mandatory"]["appearance"] = json!({"theme": "dark"});
            p["mandatory"]["session"] = json!({"idle_lock_minutes": 5});
            p["recommended"] = json!({"notifications": {"sound": false}});
            p
        })),
        ..Options::default()
    })
    .await?;
    let c = &h.client;
    h.wait_for("#username").await?;
    // IT's theme applies from the first screen.
    h.wait_attr("html", "data-theme", "dark").await?;

    c.find(Locator::XPath("//button[normalize-space()='Settings']"))
        .await?
        .click()
        .await?;
    h.wait_for("[data-testid=settings]").await?;
    let theme = c.find(Locator::Css("[id='appearance.theme']")).await?;
    assert!(
        !theme.is_enabled().await?,
        "a locked setting must be disabled"
    );
    let why = c
        .find(Locator::Id("appearance.theme-origin"))
        .await?
        .text()
        .await?;
    assert!(
        why.contains("Set by your organisation (Policy file)"),
        "{why}"
    );

    // Open settings still work, and the recommended one is marked as changeable.
    let size = c.find(Locator::Css("[id='appearance.text_size']")).await?;
    assert!(size.is_enabled().await?);
    size.select_by_value("large").await?;
    h.wait_attr("html", "data-text-size", "large").await?;
    let sound = c
        .find(Locator::Css("li[data-key='notifications.sound'] input"))
        .await?;
    assert!(sound.is_enabled().await?);
    assert!(
        !sound.is_selected().await?,
        "recommended 'off' applies until the user changes it"
    );
    h.screenshot("settings-locked").await?;

    // The user's choice was written to their settings file, and nothing else was.
    let cfg = std::fs::read_to_string(h.home.join(".config/rounds/config.json"))?;
    let v: serde_json::Value = serde_json::from_str(&cfg)?;
    assert_eq!(v["settings"]["appearance.text_size"], "large", "{cfg}");
    assert!(v["settings"].get("appearance.theme").is_none(), "{cfg}");

    c.find(Locator::XPath("//button[normalize-space()='Back']"))
        .await?
        .click()
        .await?;
    h.wait_for("[data-testid=open-managed]")
        .await?
        .click()
        .await?;
    h.wait_for("[data-testid=policy-settings]").await?;
    managed_rows(
        &h,
        &[
            ("appearance.theme", true, None),
            ("session.idle_lock_minutes", true, None),
            ("clinic.servers", true, None),
            ("notifications.sound", false, None),
        ],
    )
    .await?;
    h.screenshot("managed-panel").await?;
    h.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_with_a_typo_is_ignored_whole_and_the_app_says_so() -> Result<()> {
    let h = Harness::start_with(Options {
        policy: Some(Box::new(|s| {
            let mut p = default_policy(s);
            // A typo next to a real setting: the whole document must be refused, theme included.
            p["mandatory"]["appearance"] = json!({"theme": "dark"});
            p["mandatory"]["sesion"] = json!({"idle_lock_minutes": 5});
            p
        })),
        ..Options::default()
    })
    .await?;
    let notice = h
        .wait_for("[data-testid=policy-problem]")
        .await?
        .text()
        .await?;
    assert!(notice.contains("safe defaults"), "{notice}");
    h.wait_attr("html", "data-theme", "system").await?;
    // With the policy refused, no server is configured: the clinician is told what to do.
    h.wait_for("[data-testid=no-server]").await?;
    h.wait_for("[data-testid=open-managed]")
        .await?
        .click()
        .await?;
    let banner = h
        .wait_for("[data-testid=policy-rejected]")
        .await?
        .text()
        .await?;
    assert!(banner.contains("sesion"), "{banner}");
    h.screenshot("policy-rejected").await?;
    h.stop().await
}

/// The two other sources, in the real window: a macOS configuration profile (a managed
/// preferences plist, as MDM writes it) locks the theme, Group Policy (the registry values the
/// ADMX writes, standing in for HKLM) locks the idle lock; the panel names each source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_profile_and_group_policy_lock_settings_in_the_panel() -> Result<()> {
    let d = tempfile::tempdir()?;
    let prefs = d.path().join("Managed Preferences");
    std::fs::create_dir_all(&prefs)?;
    std::fs::write(
        prefs.join("app.rounds.desktop.plist"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>mandatory</key><dict><key>appearance</key><dict>
<key>theme</key><string>high_contrast</string></dict></dict></dict></plist>"#,
    )?;
    let registry = d.path().join("registry.json");
    std::fs::write(
        &registry,
        json!({"HKLM": [{"key": r"Software\Policies\Rounds\Mandatory",
                         "name": "session.idle_lock_minutes", "value": {"Dword": 7}}]})
        .to_string(),
    )?;
    let h = Harness::start_with(Options {
        env: vec![
            ("ROUNDS_MANAGED_PREFS_DIR", prefs),
            ("ROUNDS_REGISTRY_JSON", registry),
        ],
        ..Options::default()
    })
    .await?;
    let c = &h.client;
    h.wait_for("#username").await?;
    // The profile's theme applies from the first screen.
    h.wait_attr("html", "data-theme", "high_contrast").await?;
    h.wait_for("[data-testid=open-managed]")
        .await?
        .click()
        .await?;
    h.wait_for("[data-testid=policy-settings]").await?;
    managed_rows(
        &h,
        &[
            ("appearance.theme", true, Some("Configuration profile")),
            ("session.idle_lock_minutes", true, Some("Group Policy")),
            ("clinic.servers", true, Some("Policy file")),
        ],
    )
    .await?;
    let sources = c
        .find(Locator::Css("[data-testid=policy-sources]"))
        .await?
        .text()
        .await?;
    assert!(
        sources.contains(r"HKLM\Software\Policies\Rounds"),
        "{sources}"
    );
    h.screenshot("managed-panel-profile-gpo").await?;
    h.stop().await
}
