//! Accessibility in the real window: axe-core (the npm package, run inside the app's own
//! WebKitGTK page through WebDriver) on every screen a clinician meets, in the normal, dark
//! and high-contrast themes and at text sizes up to 200%, with no serious or critical
//! violation and no control clipped or pushed off a 1280×800 window; and a keyboard-only
//! day: sign in, move through days, start a visit, admit, lock and unlock, without a pointer,
//! with a visible focus ring at every step.

use fantoccini::Locator;
use fantoccini::key::Key;
use rounds_e2e::{Harness, Result, workspace_root};
use serde_json::{Value, json};

/// Reads axe-core from the workspace's node_modules (a devDependency; never in the app).
fn axe_source() -> Result<String> {
    let p = workspace_root().join("node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&p)
        .map_err(|e| format!("{}: {e} (run `make setup-node`)", p.display()).into())
}

/// Runs axe on the current page; returns the serious and critical violations, one line each.
async fn axe(h: &Harness, axe_src: &str) -> Result<Vec<String>> {
    let c = &h.client;
    let loaded = c.execute("return typeof window.axe", vec![]).await?;
    if loaded != "object" {
        c.execute(&format!("{axe_src}\n;return typeof window.axe;"), vec![])
            .await?;
    }
    let found = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] })
              .then((r) => done(r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\n").slice(1, 2).join("")),
              }))))
              .catch((e) => done([{ id: "axe-error", impact: "critical", help: String(e), nodes: [] }]));"#,
            vec![],
        )
        .await?;
    Ok(found
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            format!(
                "{} ({}): {} at {}",
                v["id"], v["impact"], v["help"], v["nodes"]
            )
        })
        .collect())
}

/// Controls and text boxes that are clipped, overflow their box, or leave the window
/// sideways (WCAG 1.4.4 / 1.4.10 at 1280×800).
const CLIPPED: &str = r##"
const out = [];
const vw = document.documentElement.clientWidth;
const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
  (el.dataset.testid ? "[" + el.dataset.testid + "]" : "") + " '" + (el.innerText || el.value || "").trim().slice(0, 30) + "'";
if (document.documentElement.scrollWidth > vw + 1)
  out.push("the page scrolls sideways: " + document.documentElement.scrollWidth + " > " + vw);
for (const el of document.querySelectorAll("button, select, input, label, h1, h2, .badge, [role=alert], [role=status]")) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (el.closest(".visually-hidden, [hidden]")) continue;
  if (r.right > vw + 1 || r.left < -1) out.push(name(el) + " leaves the window (" + Math.round(r.left) + ".." + Math.round(r.right) + ")");
  if (el.tagName !== "INPUT" && el.tagName !== "SELECT" && el.scrollWidth > el.clientWidth + 2 && el.clientWidth > 0)
    out.push(name(el) + " clips its text (" + el.scrollWidth + " > " + el.clientWidth + ")");
}
return out;
"##;

/// Theme and text size as the app applies them (what Settings or IT's policy set).
async fn appearance(h: &Harness, theme: &str, size: &str) -> Result<()> {
    h.client
        .execute(
            "document.documentElement.dataset.theme = arguments[0]; document.documentElement.dataset.textSize = arguments[1]; return null;",
            vec![json!(theme), json!(size)],
        )
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    Ok(())
}

const LOOKS: [(&str, &str); 3] = [
    ("system", "normal"),
    ("dark", "large"),
    ("high_contrast", "largest"),
];

/// axe and the clipping check on the current screen in each look; failures collected.
async fn check_screen(
    h: &Harness,
    axe_src: &str,
    screen: &str,
    failures: &mut Vec<String>,
) -> Result<()> {
    for (theme, size) in LOOKS {
        appearance(h, theme, size).await?;
        for v in axe(h, axe_src).await? {
            failures.push(format!("{screen} [{theme}, {size}]: {v}"));
        }
        let clipped = h.client.execute(CLIPPED, vec![]).await?;
        for v in clipped.as_array().into_iter().flatten() {
            failures.push(format!(
                "{screen} [{theme}, {size}]: {}",
                v.as_str().unwrap_or_default()
            ));
        }
        if size == "largest" {
            h.screenshot(&format!("a11y-{screen}-200")).await?;
        }
    }
    appearance(h, "system", "normal").await?;
    println!("axe + clipping: {screen} checked");
    Ok(())
}

async fn click(h: &Harness, css: &str) -> Result<()> {
    h.wait_for(css).await?.click().await?;
    Ok(())
}

async fn click_text(h: &Harness, text: &str) -> Result<()> {
    h.client
        .find(Locator::XPath(&format!(
            "//button[normalize-space()='{text}']"
        )))
        .await?
        .click()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_passes_axe_in_each_theme_and_at_200_percent() -> Result<()> {
    let axe_src = axe_source()?;
    let h = Harness::start().await?;
    let mut failures = Vec::new();

    h.wait_attr("[data-testid=server-status]", "data-state", "ok")
        .await?;
    check_screen(&h, &axe_src, "sign-in", &mut failures).await?;
    h.submit_sign_in(Some("drsmith"), "not-the-password", Some("000000"))
        .await?;
    h.wait_for("#password-error").await?;
    check_screen(&h, &axe_src, "sign-in-error", &mut failures).await?;

    // Settings: the theme chosen there reaches the page (the real control, not the test's).
    click_text(&h, "Settings").await?;
    let theme = h.wait_for("select[id='appearance.theme']").await?;
    theme
        .find(Locator::Css("option[value=high_contrast]"))
        .await?
        .click()
        .await?;
    h.wait_attr("html", "data-theme", "high_contrast").await?;
    theme
        .find(Locator::Css("option[value=system]"))
        .await?
        .click()
        .await?;
    h.wait_attr("html", "data-theme", "system").await?;
    check_screen(&h, &axe_src, "settings", &mut failures).await?;
    click_text(&h, "Back").await?;
    click(&h, "[data-testid=open-managed]").await?;
    h.wait_for("table, [data-testid=managed]").await?;
    check_screen(&h, &axe_src, "managed", &mut failures).await?;
    click_text(&h, "Back").await?;

    // Signed in: the day, another day, change password, a visit, the lock.
    h.wait_for("#username").await?.clear().await?;
    h.sign_in_demo("drsmith").await?;
    h.wait_for("[data-visit] button.primary").await?;
    check_screen(&h, &axe_src, "schedule", &mut failures).await?;
    click_text(&h, "Next day →").await?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    check_screen(&h, &axe_src, "schedule-next-day", &mut failures).await?;
    click_text(&h, "Today").await?;
    click(&h, "[data-testid=open-posture]").await?;
    h.wait_for("[data-testid=posture-checked]").await?;
    check_screen(&h, &axe_src, "security-posture", &mut failures).await?;
    click(&h, "[data-testid=posture-close]").await?;
    click(&h, "[data-testid=open-change-password]").await?;
    h.wait_for("#pw-current").await?;
    check_screen(&h, &axe_src, "change-password", &mut failures).await?;
    h.client
        .find(Locator::XPath(
            "//button[normalize-space()='Cancel' or normalize-space()='Back']",
        ))
        .await?
        .click()
        .await?;
    h.wait_for("[data-visit] button.primary")
        .await?
        .click()
        .await?;
    h.wait_attr("[data-testid=visit-strip]", "data-phase", "joined")
        .await?;
    check_screen(&h, &axe_src, "visit-strip", &mut failures).await?;
    let main = h.client.window().await?;
    let visit = h
        .client
        .windows()
        .await?
        .into_iter()
        .find(|w| *w != main)
        .ok_or("the visit window")?;
    h.client.switch_to_window(visit).await?;
    for v in axe(&h, &axe_src).await? {
        failures.push(format!("visit window: {v}"));
    }
    h.client.switch_to_window(main).await?;
    click_text(&h, "Close visit").await?;
    click(&h, "[data-testid=lock-now]").await?;
    h.wait_for("[data-testid=locked]").await?;
    check_screen(&h, &axe_src, "locked", &mut failures).await?;

    assert!(
        failures.is_empty(),
        "{} accessibility failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    h.stop().await
}

/// The focused element shows a ring (outline or box-shadow) a sighted keyboard user can see.
const FOCUS_SHOWN: &str = r##"
const el = document.activeElement;
if (!el || el === document.body) return "nothing has the focus";
const cs = getComputedStyle(el);
const ring = (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2) || (cs.boxShadow && cs.boxShadow !== "none");
return ring ? null : el.tagName.toLowerCase() + "#" + el.id + " '" + (el.innerText || "").trim().slice(0, 30) + "' has the focus but no visible ring";
"##;

/// Presses one key where the focus is (WebDriver key events, no pointer).
async fn press(h: &Harness, keys: &str) -> Result<()> {
    h.client.active_element().await?.send_keys(keys).await?;
    Ok(())
}

/// Tabs until the focus is on `css` (at most `max` presses), checking the ring at each stop.
async fn tab_to(h: &Harness, css: &str, max: usize) -> Result<()> {
    // The ring is owed where Tab put the focus (`:focus-visible`), not where a window switch
    // or the page's own start left it.
    for pressed in 0..=max {
        let here = h
            .client
            .execute(
                "const a = document.activeElement; return !!a && a.matches(arguments[0]);",
                vec![json!(css)],
            )
            .await?;
        let ring = match pressed {
            0 => Value::Null,
            _ => h.client.execute(FOCUS_SHOWN, vec![]).await?,
        };
        if here == Value::Bool(true) {
            if let Some(problem) = ring.as_str() {
                return Err(problem.to_string().into());
            }
            return Ok(());
        }
        if let Some(problem) = ring.as_str().filter(|p| !p.starts_with("nothing")) {
            return Err(format!("on the way to {css}: {problem}").into());
        }
        press(h, &Key::Tab.to_string()).await?;
    }
    Err(format!("{css} not reached in {max} presses of Tab").into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyboard_only_day_signs_in_moves_days_starts_admits_locks_and_unlocks() -> Result<()> {
    let h = Harness::start().await?;
    let c = &h.client;
    h.wait_attr("[data-testid=server-status]", "data-state", "ok")
        .await?;

    // Sign in: Tab to the user name, type, Tab on, Enter submits.
    tab_to(&h, "#username", 12).await?;
    press(&h, "drsmith").await?;
    tab_to(&h, "#password", 3).await?;
    press(&h, "Sandbox-Clinic-2026!").await?;
    tab_to(&h, "#totp", 3).await?;
    press(&h, &h.sandbox.totp("drsmith")?).await?;
    press(&h, &Key::Enter.to_string()).await?;
    h.wait_for("[data-testid=signed-in-user]").await?;

    // Days: the Next day button by Tab + Enter, back by the arrow-key shortcut, then Today.
    let title = |h: &Harness| {
        let c = h.client.clone();
        async move {
            c.find(Locator::Css("[data-testid=day-title]"))
                .await?
                .text()
                .await
        }
    };
    let today = title(&h).await?;
    tab_to(&h, "button[aria-keyshortcuts=ArrowRight]", 30).await?;
    press(&h, &Key::Enter.to_string()).await?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let tomorrow = title(&h).await?;
    assert_ne!(tomorrow, today, "Next day did not move");
    press(&h, &Key::Left.to_string()).await?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(title(&h).await?, today, "ArrowLeft did not go back");

    // Start the nearest video visit from its row, by keyboard.
    h.wait_for("[data-visit] button.primary").await?;
    tab_to(&h, "[data-visit] button.primary", 40).await?;
    let id = c
        .execute(
            "return document.activeElement.closest('[data-visit]').dataset.visit",
            vec![],
        )
        .await?;
    let id = id.as_str().ok_or("the focused row's visit")?.to_string();
    press(&h, &Key::Enter.to_string()).await?;
    h.wait_attr("[data-testid=visit-strip]", "data-phase", "joined")
        .await?;

    // Someone knocks; in the visit window, Tab to Admit and press Enter.
    let room = h
        .sandbox
        .control("GET", &format!("/control/jitsi/appointment/{id}"), None)?;
    let room = room["room"].as_str().ok_or("room name")?.to_string();
    h.sandbox.control(
        "POST",
        &format!("/control/jitsi/rooms/{room}/knock"),
        Some(&json!({"id": "pat-kb", "name": "Keyboard Patient"})),
    )?;
    h.wait_for("[data-testid=visit-knocking]").await?;
    let main = c.window().await?;
    let visit = c
        .windows()
        .await?
        .into_iter()
        .find(|w| *w != main)
        .ok_or("the visit window")?;
    c.switch_to_window(visit).await?;
    h.wait_for("button[data-answer=admit]").await?;
    tab_to(&h, "button[data-answer=admit]", 20).await?;
    press(&h, &Key::Enter.to_string()).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = h
            .sandbox
            .control("GET", &format!("/control/jitsi/rooms/{room}"), None)?;
        if s["commands"]
            .to_string()
            .contains("answerKnockingParticipant")
        {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("Admit by keyboard never reached the meeting: {s}").into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    h.screenshot("a11y-keyboard-admitted").await?;
    c.switch_to_window(main).await?;
    // Back to the main window as Alt+Tab would (Xvfb has no window manager to do it): X input
    // focus to the window titled "Rounds", so its page is the active one again.
    let out = h.run_in_app_session(
        "xdotool",
        &[
            "search",
            "--onlyvisible",
            "--name",
            "^Rounds$",
            "windowfocus",
            "--sync",
        ],
    )?;
    println!("xdotool: {out}");

    // Lock with the header's Lock button, unlock with password + a new code, all by keys.
    tab_to(&h, "[data-testid=lock-now]", 40).await?;
    press(&h, &Key::Enter.to_string()).await?;
    h.wait_for("[data-testid=locked]").await?;
    tab_to(&h, "#unlock-password", 12).await?;
    press(&h, "Sandbox-Clinic-2026!").await?;
    tab_to(&h, "#unlock-totp", 4).await?;
    press(&h, &h.sandbox.fresh_totp("drsmith")?).await?;
    press(&h, &Key::Enter.to_string()).await?;
    h.wait_for("[data-testid=signed-in-user]").await?;
    h.screenshot("a11y-keyboard-unlocked").await?;
    h.stop().await
}
