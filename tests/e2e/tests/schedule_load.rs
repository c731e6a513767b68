//! A 300-visit day in the real window: the clinic adds 300 visits for tomorrow, Rounds syncs
//! them, and switching to that day renders every row. The time from the click to all 300 rows
//! in the DOM is printed for the issue note (figures, not a timed pass/fail).

use rounds_e2e::{Harness, Result};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_visit_day_renders_in_full() -> Result<()> {
    let mut h = Harness::start().await?;
    h.sign_in_demo("drsmith").await?;
    h.wait_attr("[data-testid=sync-status]", "data-phase", "done")
        .await?;

    let users = h.sandbox.control("GET", "/control/users", None)?;
    let me = users["users"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["username"] == "drsmith"))
        .and_then(|u| u["fhir_ref"].as_str())
        .ok_or("drsmith's FHIR reference")?
        .to_string();
    // Tomorrow in the window's own time zone.
    let tomorrow = h
        .client
        .execute(
            "const d = new Date(); return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime() / 1000;",
            vec![],
        )
        .await?
        .as_f64()
        .ok_or("a number")? as i64;
    let iso = |t: i64| -> String {
        let o = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .expect("date");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let appts: Vec<_> = (0..300)
        .map(|i| {
            let start = tomorrow + 6 * 3600 + i * 120;
            json!({
                "resourceType": "Appointment",
                "id": format!("load-{i:03}"),
                "status": "booked",
                "start": iso(start),
                "end": iso(start + 110),
                "participant": [
                    {"actor": {"reference": format!("Patient/load-p{i:03}"), "display": format!("Load Patient {i:03}")}, "status": "accepted"},
                    {"actor": {"reference": me}, "status": "accepted"}
                ]
            })
        })
        .collect();
    h.sandbox
        .control("POST", "/control/appointments", Some(&json!(appts)))?;

    // Reopen: the first sync of a session runs at once.
    h.restart_app().await?;
    h.wait_attr("[data-testid=sync-status]", "data-phase", "done")
        .await?;
    let ms = h
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const t0 = performance.now();
               document.querySelector("button[aria-keyshortcuts=ArrowRight]").click();
               const tick = () => document.querySelectorAll("[data-visit^=load-]").length >= 300
                 ? requestAnimationFrame(() => done(performance.now() - t0))
                 : setTimeout(tick, 5);
               tick();"#,
            vec![],
        )
        .await?
        .as_f64()
        .ok_or("a number")?;
    let rows = h
        .client
        .find_all(fantoccini::Locator::Css("[data-visit^=load-]"))
        .await?
        .len();
    assert_eq!(rows, 300);
    println!("300-visit day: click → all rows painted in {ms:.0} ms (debug build, real window)");
    h.screenshot("schedule-300").await?;
    h.stop().await
}
