//! Push, not poll (issue 19), in the real window: signed in with the demo day on screen and
//! nobody touching the computer, the page makes no call to the core that the core did not ask
//! for with a change event. Every `invoke` the page makes is recorded in the page itself, and so
//! is every `core-changed` event; a call with no event just before it is a poll. Then the page
//! still follows: a visit the clinic adds shows on the row after the sync that brings it, and
//! a key press is reported at once (the recorder itself is checked to see calls).

use rounds_e2e::{Harness, Options, Result, default_policy};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Records each IPC request the page sends and each `core-changed` event it gets, with the
/// page's clock. Tauri's own `invoke` cannot be wrapped (it is a non-writable property), so the
/// two transports under it are: `fetch` to the `ipc:` custom protocol, and wry's
/// `window.ipc.postMessage` fallback. The test's own listener is registered before the
/// wrappers, so it is not counted.
const RECORD: &str = r#"
const t = window.__TAURI_INTERNALS__;
const rec = { calls: [], events: [] };
window.__roundsIpc = rec;
await t.invoke("plugin:event|listen", {
  event: "core-changed",
  target: { kind: "Any" },
  handler: t.transformCallback((e) => rec.events.push({ at: performance.now(), what: e.payload.what })),
});
const ipcBase = t.convertFileSrc("", "ipc");
const realFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const url = typeof input === "string" ? input : input.url;
  if (url.startsWith(ipcBase)) {
    rec.calls.push({ at: performance.now(), cmd: decodeURIComponent(url.slice(ipcBase.length)) });
  }
  return realFetch(input, init);
};
if (window.ipc && typeof window.ipc.postMessage === "function") {
  const post = window.ipc.postMessage.bind(window.ipc);
  try {
    window.ipc.postMessage = (m) => {
      let cmd = "?";
      try { cmd = JSON.parse(m).cmd; } catch (_) {}
      rec.calls.push({ at: performance.now(), cmd });
      return post(m);
    };
  } catch (_) {}
}
return true;
"#;

async fn record(h: &Harness) -> Result<()> {
    let script = format!(
        "const done = arguments[0]; (async () => {{ {RECORD} }})().then(done, (e) => done(String(e)));"
    );
    let ok = h.client.execute_async(&script, vec![]).await?;
    if ok != Value::Bool(true) {
        return Err(format!("could not record the page's calls: {ok}").into());
    }
    Ok(())
}

async fn recorded(h: &Harness) -> Result<(Vec<(f64, String)>, Vec<(f64, String)>)> {
    let v = h
        .client
        .execute("return window.__roundsIpc", vec![])
        .await?;
    let list = |k: &str, f: &str| -> Vec<(f64, String)> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        (
                            x["at"].as_f64().unwrap_or(0.0),
                            x[f].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok((list("calls", "cmd"), list("events", "what")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_and_idle_the_page_calls_the_core_only_when_told_of_a_change() -> Result<()> {
    let h = Harness::start_with(Options {
        // Syncs every 15 s (policy's shortest), so changes do happen while we watch.
        policy: Some(Box::new(|sb| {
            let mut p = default_policy(sb);
            p["mandatory"]["sync"] = json!({"interval_seconds": 15});
            p
        })),
        ..Options::default()
    })
    .await?;
    h.sign_in_demo("drsmith").await?;
    h.wait_attr("[data-testid=sync-status]", "data-phase", "done")
        .await?;
    record(&h).await?;

    // Forty seconds without input: two or three background syncs, readiness checks.
    let watch = Duration::from_secs(40);
    tokio::time::sleep(watch).await;
    let (calls, events) = recorded(&h).await?;
    let polls: Vec<&(f64, String)> = calls
        .iter()
        // The page's own listener runs before the recorder's, so its call can be logged a
        // moment before the event that caused it.
        .filter(|(at, _)| {
            !events
                .iter()
                .any(|(e, _)| *e <= at + 50.0 && at - e < 1500.0)
        })
        .collect();
    println!(
        "idle {} s: {} calls to the core, {} change events ({:?}), {} calls without an event before them",
        watch.as_secs(),
        calls.len(),
        events.len(),
        events.iter().map(|(_, w)| w.as_str()).collect::<Vec<_>>(),
        polls.len()
    );
    assert_eq!(
        polls,
        Vec::<&(f64, String)>::new(),
        "a call no change asked for is a poll"
    );
    assert!(
        events.iter().any(|(_, w)| w == "schedule"),
        "the background sync is told while idle: {events:?}"
    );
    assert!(
        !calls.iter().any(|(_, c)| c == "note_activity"),
        "no input, no activity report: {calls:?}"
    );
    // The old page asked the core at least every 5 s (idle reports) and every 15 s (day,
    // readiness) and 30 s (renewal question): at least 8 + 2 + 2 + 1 calls in these 40 s.
    assert!(calls.len() <= 3 * events.len(), "{calls:?} for {events:?}");

    // The page still follows the clinic: a visit the clinic cancels is shown cancelled after
    // the sync that brings it, with no poll.
    let row = h.wait_for("[data-visit][data-status=booked]").await?;
    let id = row.attr("data-visit").await?.ok_or("a visit id")?;
    h.sandbox.control(
        "POST",
        &format!("/control/appointments/{id}/status"),
        Some(&json!({"status": "cancelled"})),
    )?;
    let cancelled = Instant::now();
    let css = format!("[data-visit='{id}'][data-status=cancelled]");
    while h.client.find(fantoccini::Locator::Css(&css)).await.is_err() {
        if cancelled.elapsed() > Duration::from_secs(40) {
            return Err("the cancelled visit never showed as cancelled".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "a cancellation at the clinic shown {:.1} s later (sync every 15 s)",
        cancelled.elapsed().as_secs_f64()
    );

    // A key press is reported to the core at once (and so the recorder does see calls).
    let pressed = Instant::now();
    h.client
        .find(fantoccini::Locator::Css("body"))
        .await?
        .send_keys("x")
        .await?;
    let mut reported = false;
    while pressed.elapsed() < Duration::from_secs(3) && !reported {
        let (calls, _) = recorded(&h).await?;
        reported = calls.iter().any(|(_, c)| c == "note_activity");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reported, "input is reported as it happens");
    println!("input reported within {} ms", pressed.elapsed().as_millis());
    h.screenshot("push-idle").await?;
    h.stop().await
}
