//! Seed data: the demo clinicians, a demo client, a realistic clinic week around today, and a
//! deterministic generator for N appointments (benchmarks use 10,000 and 100,000).
//! All names are fictional.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, Time};

use crate::state::AppState;
use crate::store::Appt;
use crate::users::{Mfa, User, Users};
use crate::util;

mod bulk;

pub use bulk::{GENERATED_PATIENTS, generate};

/// Password of every seeded clinician (meets the strong-password policy).
pub const DEMO_PASSWORD: &str = "Sandbox-Clinic-2026!";
/// The seeded confidential client.
pub const DEMO_CLIENT_ID: &str = "rounds-demo";
/// Its secret.
pub const DEMO_CLIENT_SECRET: &str = "rounds-demo-secret";
/// Its registered redirect URI (RFC 8252 loopback).
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";
/// The app's scope string (§1.2).
pub const APP_SCOPE: &str = "openid offline_access fhirUser api:oemr api:fhir user/Appointment.read \
user/Patient.read user/Practitioner.read user/Location.read";

/// A fixed TOTP secret per demo user, so the README and a person's authenticator stay valid
/// across restarts.
pub fn demo_secret(username: &str) -> Vec<u8> {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("rounds-sandbox:{username}").as_bytes(),
    );
    d.as_ref()[..20].to_vec()
}

/// (username, display name, password age in days, MFA, has NPI, what it demonstrates)
const DEMO_USERS: &[(&str, &str, i64, u8, bool, &str)] = &[
    (
        "drsmith",
        "Dr. Alex Smith",
        20,
        2,
        true,
        "enrolled in MFA, password fresh",
    ),
    (
        "drjones",
        "Dr. Priya Jones",
        40,
        1,
        false,
        "not enrolled: must enroll TOTP (mfa/associate); Person/ reference",
    ),
    (
        "drold",
        "Dr. Sam Okafor",
        175,
        2,
        true,
        "password 175 days old (expiring in 5 days)",
    ),
    (
        "drgrace",
        "Dr. Mia Laurent",
        195,
        2,
        true,
        "password past expiry, in the 30-day grace period",
    ),
    (
        "drexpired",
        "Dr. Lee Varga",
        215,
        2,
        true,
        "password expired beyond grace: login refused",
    ),
    (
        "drnomfa",
        "Dr. Noor Haddad",
        30,
        0,
        true,
        "no MFA required (like OpenEMR without MFA)",
    ),
];

/// Adds the demo clinicians.
pub fn demo_users(users: &mut Users, now: OffsetDateTime) {
    for (name, display, age, mfa, npi, _) in DEMO_USERS {
        let mfa = match mfa {
            0 => Mfa::NotRequired,
            1 => Mfa::MustEnroll,
            _ => Mfa::Enrolled(demo_secret(name)),
        };
        let mut u = User::new(name, display, DEMO_PASSWORD, *age, mfa, now);
        u.has_npi = *npi;
        users.insert(u);
    }
}

/// Human-readable block for stderr: who can sign in, with which secret, and today's codes.
pub fn banner(st: &AppState) -> String {
    let now = st.now();
    let users = st.users.lock().expect("users lock");
    let mut s = String::new();
    s.push_str("──────── Rounds sandbox clinic: demo accounts ────────\n");
    s.push_str(&format!("base_url {}   site {}\n", st.base_url, st.site));
    s.push_str(&format!(
        "client_id {DEMO_CLIENT_ID}  client_secret {DEMO_CLIENT_SECRET}  redirect {DEMO_REDIRECT_URI}\n"
    ));
    s.push_str(&format!("password for every user: {DEMO_PASSWORD}\n"));
    for (name, _, _, _, _, what) in DEMO_USERS {
        let Some(u) = users.by_name.get(*name) else {
            continue;
        };
        s.push_str(&format!(
            "  {:<10} {:<18} {}\n",
            u.username, u.display_name, what
        ));
        if let Mfa::Enrolled(sec) = &u.mfa {
            s.push_str(&format!(
                "             TOTP secret {}  (code now: {})\n",
                util::base32_encode(sec),
                u.current_code(now).unwrap_or_default()
            ));
        }
    }
    s.push_str("current codes any time: GET {control_url}/control/users/<name>/totp\n");
    s.push_str("──────────────────────────────────────────────────────\n");
    s
}

const GIVEN: &[&str] = &[
    "Amelia", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ivo", "Jonas",
    "Keiko", "Leila", "Mateo", "Nadia", "Oskar", "Paloma", "Quentin", "Rosa", "Soren", "Tamsin",
    "Umar", "Vera", "Wendell", "Ximena",
];
const FAMILY: &[&str] = &[
    "Abernathy",
    "Brightwater",
    "Castellano",
    "Dunmore",
    "Eskildsen",
    "Fairweather",
    "Galloway",
    "Hollis",
    "Ingram",
    "Jaramillo",
    "Kowalczyk",
    "Lindqvist",
    "Marchetti",
    "Northcott",
    "Oyelaran",
    "Pennington",
    "Quimby",
    "Rasmussen",
    "Sandoval",
    "Thorne",
    "Underhill",
    "Vasquez",
    "Whitlock",
    "Yarrow",
];

fn patient(i: usize) -> (String, Value) {
    let id = util::uuid_from(&format!("patient:{i}"));
    let given = GIVEN[i % GIVEN.len()];
    let family = FAMILY[(i * 7 + i / GIVEN.len()) % FAMILY.len()];
    let year = 1940 + (i * 13) % 65;
    let v = json!({
        "resourceType": "Patient", "id": id,
        "meta": {"versionId": "1", "lastUpdated": "2026-01-05T09:00:00+00:00"},
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": if i.is_multiple_of(2) { "female" } else { "male" },
        "birthDate": format!("{year}-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
    });
    (id, v)
}

fn location_id() -> String {
    util::uuid_from("location:main")
}

/// Patients, clinicians and the clinic location as FHIR resources.
pub fn directory(st: &AppState, patients: usize) {
    let mut store = st.store.write().expect("store lock");
    for i in 0..patients {
        let (id, v) = patient(i);
        store.others.insert(format!("Patient/{id}"), v);
    }
    let loc = location_id();
    store.others.insert(
        format!("Location/{loc}"),
        json!({"resourceType": "Location", "id": loc, "status": "active", "name": "Sandbox Clinic, Main Street",
               "address": {"line": ["1 Main Street"], "city": "Springfield", "postalCode": "00000"}}),
    );
    let users = st.users.lock().expect("users lock");
    for u in users.by_name.values() {
        let ty = if u.has_npi { "Practitioner" } else { "Person" };
        let parts: Vec<&str> = u
            .display_name
            .trim_start_matches("Dr. ")
            .splitn(2, ' ')
            .collect();
        store.others.insert(
            u.fhir_ref(),
            json!({"resourceType": ty, "id": u.uuid, "active": true,
                   "name": [{"use": "official", "prefix": ["Dr."], "given": [parts[0]],
                             "family": parts.get(1).copied().unwrap_or("")}],
                   "telecom": [{"system": "email", "value": u.email}]}),
        );
    }
}

/// Inputs of one OpenEMR-shaped Appointment.
pub struct ApptSpec<'a> {
    pub id: String,
    pub status: &'a str,
    pub category: (&'a str, &'a str),
    pub patient: String,
    pub provider_ref: String,
    pub start: OffsetDateTime,
    pub minutes: i64,
    pub comment: Option<&'a str>,
    pub last_updated: OffsetDateTime,
}

/// Builds the resource exactly in the shape of §3.3/§3.5.
pub fn appointment(fhir_base: &str, a: &ApptSpec<'_>) -> Value {
    let part = |code: &str, display: &str, reference: String| {
        json!({"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                      "code": code, "display": display}]}],
               "actor": {"reference": reference}, "status": "accepted"})
    };
    let mut v = json!({
        "resourceType": "Appointment", "id": a.id,
        "meta": {"versionId": "1", "lastUpdated": util::rfc3339_offset(a.last_updated)},
        "status": a.status,
        "appointmentType": {"coding": [{"system": format!("{fhir_base}/ValueSet/appointment-type"),
                                        "code": a.category.0, "display": a.category.1}]},
        "participant": [
            part("PART", "Participant", format!("Patient/{}", a.patient)),
            part("PPRF", "Primary Performer", a.provider_ref.clone()),
            part("LOC", "Location", format!("Location/{}", location_id())),
        ],
        "start": util::rfc3339_offset(a.start),
        "end": util::rfc3339_offset(a.start + Duration::minutes(a.minutes)),
    });
    if let Some(c) = a.comment {
        v["comment"] = json!(c);
    }
    v
}

const VIDEO: (&str, &str) = ("video_visit", "Video Visit");
const OFFICE: (&str, &str) = ("office_visit", "Office Visit");
const NEW_PATIENT: (&str, &str) = ("new_patient", "New Patient");
const SLOTS: [(u8, u8); 12] = [
    (8, 0),
    (8, 30),
    (9, 0),
    (9, 30),
    (10, 0),
    (10, 30),
    (11, 0),
    (13, 0),
    (13, 30),
    (14, 0),
    (14, 30),
    (15, 0),
];

/// A clinic week: today ± 3 days, 12 appointments a day across two clinicians, about a third
/// of them video visits, one cancellation a day, plus a video visit for drsmith starting in
/// five minutes so "join" works right away in the demo.
pub fn demo_week(st: &AppState) {
    let now = st.now();
    let base = st.fhir_base();
    let (smith, jones) = {
        let u = st.users.lock().expect("users lock");
        let r = |n: &str| u.by_name.get(n).map(|u| u.fhir_ref()).unwrap_or_default();
        (r("drsmith"), r("drjones"))
    };
    let mut store = st.store.write().expect("store lock");
    let mut n = 0usize;
    for day in -3i64..=3 {
        let date = (now + Duration::days(day)).date();
        for (slot, (h, m)) in SLOTS.iter().enumerate() {
            n += 1;
            let start = date
                .with_time(Time::from_hms(*h, *m, 0).expect("valid slot"))
                .assume_utc();
            let minutes = if slot % 4 == 3 { 15 } else { 30 };
            let video = slot % 3 == 1;
            let cancelled = slot == (day + 5) as usize % 12;
            let end = start + Duration::minutes(minutes);
            let status = if cancelled {
                "cancelled"
            } else if end < now {
                if slot == 6 { "noshow" } else { "fulfilled" }
            } else if start < now {
                "arrived"
            } else {
                "booked"
            };
            let last_updated = if cancelled {
                now - Duration::hours(1 + slot as i64)
            } else if end < now {
                end.min(now)
            } else if start < now {
                // Arrived: OpenEMR stamps the row when the front desk (or the portal) marks
                // the patient arrived; say it happened at the start.
                start
            } else {
                (start - Duration::days(10)).min(now - Duration::hours(2))
            };
            let spec = ApptSpec {
                id: util::uuid_from(&format!("demo:{day}:{slot}")),
                status,
                category: if video {
                    VIDEO
                } else if slot % 5 == 0 {
                    NEW_PATIENT
                } else {
                    OFFICE
                },
                patient: patient(n % 40).0,
                provider_ref: if slot % 4 == 2 {
                    jones.clone()
                } else {
                    smith.clone()
                },
                start,
                minutes,
                comment: if video {
                    Some("Video follow-up")
                } else if slot % 5 == 0 {
                    Some("New patient intake")
                } else {
                    None
                },
                last_updated,
            };
            let _ = store.upsert(appointment(&base, &spec), now);
        }
    }
    let soon = now
        .replace_second(0)
        .unwrap_or(now)
        .replace_nanosecond(0)
        .unwrap_or(now)
        + Duration::minutes(5);
    for (i, who) in [&smith, &jones].into_iter().enumerate() {
        let spec = ApptSpec {
            id: util::uuid_from(&format!("demo:now:{i}")),
            status: "booked",
            category: VIDEO,
            patient: patient(41 + i).0,
            provider_ref: who.clone(),
            start: soon + Duration::minutes(i as i64 * 30),
            minutes: 30,
            comment: Some("Video follow-up (joinable now)"),
            last_updated: now - Duration::minutes(30),
        };
        store.insert_built(built(&base, &spec));
    }
}

/// Same resource as [`appointment`], serialised directly (sorted keys, like `serde_json`'s
/// map): about ten times faster, which keeps `--appointments 100000` start-up short.
/// Every interpolated value is a UUID, a constant or a timestamp, so nothing needs escaping.
fn built(fhir_base: &str, a: &ApptSpec<'_>) -> Appt {
    let end = a.start + Duration::minutes(a.minutes);
    let part = |code: &str, display: &str, reference: &str| {
        format!(
            r#"{{"actor":{{"reference":"{reference}"}},"status":"accepted","type":[{{"coding":[{{"code":"{code}","display":"{display}","system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}}]}}]}}"#
        )
    };
    let patient_ref = format!("Patient/{}", a.patient);
    let location_ref = format!("Location/{}", location_id());
    let comment = a
        .comment
        .map(|c| format!(r#""comment":"{c}","#))
        .unwrap_or_default();
    let json = format!(
        r#"{{"appointmentType":{{"coding":[{{"code":"{}","display":"{}","system":"{fhir_base}/ValueSet/appointment-type"}}]}},{comment}"end":"{}","id":"{}","meta":{{"lastUpdated":"{}","versionId":"1"}},"participant":[{},{},{}],"resourceType":"Appointment","start":"{}","status":"{}"}}"#,
        a.category.0,
        a.category.1,
        util::rfc3339_offset(end),
        a.id,
        util::rfc3339_offset(a.last_updated),
        part("PART", "Participant", &patient_ref),
        part("PPRF", "Primary Performer", &a.provider_ref),
        part("LOC", "Location", &location_ref),
        util::rfc3339_offset(a.start),
        a.status,
    );
    Appt {
        id: a.id.clone(),
        start: Some(a.start),
        end: Some(end),
        last_updated: a
            .last_updated
            .replace_nanosecond(0)
            .unwrap_or(a.last_updated),
        status: a.status.to_string(),
        actors: vec![patient_ref, a.provider_ref.clone(), location_ref],
        json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_matches_the_value_builder() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns");
        let spec = ApptSpec {
            id: util::uuid_from("t"),
            status: "booked",
            category: VIDEO,
            patient: util::uuid_from("p"),
            provider_ref: "Person/x".into(),
            start: now,
            minutes: 30,
            comment: Some("Video follow-up"),
            last_updated: now,
        };
        let fast: serde_json::Value =
            serde_json::from_str(&built("https://h/fhir", &spec).json).expect("valid JSON");
        assert_eq!(fast, appointment("https://h/fhir", &spec));
        assert_eq!(
            built("https://h/fhir", &spec).json,
            appointment("https://h/fhir", &spec).to_string()
        );
    }
}
