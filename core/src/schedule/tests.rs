//! Parser tests: every published example in `shared/data/fhir/` (read by path, never
//! embedded in the product), the OpenEMR-shaped contract example (clinic-api §3.5), and hostile
//! input. Assertions are on what the day view would show or why an entry was skipped.

use std::path::PathBuf;

use super::fhir::*;

const PHI: &str = "Jane Q. Testpatient";

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

/// A valid Appointment plus `fields`; one Patient participant unless `fields` brings its own
/// (R4: `participant` 1..*).
fn appt(fields: &str) -> String {
    let who = if fields.contains(r#""participant""#) {
        ""
    } else {
        r#","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]"#
    };
    format!(
        r#"{{"resourceType":"Appointment","id":"a1","status":"booked",
            "start":"2026-11-24T14:00:00Z","end":"2026-11-24T14:30:00Z"{who}{fields}}}"#
    )
}

fn skip_of(json: &str) -> SkipReason {
    parse_appointment(json.as_bytes()).expect_err("must be skipped")
}

#[test]
fn video_rule() {
    let v = |f: &str| parse_appointment(appt(f).as_bytes()).expect("valid").video;
    assert!(v(
        r#","appointmentType":{"coding":[{"code":"video_visit","display":"Video Visit"}]}"#
    ));
    assert!(v(r#","appointmentType":{"text":"Telehealth"}"#));
    assert!(v(
        r#","serviceType":[{"coding":[{"display":"Telemedicine consult"}]}]"#
    ));
    assert!(v(r#","comment":"Video follow-up""#));
    assert!(v(r#","comment":"  virtual check-in""#));
    assert!(!v(r#","appointmentType":{"text":"Telephone call"}"#));
    assert!(!v(r#","comment":"Patient refused video last time""#));
    assert!(!v(r#","comment":"Telephone follow-up""#));
    assert!(!v(""));
}

#[test]
fn strict_fields_skip_the_entry_with_a_reason_that_quotes_nothing() {
    use SkipReason as R;
    type Check = fn(&R) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (appt("").replace(r#""status":"booked","#, ""), |r| {
            *r == R::MissingStatus
        }),
        (appt("").replace("booked", PHI), |r| *r == R::UnknownStatus),
        (appt("").replace("booked", "BOOKED"), |r| {
            *r == R::UnknownStatus
        }),
        (
            appt("").replace(r#""booked""#, &format!(r#"["{PHI}"]"#)),
            |r| matches!(r, R::Malformed(_)),
        ),
        (appt("").replace(r#""booked""#, "5"), |r| {
            matches!(r, R::Malformed(_))
        }),
        (appt("").replace("2026-11-24T14:00:00Z", PHI), |r| {
            *r == R::BadTime("start")
        }),
        (
            appt("").replace("2026-11-24T14:00:00Z", "2026-11-24"),
            |r| *r == R::BadTime("start"),
        ),
        (
            appt("").replace("2026-11-24T14:30:00Z", "2026-11-24T14:30:00"),
            |r| *r == R::BadTime("end"),
        ),
        (appt("").replace("14:30:00Z", "13:30:00Z"), |r| {
            *r == R::EndBeforeStart
        }),
        (
            appt("").replace(r#""2026-11-24T14:00:00Z""#, "12345"),
            |r| matches!(r, R::Malformed(_)),
        ),
        (appt(r#","meta":{"lastUpdated":"yesterday"}"#), |r| {
            *r == R::BadTime("meta.lastUpdated")
        }),
        (appt(r#","meta":[]"#), |r| matches!(r, R::Malformed(_))),
        (appt(&format!(r#","participant":"{PHI}""#)), |r| {
            matches!(r, R::Malformed(_))
        }),
        (
            appt(&format!(r#","participant":[{{"actor":"{PHI}"}}]"#)),
            |r| matches!(r, R::Malformed(_)),
        ),
        (appt(&format!(r#","comment":{{"text":"{PHI}"}}"#)), |r| {
            matches!(r, R::Malformed(_))
        }),
        (
            appt(r#","status":"cancelled""#),
            |r| matches!(r, R::Malformed(m) if m.contains("duplicate field `status`")),
        ),
        (
            appt("").replace(r#""id":"a1""#, &format!(r#""id":"{PHI}""#)),
            |r| *r == R::BadId,
        ),
        (appt("").replace(r#""id":"a1","#, ""), |r| {
            *r == R::MissingId
        }),
        (appt("").replace("\"Appointment\"", "\"Patient\""), |r| {
            *r == R::NotAppointment("Patient".into())
        }),
        (
            appt("").replace("\"resourceType\":\"Appointment\",", ""),
            |r| *r == R::NoResourceType,
        ),
    ];
    for (json, ok) in cases {
        let r = skip_of(&json);
        assert!(ok(&r), "{json} → {r:?}");
        assert!(!r.to_string().contains("Jane"), "reason quotes input: {r}");
    }
}

#[test]
fn a_bad_entry_is_skipped_by_id_and_the_page_is_kept() {
    let good = appt(r#","comment":"ok""#);
    let bad = appt("").replace("a1", "bad-1").replace(r#""booked""#, "[]");
    let page = format!(
        r#"{{"resourceType":"Bundle","type":"searchset","entry":[{{"resource":{good}}},{{"resource":{bad}}},42,{{}},{{"resource":{}}}]}}"#,
        good.replace("a1", "a2")
    );
    let r = parse_bundle(page.as_bytes()).expect("page kept");
    let ids: Vec<&str> = r.appointments.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"]);
    let skipped: Vec<(usize, Option<&str>)> = r
        .skipped
        .iter()
        .map(|s| (s.index, s.id.as_deref()))
        .collect();
    assert_eq!(skipped, [(1, Some("bad-1")), (2, None), (3, None)]);
}

#[test]
fn whole_documents_that_are_not_pages_are_rejected() {
    let e = |s: &[u8]| parse_bundle(s).expect_err("rejected");
    assert!(matches!(e(b"<html>oops</html>"), ParseError::NotJson(_)));
    assert!(matches!(
        e(b"{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":["),
        ParseError::NotJson(_)
    ));
    assert!(matches!(e(b"\xff\xfe{}"), ParseError::NotJson(_)));
    assert!(matches!(
        e(br#"{"resourceType":"Bundle","type":"transaction"}"#),
        ParseError::WrongBundleType(_)
    ));
    assert!(matches!(
        e(br#"{"resourceType":"OperationOutcome"}"#),
        ParseError::WrongResource(_)
    ));
    assert!(matches!(
        e(br#"{"resourceType":"Bundle","type":"searchset","entry":{}}"#),
        ParseError::Malformed(_)
    ));
    let two_next = br#"{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"https://a/1"},{"relation":"next","url":"https://a/2"}]}"#;
    assert!(matches!(e(two_next), ParseError::Malformed(_)));
    let huge_number = format!(
        r#"{{"resourceType":"Bundle","type":"searchset","total":1{}}}"#,
        "0".repeat(400)
    );
    let _ = parse_bundle(huge_number.as_bytes()); // any answer, no panic
    assert!(parse_document(b"[1,2]").is_err());
    assert!(parse_document(b"").is_err());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = |open: &str, close: &str| {
        let mid = if open.ends_with(':') { "0" } else { "" };
        format!("{}{mid}{}", open.repeat(100_000), close.repeat(100_000))
    };
    let page = |inner: &str| format!(r#"{{"resourceType":"Bundle","type":"searchset",{inner}}}"#);
    // Nesting where Rounds reads: an error (serde_json's recursion limit), never a crash.
    assert!(parse_bundle(deep("[", "]").as_bytes()).is_err());
    assert!(parse_document(deep("[", "]").as_bytes()).is_err());
    let in_link = page(&format!(
        r#""link":[{{"relation":"next","url":{}}}]"#,
        deep("[", "]")
    ));
    assert!(parse_bundle(in_link.as_bytes()).is_err());
    let in_appt = appt(&format!(r#","participant":{}"#, deep("[", "]")));
    assert!(parse_appointment(in_appt.as_bytes()).is_err());
    // Nesting in an entry or in fields Rounds ignores: nothing of it is kept, the rest is.
    for inner in [
        format!(
            r#""entry":[{{"resource":{}}},{{"resource":{}}}]"#,
            deep(r#"{"a":"#, "}"),
            appt("")
        ),
        format!(
            r#""entry":[{},{{"resource":{}}}]"#,
            deep("[", "]"),
            appt("")
        ),
        format!(
            r#""x":{},"entry":[{{"resource":{}}}]"#,
            deep("[", "]"),
            appt("")
        ),
        format!(
            r#""entry":[{{"resource":{}}}]"#,
            appt(&format!(r#","extension":{}"#, deep("[", "]")))
        ),
    ] {
        match parse_bundle(page(&inner).as_bytes()) {
            Ok(r) => assert_eq!(r.appointments.len(), 1, "only the good entry"),
            Err(ParseError::NotJson(m)) => assert!(m.contains("recursion"), "{m}"),
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn huge_strings_are_bounded_and_control_characters_neutralised() {
    let big = "x".repeat(32 * 1024 * 1024);
    let a = parse_appointment(appt(&format!(r#","comment":"{big}""#)).as_bytes()).expect("kept");
    assert_eq!(
        a.comment.as_ref().map(|c| c.chars().count()),
        Some(MAX_COMMENT_CHARS)
    );
    let d =
        format!(r#","participant":[{{"actor":{{"reference":"Patient/p1","display":"{big}"}}}}]"#);
    let a = parse_appointment(appt(&d).as_bytes()).expect("kept");
    assert_eq!(
        a.patient_display.as_ref().map(|c| c.chars().count()),
        Some(MAX_DISPLAY_CHARS)
    );
    assert_eq!(
        skip_of(&appt("").replace("booked", &big)),
        SkipReason::UnknownStatus
    );
    assert_eq!(skip_of(&appt("").replace("a1", &big)), SkipReason::BadId);
    let esc = parse_appointment(appt(r#","comment":"Line 1\nLine 2\u001b[2J\u0007""#).as_bytes())
        .expect("kept");
    assert_eq!(esc.comment.as_deref(), Some("Line 1\nLine 2 [2J"));
}

#[test]
fn references_are_read_by_uuid_whatever_their_form() {
    let p = |r: &str| {
        let j = appt(&format!(
            r#","participant":[{{"actor":{{"reference":"{r}"}}}}]"#
        ));
        let a = parse_appointment(j.as_bytes()).expect("valid");
        (a.patient_id, a.clinicians)
    };
    assert_eq!(p("Patient/abc"), (Some("abc".into()), vec![]));
    assert_eq!(
        p("https://emr.example.org/apis/default/fhir/Patient/abc"),
        (Some("abc".into()), vec![])
    );
    assert_eq!(
        p("Practitioner/d1/_history/3"),
        (None, vec!["d1".to_string()])
    );
    assert_eq!(p("Person/d2"), (None, vec!["d2".to_string()]));
    assert_eq!(p("#contained"), (None, vec![]));
    assert_eq!(
        p("Practitioner/|x|"),
        (None, vec![]),
        "ids with separators never match"
    );
}

#[test]
fn strict_fhir_grammar_per_entry() {
    assert_eq!(
        skip_of(&appt(r#","participant":[]"#)),
        SkipReason::NoParticipant
    );
    let no_participant = appt("").replace(
        r#","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]"#,
        "",
    );
    assert_eq!(skip_of(&no_participant), SkipReason::NoParticipant);
    let year0 = appt("").replace("2026-11-24T14:00:00Z", "0000-11-24T14:00:00Z");
    assert_eq!(skip_of(&year0), SkipReason::BadTime("start"));
    // The leap second keeps the visit on its own day.
    let leap = appt("")
        .replace("2026-11-24T14:00:00Z", "2016-12-31T23:30:00Z")
        .replace("2026-11-24T14:30:00Z", "2016-12-31T23:59:60Z");
    let a = parse_appointment(leap.as_bytes()).expect("leap second is valid FHIR");
    assert_eq!(crate::schedule::instant::format_date(a.end), "2016-12-31");
}

#[test]
fn the_visit_link_comes_from_virtual_service_then_text() {
    use crate::schedule::link::{LinkProblem, LinkSource, LinkTarget};
    let vs = |inner: &str| {
        format!(
            r#","extension":[{{"url":"http://example.org/other","valueString":42}},
                {{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService",
                  "extension":[{{"url":"channelType","valueCoding":{{"code":"jitsi"}}}},{inner}]}}]"#
        )
    };
    let a = parse_appointment(
        appt(&vs(
            r#"{"url":"address","valueUrl":"https://meet.example.org/appt-9"}"#,
        ))
        .as_bytes(),
    )
    .expect("valid");
    let l = a.link.expect("link");
    assert_eq!(l.source, LinkSource::VirtualService);
    assert_eq!(
        l.target,
        LinkTarget::Jitsi {
            domain: "meet.example.org".into(),
            room: "appt-9".into()
        }
    );
    assert!(a.video, "a virtualService makes it a video visit");
    // Room + domain form.
    let a = parse_appointment(
        appt(&vs(
            r#"{"url":"address","valueString":"meet.example.org"},{"url":"sessionKey","valueString":"appt-10"}"#,
        ))
        .as_bytes(),
    )
    .expect("valid");
    assert!(
        matches!(a.link.expect("link").target, LinkTarget::Jitsi { room, .. } if room == "appt-10")
    );
    // An unusable one is kept as such (the visit says why), the entry is not skipped.
    let a = parse_appointment(
        appt(&vs(
            r#"{"url":"address","valueUrl":"http://meet.example.org/x"}"#,
        ))
        .as_bytes(),
    )
    .expect("valid");
    assert_eq!(
        a.link.expect("link").target,
        LinkTarget::Unusable {
            problem: LinkProblem::NotHttps
        }
    );
    // Free text: read, but it does not by itself make a video visit (policy decides).
    let a = parse_appointment(
        appt(r#","comment":"Follow-up; join https://meet.example.org/fu-1 at 9""#).as_bytes(),
    )
    .expect("valid");
    assert_eq!(a.link.as_ref().map(|l| l.source), Some(LinkSource::Comment));
    assert!(!a.video);
    let a = parse_appointment(
        appt(r#","patientInstruction":"Use https://meet.example.org/pi-1""#).as_bytes(),
    )
    .expect("valid");
    assert_eq!(
        a.link.map(|l| l.source),
        Some(LinkSource::PatientInstruction)
    );
}
