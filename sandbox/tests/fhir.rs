//! §3: metadata, Appointment search (searchset, `_count`, `next`, `date`, `_lastUpdated`,
//! cancellations), and the HL7 R4 example Appointments round-tripping through search.

mod common;

use std::collections::HashSet;

use common::*;
use reqwest::StatusCode;
use rounds_sandbox::Seed;
use serde_json::{Value, json};

const F: &str = "/apis/default/fhir";

#[tokio::test]
async fn metadata_is_public_and_lists_last_updated() {
    let t = start_with(Seed::None, 0).await;
    let r = t
        .http
        .get(t.url(&format!("{F}/metadata")))
        .send()
        .await
        .expect("metadata");
    assert_eq!(r.headers()["content-type"], "application/fhir+json");
    let (s, v) = body(r).await;
    assert_eq!(
        (s, v["resourceType"].as_str()),
        (StatusCode::OK, Some("CapabilityStatement"))
    );
    assert_eq!(v["fhirVersion"], "4.0.1");
    let appt = v["rest"][0]["resource"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["type"] == "Appointment")
        .expect("Appointment")
        .clone();
    let names: Vec<&str> = appt["searchParam"]
        .as_array()
        .expect("params")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for n in ["_id", "patient", "date", "_lastUpdated"] {
        assert!(names.contains(&n), "{n}");
    }
}

#[tokio::test]
async fn search_needs_a_token_and_the_scope() {
    let t = start().await;
    let (s, v) = t.get(&format!("{F}/Appointment"), None).await;
    assert_eq!(
        (s, v["resourceType"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("OperationOutcome"))
    );
    let (s, _) = t.get(&format!("{F}/Appointment"), Some("bogus")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, v) = t
        .token(&[
            ("grant_type", "password"),
            ("user_role", "users"),
            ("username", "drnomfa"),
            ("password", PASSWORD),
            ("scope", "openid api:fhir"),
        ])
        .await;
    let at = v["access_token"].as_str().expect("at");
    let (s, _) = t.get(&format!("{F}/Appointment"), Some(at)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Expired token → 401 (the client then refreshes once).
    let at = t.access_token("drnomfa").await;
    t.ctl_post("/control/tokens/expire", &json!({})).await;
    let (s, _) = t.get(&format!("{F}/Appointment"), Some(&at)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn follow_all(t: &T, at: &str, first: &str) -> (Vec<Value>, usize, Vec<String>) {
    let mut url = t.url(first);
    let mut entries = Vec::new();
    let mut pages = 0;
    let mut nexts = Vec::new();
    loop {
        let r = t
            .http
            .get(&url)
            .bearer_auth(at)
            .header("accept", "application/fhir+json")
            .send()
            .await
            .expect("page");
        let (s, v) = body(r).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["resourceType"], "Bundle");
        assert_eq!(v["type"], "searchset");
        assert!(
            v["meta"]["lastUpdated"]
                .as_str()
                .expect("lastUpdated")
                .ends_with('Z')
        );
        pages += 1;
        entries.extend(v["entry"].as_array().expect("entry").iter().cloned());
        let links = v["link"].as_array().expect("links");
        assert_eq!(links[0]["relation"], "self");
        match links.iter().find(|l| l["relation"] == "next") {
            Some(n) => {
                let u = n["url"].as_str().expect("next").to_string();
                assert!(u.starts_with(&t.base), "same origin");
                nexts.push(u.clone());
                url = u;
            }
            None => break,
        }
    }
    (entries, pages, nexts)
}

#[tokio::test]
async fn paging_with_count_and_next_links_covers_everything_once() {
    let t = start_with(Seed::Demo, 450).await;
    let at = t.access_token("drnomfa").await;
    let total = t.sb.state.store.read().expect("store").len();
    let (entries, pages, nexts) = follow_all(&t, &at, &format!("{F}/Appointment?_count=100")).await;
    assert_eq!(entries.len(), total);
    assert_eq!(pages, total.div_ceil(100));
    assert!(
        nexts
            .iter()
            .all(|u| u.contains("_offset=") && u.contains("_count=100"))
    );
    let ids: HashSet<&str> = entries
        .iter()
        .map(|e| e["resource"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), total, "no duplicates across pages");
    for e in &entries {
        let r = &e["resource"];
        assert_eq!(
            e["fullUrl"],
            json!(format!(
                "{}{F}/Appointment/{}",
                t.base,
                r["id"].as_str().expect("id")
            ))
        );
        assert_eq!(r["meta"]["versionId"], "1");
        assert_eq!(
            r["participant"][0]["type"][0]["coding"][0]["system"],
            "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
        );
        assert!(r["appointmentType"]["coding"][0]["display"].is_string());
    }
    // Default 50, max 200.
    let (_, v) = t.get(&format!("{F}/Appointment"), Some(&at)).await;
    assert_eq!(v["entry"].as_array().expect("entry").len(), 50);
    assert_eq!(v["total"].as_u64(), Some(total as u64));
    let (_, v) = t
        .get(&format!("{F}/Appointment?_count=1000"), Some(&at))
        .await;
    assert_eq!(v["entry"].as_array().expect("entry").len(), 200);
    let (s, v) = t
        .get(&format!("{F}/Appointment?_count=abc"), Some(&at))
        .await;
    assert_eq!(
        (s, v["resourceType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("OperationOutcome"))
    );
}

#[tokio::test]
async fn date_window_and_incremental_last_updated() {
    let t = start_with(Seed::Demo, 300).await;
    let at = t.access_token("drnomfa").await;
    let today = time::OffsetDateTime::now_utc().date();
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let (lo, hi) = (
        (today - time::Duration::days(1))
            .format(&fmt)
            .expect("date"),
        (today + time::Duration::days(1))
            .format(&fmt)
            .expect("date"),
    );
    let (entries, _, _) = follow_all(
        &t,
        &at,
        &format!("{F}/Appointment?date=ge{lo}&date=le{hi}&_count=100"),
    )
    .await;
    assert!(!entries.is_empty());
    for e in &entries {
        let d = &e["resource"]["start"].as_str().expect("start")[..10];
        assert!(d >= lo.as_str() && d <= hi.as_str(), "{d}");
    }
    let store_count =
        t.sb.state
            .store
            .read()
            .expect("store")
            .iter()
            .filter(|a| {
                a.start.is_some_and(|s| {
                    let d = s.date();
                    d >= today - time::Duration::days(1) && d <= today + time::Duration::days(1)
                })
            })
            .count();
    assert_eq!(entries.len(), store_count);

    // Watermark = max lastUpdated seen; nothing is newer yet.
    let all = follow_all(&t, &at, &format!("{F}/Appointment?_count=200"))
        .await
        .0;
    let w = all
        .iter()
        .filter_map(|e| e["resource"]["meta"]["lastUpdated"].as_str())
        .map(|s| rounds_sandbox::util::parse_instant(s).expect("instant"))
        .max()
        .expect("max");
    let wz = rounds_sandbox::util::rfc3339_z(w);
    let (_, v) = t
        .get(
            &format!("{F}/Appointment?_lastUpdated=gt{wz}&_count=100"),
            Some(&at),
        )
        .await;
    assert_eq!(v["total"], 0);
    // A cancellation in the calendar shows up as an update with status cancelled.
    t.advance(5).await;
    let victim = all
        .iter()
        .find(|e| e["resource"]["status"] == "booked")
        .expect("a booked one")["resource"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (s, _) = t
        .ctl_post(
            &format!("/control/appointments/{victim}/status"),
            &json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = t
        .get(
            &format!("{F}/Appointment?_lastUpdated=gt{wz}&_count=100"),
            Some(&at),
        )
        .await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["entry"][0]["resource"]["id"], json!(victim));
    assert_eq!(v["entry"][0]["resource"]["status"], "cancelled");
    // Hard delete: gone from search and read.
    t.http
        .delete(format!("{}/control/appointments/{victim}", t.control))
        .send()
        .await
        .expect("delete");
    let (s, _) = t.get(&format!("{F}/Appointment/{victim}"), Some(&at)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t
        .get(
            &format!("{F}/Appointment?_lastUpdated=gt2026-01-01T00:00:00%2B00:00"),
            Some(&at),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "offsets other than Z are accepted too");
}

#[tokio::test]
async fn patient_and_practitioner_resources_resolve() {
    let t = start().await;
    let at = t.access_token("drnomfa").await;
    let (_, v) = t.get(&format!("{F}/Appointment?_count=1"), Some(&at)).await;
    let r = &v["entry"][0]["resource"];
    let patient = r["participant"][0]["actor"]["reference"]
        .as_str()
        .expect("patient ref")
        .to_string();
    let (s, p) = t.get(&format!("{F}/{patient}"), Some(&at)).await;
    assert_eq!(
        (s, p["resourceType"].as_str()),
        (StatusCode::OK, Some("Patient"))
    );
    assert!(p["name"][0]["family"].is_string());
    let pid = patient.trim_start_matches("Patient/");
    let (_, v) = t
        .get(&format!("{F}/Appointment?patient={pid}"), Some(&at))
        .await;
    assert!(v["total"].as_u64().expect("total") >= 1);
    assert!(
        v["entry"]
            .as_array()
            .expect("entry")
            .iter()
            .all(|e| e["resource"]["participant"][0]["actor"]["reference"] == json!(patient))
    );
}

fn example_files() -> Vec<(String, Value)> {
    let dir = shared_data("fhir/hl7-r4-official");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("hl7 examples present") {
        let p = e.expect("entry").path();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        if v["resourceType"] == "Appointment" {
            out.push((
                p.file_name().expect("name").to_string_lossy().into_owned(),
                v,
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn without_meta(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().map(|m| m.remove("meta"));
    v
}

#[tokio::test]
async fn hl7_r4_example_appointments_round_trip_through_search() {
    let t = start().await;
    let at = t.access_token("drnomfa").await;
    let examples = example_files();
    assert_eq!(
        examples.len(),
        3,
        "appointment-example, -example2doctors, -example-request"
    );
    t.http
        .delete(format!("{}/control/appointments", t.control))
        .send()
        .await
        .expect("clear");
    let arr: Vec<Value> = examples.iter().map(|(_, v)| v.clone()).collect();
    let (s, v) = t.ctl_post("/control/appointments", &json!(arr)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (entries, _, _) = follow_all(&t, &at, &format!("{F}/Appointment?_count=2")).await;
    assert_eq!(entries.len(), examples.len());
    for (name, ex) in &examples {
        let id = ex["id"].as_str().expect("id");
        let got = entries
            .iter()
            .find(|e| e["resource"]["id"] == json!(id))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(
            without_meta(&got["resource"]),
            without_meta(ex),
            "{name} changed in transit"
        );
        if let Some(lu) = ex.pointer("/meta/lastUpdated") {
            assert_eq!(
                &got["resource"]["meta"]["lastUpdated"], lu,
                "{name}: given meta kept"
            );
        }
        let (s, one) = t.get(&format!("{F}/Appointment/{id}"), Some(&at)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(without_meta(&one), without_meta(ex));
        let (_, v) = t.get(&format!("{F}/Appointment?_id={id}"), Some(&at)).await;
        assert_eq!(v["total"], 1);
    }
    // Date search hits the examples that have a start (2013-12-10 09:00Z and 2013-12-09 09:00Z).
    let (_, v) = t
        .get(
            &format!("{F}/Appointment?date=ge2013-12-10&date=le2013-12-10"),
            Some(&at),
        )
        .await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["entry"][0]["resource"]["id"], "example");
    let (_, v) = t
        .get(&format!("{F}/Appointment?date=lt2013-12-10"), Some(&at))
        .await;
    assert_eq!(v["entry"][0]["resource"]["id"], "2docs");
}

#[tokio::test]
async fn vendor_examples_load_and_search_too() {
    let t = start_with(Seed::None, 0).await;
    t.ctl_post(
        "/control/users",
        &json!({"username": "u", "password": PASSWORD, "mfa": "none"}),
    )
    .await;
    let r = t.http.post(t.url("/oauth2/default/registration"))
        .json(&json!({"application_type": "private", "redirect_uris": ["http://127.0.0.1:1/cb"], "scope": "openid user/Appointment.read"}))
        .send().await.expect("reg");
    let reg = body(r).await.1;
    let r = t
        .http
        .post(t.url("/oauth2/default/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", reg["client_id"].as_str().expect("id")),
            ("client_secret", reg["client_secret"].as_str().expect("s")),
            ("user_role", "users"),
            ("username", "u"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("token");
    let at = body(r).await.1["access_token"]
        .as_str()
        .expect("at")
        .to_string();
    let dir = shared_data("fhir/cerner-r4");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("cerner examples") {
        let p = e.expect("entry").path();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        if v["resourceType"] == "Appointment" && v.get("id").is_some() {
            let (s, _) = t.ctl_post("/control/appointments", &v).await;
            assert_eq!(s, StatusCode::OK);
            n += 1;
        }
    }
    let (_, v) = t
        .get(
            &format!("{F}/Appointment?date=ge2020-01-01&date=lt2021-01-01"),
            Some(&at),
        )
        .await;
    assert_eq!(
        v["total"].as_u64(),
        Some(n),
        "fractional-second starts are parsed"
    );
    let (_, v) = t
        .get(&format!("{F}/Appointment?_count=10"), Some(&at))
        .await;
    assert!(
        v["entry"]
            .as_array()
            .expect("entry")
            .iter()
            .any(|e| e["resource"]["status"] == "cancelled")
    );
}
