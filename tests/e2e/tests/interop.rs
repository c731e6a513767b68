//! Stock servers in the real window: the clinic is oidc-provider + Medplum's FHIR router
//! (tests/interop), servers nobody here wrote, with no telehealth join service. The clinician
//! signs in on the provider's page (password + code), the day view shows what the FHIR server
//! holds for them, and a visit whose Appointment carries a `virtualService` link on the one
//! allowed video server opens in the visit window without any JWT (the sandbox standing in for
//! a stock Jitsi with open rooms); a link to a server IT did not allow is refused in plain
//! words and nothing goes there.

use fantoccini::Locator;
use rounds_clinic_tests::clinic_page::{self, Consent};
use rounds_clinic_tests::stock::{self, Landing, StockClinic};
use rounds_e2e::{Harness, Options, Result, Sandbox};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const VIRTUAL_SERVICE: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService";

fn iso(t: u64) -> String {
    // RFC 3339 UTC without a date crate: days → civil date (H. Hinnant).
    let (days, secs) = ((t / 86_400) as i64, t % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A booked video visit of the clinician with `patient`, its link in `virtualService`.
fn video_visit(practitioner: &str, patient: &str, start: u64, address: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "start": iso(start), "end": iso(start + 30 * 60),
        "participant": [
            {"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"},
            {"actor": {"reference": format!("Practitioner/{practitioner}")}, "status": "accepted"},
        ],
        "extension": [{"url": VIRTUAL_SERVICE, "extension": [
            {"url": "channelType", "valueCoding": {"system": "http://hl7.org/fhir/virtual-service-type", "code": "jitsi"}},
            {"url": "address", "valueUrl": address},
        ]}],
    })
}

/// What the FHIR server holds for this clinician in `[from, to)`, as the day view must show it.
async fn expected_day(
    st: &StockClinic,
    practitioner: &str,
    from: u64,
    to: u64,
) -> Result<BTreeSet<String>> {
    let (status, bundle) = st.fhir("GET", "Appointment?_count=200", None).await;
    if status != 200 {
        return Err(format!("FHIR search: {status} {bundle}").into());
    }
    let who = format!("Practitioner/{practitioner}");
    let mut ids = BTreeSet::new();
    for e in bundle["entry"].as_array().into_iter().flatten() {
        let a = &e["resource"];
        let mine = a["participant"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["actor"]["reference"] == who.as_str());
        let start = a["start"].as_str().unwrap_or_default();
        if mine
            && a["status"] != "entered-in-error"
            && iso(from).as_str() <= start
            && start < iso(to).as_str()
        {
            ids.insert(a["id"].as_str().unwrap_or_default().to_string());
        }
    }
    Ok(ids)
}

async fn shown_day(h: &Harness) -> Result<BTreeSet<String>> {
    let ids = h
        .client
        .execute(
            "return [...document.querySelectorAll('[data-visit]')].map(r => r.dataset.visit)",
            vec![],
        )
        .await?;
    Ok(ids
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

/// `host:port` of the sandbox, as a Jitsi domain.
fn jitsi_domain(sb: &Sandbox) -> String {
    sb.base_url
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

/// A FHIR create through the admin token; the new id.
async fn create(st: &StockClinic, kind: &str, body: &Value) -> Result<String> {
    let (status, v) = st.fhir("POST", kind, Some(body)).await;
    match v["id"].as_str() {
        Some(id) if status == 201 || status == 200 => Ok(id.to_string()),
        _ => Err(format!("FHIR create {kind}: {status} {v}").into()),
    }
}

async fn start_visit(h: &Harness, id: &str) -> Result<()> {
    h.client
        .find(Locator::Css(&format!("[data-visit='{id}'] button.primary")))
        .await?
        .click()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_servers_sign_in_sync_and_open_a_visit_from_the_appointments_own_link() -> Result<()>
{
    let st = StockClinic::start(0);
    let practitioner = st.ready.practitioner.clone();
    let bundle_dir = tempfile::tempdir()?;
    let bundle = bundle_dir.path().join("hospital-ca.pem");
    let (base, clinic_ca) = (st.ready.base_url.clone(), st.ready.ca_pem.clone());
    let h = Harness::start_with(Options {
        policy: Some(Box::new(move |sb: &Sandbox| {
            // IT's policy: the stock clinic, both servers' CAs as the hospital bundle, the
            // sandbox's Jitsi as the one allowed video server.
            let mut pem = std::fs::read(&clinic_ca).expect("clinic CA");
            pem.extend(std::fs::read(&sb.ca_pem).expect("video CA"));
            std::fs::write(&bundle, pem).expect("bundle");
            json!({"mandatory": {
                "clinic": {"servers": [{"url": base, "site": "default", "display_name": "Stock Clinic"}]},
                "network": {"ca_bundle": bundle},
                "video": {"allowed_domains": [jitsi_domain(sb)]},
            }})
        })),
        sandbox_config: Some(json!({"jitsi_open_rooms": true})),
        timeout: Some(Duration::from_secs(180)),
        ..Options::default()
    })
    .await?;
    let c = &h.client;
    let st = &st;

    // The EHR books two video visits through FHIR itself: one on the allowed video server,
    // one on a server IT never approved. Both start within the current local day.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let local_midnight = c
        .execute(
            "const d = new Date(); d.setHours(0, 0, 0, 0); return d.getTime() / 1000;",
            vec![],
        )
        .await?
        .as_f64()
        .ok_or("local midnight")? as u64;
    let start = if now - local_midnight > 3600 {
        now - 20 * 60
    } else {
        now + 60
    };
    let patient = create(
        st,
        "Patient",
        &json!({"resourceType": "Patient", "name": [{"family": "Seacole", "given": ["Mary"]}]}),
    )
    .await?;
    let room = format!("appt-stock-{}", now % 1_000_000);
    let allowed_link = format!("https://{}/{room}", jitsi_domain(&h.sandbox));
    let allowed = create(
        st,
        "Appointment",
        &video_visit(&practitioner, &patient, start, &allowed_link),
    )
    .await?;
    let refused = create(
        st,
        "Appointment",
        &video_visit(
            &practitioner,
            &patient,
            start + 5 * 60,
            "https://meet.unapproved.example/appt-x",
        ),
    )
    .await?;

    // Sign in on the provider's own page: the discovery has no MFA-OTP grant.
    let t0 = Instant::now();
    h.wait_for("[data-testid=browser-signin] button.primary")
        .await?
        .click()
        .await?;
    h.wait_for("[data-testid=browser-waiting]").await?;
    let url = h.browser_url().await?;
    assert!(
        url.starts_with(&format!("{}/oauth2/default/", st.ready.base_url)),
        "{url}"
    );
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let location = match stock::sign_in(
        st,
        &url::Url::parse(&url)?,
        &st.ready.username,
        &st.ready.password,
        Consent::Allow,
    )
    .await
    {
        Landing::Callback(l) => l,
        Landing::Page(status, html) => {
            return Err(format!("stuck on the provider's page ({status}): {html}").into());
        }
    };
    assert!(
        location.starts_with("http://127.0.0.1:8765/callback?"),
        "{location}"
    );
    let (status, _) = clinic_page::follow_callback(&location).await?;
    assert_eq!(status, 200);
    let who = h
        .wait_for("[data-testid=signed-in-user]")
        .await?
        .text()
        .await?;
    assert_eq!(
        who, st.ready.username,
        "the name comes from the provider's userinfo"
    );
    println!(
        "stock sign-in: {} ms from click to signed in",
        t0.elapsed().as_millis()
    );

    // The day view shows exactly the clinician's visits the FHIR server holds for today.
    let want = expected_day(st, &practitioner, local_midnight, local_midnight + 86_400).await?;
    assert!(
        want.contains(&allowed) && want.contains(&refused),
        "{want:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut shown = shown_day(&h).await?;
    while shown != want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        shown = shown_day(&h).await?;
    }
    assert_eq!(shown, want, "day view vs the FHIR server");
    let row = c
        .find(Locator::Css(&format!("[data-visit='{allowed}']")))
        .await?
        .text()
        .await?;
    assert!(
        row.contains("Mary Seacole") && row.contains("Video"),
        "{row}"
    );
    h.screenshot("stock-day").await?;

    // A link to a server IT did not approve: refused in plain words, nothing opened.
    start_visit(&h, &refused).await?;
    let msg = h
        .wait_for("[data-testid=visit-error]")
        .await?
        .text()
        .await?;
    assert!(
        msg.contains("meet.unapproved.example") && msg.contains("not approved"),
        "{msg}"
    );
    assert_eq!(
        c.windows().await?.len(),
        1,
        "no visit window for a refused link"
    );

    // The allowed one: the visit window joins the room from the link, with no token, and
    // Jitsi's own role event (first in the room) gives the host controls.
    start_visit(&h, &allowed).await?;
    h.wait_attr("[data-testid=visit-strip]", "data-phase", "joined")
        .await?;
    let summary = h
        .sandbox
        .control("GET", &format!("/control/jitsi/rooms/{room}"), None)?;
    assert_eq!(summary["joined"], true, "{summary}");
    h.sandbox.control(
        "POST",
        &format!("/control/jitsi/rooms/{room}/knock"),
        Some(&json!({"id": "pat-9", "name": "Mary Seacole"})),
    )?;
    let knock = h
        .wait_for("[data-testid=visit-knocking]")
        .await?
        .text()
        .await?;
    assert!(
        knock.contains("waiting") && !knock.contains("Seacole"),
        "{knock}"
    );
    h.screenshot("stock-visit").await?;
    let logs = h.app_logs();
    assert!(
        logs.contains("video visit from the appointment's own link"),
        "no link visit in the log"
    );
    assert!(!logs.contains(&room), "the room name reached the log");
    h.stop().await
}
