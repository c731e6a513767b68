//! Parser tests: every published example in `shared/data/fhir/` (read by path, never
//! embedded in the product) and the OpenEMR-shaped contract example (clinic-api §3.5); hand-made
//! and hostile input is in `tests_hostile.rs`. Assertions are on what the day view would show or
//! why an entry was skipped.

use std::path::PathBuf;

use super::fhir::*;

pub(super) const PHI: &str = "Jane Q. Testpatient";

fn corpus() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fhir");
    assert!(
        d.is_dir(),
        "the FHIR example corpus is missing at {}",
        d.display()
    );
    d
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(corpus().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// (file, expected outcome): `Ok(id)` parsed, `Err(reason)` skipped, or a document error.
#[derive(Debug)]
enum Want {
    Parsed(&'static str, AppointmentStatus),
    Skipped(SkipReason),
    Rejected,
    Bundle {
        parsed: usize,
        skipped: Vec<SkipReason>,
    },
}

#[test]
fn every_published_example_is_parsed_or_skipped_for_the_expected_reason() {
    use AppointmentStatus as S;
    use Want::*;
    let outcome = SkipReason::Outcome;
    let slot = || SkipReason::NotAppointment("Slot".into());
    let mut want: Vec<(&str, Want)> = vec![
        (
            "hl7-r4-official/appointment-example.json",
            Parsed("example", S::Booked),
        ),
        (
            "hl7-r4-official/appointment-example2doctors.json",
            Parsed("2docs", S::Booked),
        ),
        (
            "hl7-r4-official/appointment-example-request.json",
            Skipped(SkipReason::NotScheduled),
        ),
        ("hl7-r4-official/appointmentresponse-example.json", Rejected),
        (
            "hl7-r4-official/appointmentresponse-example-req.json",
            Rejected,
        ),
        (
            "cerner-r4/appointment-4817517-booked.json",
            Parsed("4817517", S::Booked),
        ),
        (
            "cerner-r4/appointment-4817572-videovisit-noshow.json",
            Parsed("4817572", S::Noshow),
        ),
        (
            "cerner-r4/appointment-4817663-videovisit-booked.json",
            Parsed("4817663", S::Booked),
        ),
        (
            "cerner-r4/appointment-4822366-cancelled.json",
            Parsed("4822366", S::Cancelled),
        ),
        (
            "cerner-r4/appointment-create-booked-request.json",
            Skipped(SkipReason::MissingId),
        ),
        (
            "cerner-r4/appointment-create-proposed-request.json",
            Skipped(SkipReason::MissingId),
        ),
        (
            "cerner-r4/bundle-searchset-as-published-nested-entry.json",
            Bundle {
                parsed: 0,
                skipped: vec![SkipReason::NoResourceType],
            },
        ),
        (
            "argonaut-scheduling-stu3/Bundle-hal-dr-y-appts.json",
            Bundle {
                parsed: 3,
                skipped: vec![outcome.clone()],
            },
        ),
        (
            "argonaut-scheduling-stu3/Bundle-prefetch-derm-appts.json",
            Bundle {
                parsed: 3,
                skipped: vec![outcome.clone()],
            },
        ),
        (
            "argonaut-scheduling-stu3/Bundle-slot-bundle-example.json",
            Bundle {
                parsed: 0,
                skipped: [vec![slot(); 8], vec![outcome]].concat(),
            },
        ),
    ];
    for f in [
        "proposed-appt1",
        "proposed-appt1a-1",
        "proposed-appt1a-2",
        "proposed-appt1a-3",
        "proposed-appt2",
        "proposed-appt2b-1",
        "proposed-appt2b-2",
        "proposed-appt2b-3",
        "proposed-appt3",
    ] {
        let path: &'static str =
            Box::leak(format!("argonaut-scheduling-stu3/Appointment-{f}.json").into_boxed_str());
        want.push((
            path,
            Parsed(Box::leak(f.to_string().into_boxed_str()), S::Proposed),
        ));
    }
    // Every file in the corpus is accounted for: a new example must get an expectation.
    let mut on_disk = Vec::new();
    for dir in ["hl7-r4-official", "cerner-r4", "argonaut-scheduling-stu3"] {
        for e in std::fs::read_dir(corpus().join(dir))
            .expect("corpus dir")
            .flatten()
        {
            on_disk.push(format!("{dir}/{}", e.file_name().to_string_lossy()));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = want.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);

    for (file, w) in &want {
        let got = parse_document(&read(file));
        match (w, got) {
            (Parsed(id, st), Ok(r)) => {
                assert_eq!(r.skipped, vec![], "{file}");
                assert_eq!(r.appointments.len(), 1, "{file}");
                assert_eq!(r.appointments[0].id, *id, "{file}");
                assert_eq!(r.appointments[0].status, *st, "{file}");
            }
            (Skipped(reason), Ok(r)) => {
                assert!(r.appointments.is_empty(), "{file}");
                assert_eq!(r.skipped.len(), 1, "{file}");
                assert_eq!(&r.skipped[0].reason, reason, "{file}");
            }
            (Rejected, Err(ParseError::WrongResource(t))) => {
                assert_eq!(t, "AppointmentResponse", "{file}");
            }
            (Bundle { parsed, skipped }, Ok(r)) => {
                assert_eq!(r.appointments.len(), *parsed, "{file}");
                let reasons: Vec<_> = r.skipped.iter().map(|s| s.reason.clone()).collect();
                assert_eq!(&reasons, skipped, "{file}");
            }
            (w, got) => panic!("{file}: wanted {w:?}, got {got:?}"),
        }
    }
}

fn one(rel: &str) -> Appointment {
    let r = parse_document(&read(rel)).expect("document");
    r.appointments.into_iter().next().expect("one appointment")
}

#[test]
fn what_the_day_view_shows_for_published_examples() {
    let a = one("hl7-r4-official/appointment-example.json");
    assert_eq!((a.start, a.end), (1_386_666_000, 1_386_673_200)); // 2013-12-10 09:00–11:00Z
    assert_eq!(
        a.visit_type.as_deref(),
        Some("A follow up visit from a previous appointment")
    );
    assert_eq!(a.patient_id.as_deref(), Some("example"));
    assert_eq!(a.patient_display.as_deref(), Some("Peter James Chalmers"));
    assert_eq!(a.clinicians, vec!["example", "1"]);
    assert!(!a.video);
    assert_eq!(a.last_updated, None);

    let two = one("hl7-r4-official/appointment-example2doctors.json");
    assert_eq!(two.clinicians, vec!["example", "f202"]);
    assert_eq!(two.participants[3].display.as_deref(), Some("Phone Call"));
    assert_eq!(two.participants[3].id, None);

    let v = one("cerner-r4/appointment-4817572-videovisit-noshow.json");
    assert!(v.video, "serviceType Video Visit");
    assert_eq!(v.visit_type.as_deref(), Some("Video Visit"));
    assert_eq!(v.last_updated, Some(1_594_443_901)); // 2020-07-11T05:05:01.000Z
    assert_eq!(v.participants.len(), 5);
    assert_eq!(v.participants[3].resource_type, None, "#28 is contained");
    assert_eq!(v.clinicians, vec!["593923", "21304876"]);

    let c = one("cerner-r4/appointment-4822366-cancelled.json");
    assert_eq!(c.status, AppointmentStatus::Cancelled);
    assert!(!c.video);
    assert_eq!(c.visit_type.as_deref(), Some("Surgery Rapid"));

    let b = one("cerner-r4/appointment-4817517-booked.json");
    assert_eq!(b.comment.as_deref(), Some("Appointment request comment"));
    assert_eq!(b.visit_type.as_deref(), Some("Established Patient"));
    assert!(!b.video);

    let p = one("argonaut-scheduling-stu3/Appointment-proposed-appt1.json");
    assert_eq!(
        p.visit_type.as_deref(),
        Some("Routine"),
        "appointmentType.text"
    );
    assert_eq!(p.participants[1].display.as_deref(), Some("Napa Office"));
}

/// clinic-api.md §3.5, verbatim: the contract between Rounds and the sandbox/OpenEMR.
const CONTRACT: &str = r#"{"resourceType":"Bundle","type":"searchset","total":3,
 "meta":{"lastUpdated":"2026-11-23T10:00:05Z"},
 "link":[{"relation":"self","url":"https://127.0.0.1:8443/apis/default/fhir/Appointment?_lastUpdated=gt2026-11-23T09:00:00Z&_count=2"},
         {"relation":"next","url":"https://127.0.0.1:8443/apis/default/fhir/Appointment?_lastUpdated=gt2026-11-23T09:00:00Z&_count=2&_offset=2"}],
 "entry":[
  {"fullUrl":"https://127.0.0.1:8443/apis/default/fhir/Appointment/9a1c2f0e-5b7d-4c1e-9f3a-2d6e8b4a7c10",
   "resource":{"resourceType":"Appointment","id":"9a1c2f0e-5b7d-4c1e-9f3a-2d6e8b4a7c10",
    "meta":{"versionId":"1","lastUpdated":"2026-11-23T09:12:40+00:00"},
    "status":"booked",
    "appointmentType":{"coding":[{"system":"https://127.0.0.1:8443/apis/default/fhir/ValueSet/appointment-type",
                                  "code":"office_visit","display":"Office Visit"}]},
    "participant":[
     {"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PART","display":"Participant"}]}],
      "actor":{"reference":"Patient/96506861-511f-4f6d-bc97-b65a78cf1995"},"status":"accepted"},
     {"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PPRF","display":"Primary Performer"}]}],
      "actor":{"reference":"Practitioner/946da619-c631-431a-a282-487cd6fb7802"},"status":"accepted"},
     {"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"LOC","display":"Location"}]}],
      "actor":{"reference":"Location/90c7a2b8-2b5d-4a3c-8f8e-6b1d3c0e9a55"},"status":"accepted"}],
    "start":"2026-11-24T14:00:00+00:00","end":"2026-11-24T14:30:00+00:00",
    "comment":"Video follow-up"}},
  {"fullUrl":"https://127.0.0.1:8443/apis/default/fhir/Appointment/c3d4e5f6-0a1b-4c2d-8e3f-4a5b6c7d8e9f",
   "resource":{"resourceType":"Appointment","id":"c3d4e5f6-0a1b-4c2d-8e3f-4a5b6c7d8e9f",
    "meta":{"versionId":"1","lastUpdated":"2026-11-23T09:40:02+00:00"},
    "status":"cancelled",
    "participant":[
     {"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PART","display":"Participant"}]}],
      "actor":{"reference":"Patient/1f0e9d8c-7b6a-4594-8372-615049382716"},"status":"accepted"},
     {"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PPRF","display":"Primary Performer"}]}],
      "actor":{"reference":"Person/5b2e7c41-8d3f-4e6a-9c0b-1a2d3e4f5a6b"},"status":"accepted"}],
    "start":"2026-11-25T09:00:00+00:00","end":"2026-11-25T09:15:00+00:00"}}]}"#;

#[test]
fn the_contract_example_reads_as_the_contract_says() {
    let r = parse_bundle(CONTRACT.as_bytes()).expect("contract bundle");
    assert!(r.skipped.is_empty());
    assert_eq!(
        r.next.as_deref(),
        Some(
            "https://127.0.0.1:8443/apis/default/fhir/Appointment?_lastUpdated=gt2026-11-23T09:00:00Z&_count=2&_offset=2"
        )
    );
    assert_eq!(r.server_time, Some(1_795_428_005));
    let [a, b] = &r.appointments[..] else {
        panic!("two appointments")
    };
    assert_eq!(a.status, AppointmentStatus::Booked);
    assert_eq!((a.start, a.end), (1_795_528_800, 1_795_530_600));
    assert_eq!(a.last_updated, Some(1_795_425_160));
    assert_eq!(a.visit_type.as_deref(), Some("Office Visit"));
    assert!(a.video, "comment starts with Video");
    assert_eq!(
        a.patient_id.as_deref(),
        Some("96506861-511f-4f6d-bc97-b65a78cf1995")
    );
    assert_eq!(a.patient_display, None, "OpenEMR sends no display");
    assert_eq!(
        a.clinicians,
        vec![
            "946da619-c631-431a-a282-487cd6fb7802",
            "90c7a2b8-2b5d-4a3c-8f8e-6b1d3c0e9a55"
        ]
    );
    assert_eq!(a.participants[1].role.as_deref(), Some("PPRF"));
    assert_eq!(b.status, AppointmentStatus::Cancelled);
    assert_eq!(
        b.clinicians,
        vec!["5b2e7c41-8d3f-4e6a-9c0b-1a2d3e4f5a6b"],
        "Person/ matched by uuid"
    );
    assert_eq!(
        (b.visit_type.as_deref(), b.video, b.comment.as_deref()),
        (None, false, None)
    );
    // OpenEMR's own bundle helper says `collection`.
    let coll = CONTRACT.replace(r#""type":"searchset""#, r#""type":"collection""#);
    assert_eq!(
        parse_bundle(coll.as_bytes())
            .expect("collection")
            .appointments
            .len(),
        2
    );
}
