//! Parser tests on hand-made Appointments: the video rule, strict fields, hostile input and the
//! visit link. Apart from the published examples so each file reads as one kind of evidence.

use super::fhir::*;
use super::tests::PHI;

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
