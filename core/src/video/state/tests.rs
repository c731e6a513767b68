//! Unit tests of the visit state machine, its event parsing and its host-command checks.

use serde_json::{Value, json};

use super::*;

const T: i64 = 1_795_530_000;

fn ev(v: Value) -> VisitEvent {
    serde_json::from_value(v).expect("event")
}

fn kinds(v: &[AuditEntry]) -> Vec<&'static str> {
    v.iter().map(|e| e.kind().as_str()).collect()
}

#[test]
fn a_whole_visit() {
    let mut s = VisitState::new("appt-1", true);
    assert_eq!(s.phase(), VisitPhase::Joining);
    let a = s.apply(
        ev(json!({"event": "videoConferenceJoined",
                  "data": {"roomName": "appt-xyz", "id": "loc1", "displayName": "Dr A"}})),
        T,
    );
    assert_eq!(kinds(&a), ["visit.joined"]);
    assert_eq!(s.schedule_badge(), Some("inProgress"));
    s.apply(
        ev(json!({"event": "participantRoleChanged", "data": {"id": "loc1", "role": "moderator"}})),
        T,
    );
    assert!(s.moderator());
    // A remote role change does not touch ours.
    s.apply(
        ev(json!({"event": "participantRoleChanged", "data": {"id": "zz", "role": "none"}})),
        T,
    );
    assert!(s.moderator());

    let a = s.apply(
        ev(json!({"event": "participantJoined", "data": {"id": "p1", "displayName": "Nurse"}})),
        T + 1,
    );
    assert_eq!(kinds(&a), ["visit.participant_joined"]);
    assert_eq!(s.participants(), 1);

    let a = s.apply(
        ev(json!({"event": "knockingParticipant",
                  "data": {"participant": {"id": "k1", "name": "Jane\u{7} Patient"}}})),
        T + 2,
    );
    assert_eq!(kinds(&a), ["visit.knock"]);
    assert_eq!(s.knocking()[0].name, "Jane Patient");
    assert!(!format!("{s:?}").contains("Jane"));

    let admit = HostCommand::Admit { id: "k1".into() };
    assert!(admit.allowed(&s));
    assert!(!HostCommand::Admit { id: "k2".into() }.allowed(&s));
    let a = s.executed(&admit, T + 3);
    assert_eq!(
        a[0].get("command"),
        Some(crate::audit::DetailValue::Code("admit"))
    );
    assert!(s.knocking().is_empty());
    s.apply(
        ev(json!({"event": "participantJoined", "data": {"id": "k1", "displayName": "Jane"}})),
        T + 3,
    );
    assert_eq!(s.participants(), 2);
    assert!(HostCommand::Kick { id: "k1".into() }.allowed(&s));

    s.apply(
        ev(json!({"event": "participantLeft", "data": {"id": "p1"}})),
        T + 4,
    );
    assert_eq!(s.view().participants, 1);
    let a = s.apply(ev(json!({"event": "readyToClose"})), T + 600);
    assert_eq!(kinds(&a), ["visit.ended"]);
    assert_eq!(
        a[0].get("seconds"),
        Some(crate::audit::DetailValue::Count(600))
    );
    assert_eq!(s.phase(), VisitPhase::Ended);
    assert_eq!(s.schedule_badge(), Some("done"));
    assert_eq!(s.view().ended_at, Some(T + 600));

    // After the end nothing changes.
    let before = s.clone();
    for e in [
        json!({"event": "videoConferenceJoined", "data": {}}),
        json!({"event": "participantJoined", "data": {"id": "x"}}),
        json!({"event": "errorOccurred", "data": {"type": "CONNECTION", "isFatal": true}}),
    ] {
        assert!(s.apply(ev(e), T + 700).is_empty());
    }
    assert!(s.executed(&HostCommand::EndForAll, T).is_empty());
    assert_eq!(s, before);
    assert!(!HostCommand::Leave.allowed(&s));
}

#[test]
fn fatal_error_fails_and_non_fatal_does_not() {
    let mut s = VisitState::new("appt-1", false);
    let a = s.apply(
        ev(json!({"event": "errorOccurred",
                  "data": {"name": "x", "message": "Jane Doe's token abc", "type": "CONFERENCE", "isFatal": false}})),
        T,
    );
    assert_eq!(kinds(&a), ["visit.error"]);
    assert_eq!(s.phase(), VisitPhase::Joining);
    assert!(!a[0].to_line().contains("Jane"));
    let a = s.apply(
        ev(json!({"event": "errorOccurred",
                  "data": {"name": "conference.connectionError.notAllowed", "type": "CONNECTION", "isFatal": true}})),
        T,
    );
    assert_eq!(kinds(&a), ["visit.failed"]);
    assert_eq!(s.phase(), VisitPhase::Failed);
    assert_eq!(s.failure(), Some(FailReason::Connection));
    assert_eq!(s.schedule_badge(), None);
}

#[test]
fn token_expiry_matters_only_before_joining() {
    let mut s = VisitState::new("a", true);
    s.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
    assert!(s.apply(ev(json!({"event": "tokenExpired"})), T).is_empty());
    assert_eq!(s.phase(), VisitPhase::Joined);
    let mut s = VisitState::new("a", true);
    s.apply(ev(json!({"event": "tokenExpired"})), T);
    assert_eq!(s.failure(), Some(FailReason::TokenExpired));
}

#[test]
fn unknown_and_odd_events_are_ignored() {
    let mut s = VisitState::new("a", true);
    s.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
    let before = s.clone();
    let huge = "x".repeat(100_000);
    for text in [
        r#"{"event": "somethingNew", "data": {"a": 1}}"#.to_string(),
        r#"{"event": "participantJoined"}"#.into(),
        r#"{"event": "participantJoined", "data": {"id": 5}}"#.into(),
        r#"{"event": "participantJoined", "data": {"id": "a\nb"}}"#.into(),
        format!(
            r#"{{"event": "participantJoined", "data": {{"id": "{}"}}}}"#,
            &huge[..65]
        ),
        format!(r#"{{"event": "participantJoined", "data": {{"id": "{huge}"}}}}"#),
        r#"{"event": "knockingParticipant", "data": {"participant": "nope"}}"#.into(),
        r#"{"event": "e2ee", "data": {"state": "maybe"}}"#.into(),
        r#"{"event": "lobbyEnabled", "data": "yes"}"#.into(),
        r#"{"data": {}}"#.into(),
        "[[[[[[".into(),
        "not json".into(),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        String::new(),
    ] {
        let e = VisitEvent::from_json(&text);
        assert_eq!(e, VisitEvent::Ignored, "{}", &text[..text.len().min(60)]);
        assert!(s.apply(e, T).is_empty());
    }
    assert_eq!(s, before);
}

#[test]
fn lists_are_bounded_and_names_cut() {
    let mut s = VisitState::new("a", true);
    s.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
    for i in 0..1000 {
        s.apply(
            VisitEvent::ParticipantJoined {
                id: format!("p{i}"),
            },
            T,
        );
        s.apply(
            VisitEvent::from_parts(
                "knockingParticipant",
                &json!({"participant": {"id": format!("k{i}"), "name": "N".repeat(10_000)}}),
            ),
            T,
        );
    }
    assert_eq!(s.participants(), MAX_PARTICIPANTS);
    assert_eq!(s.knocking().len(), MAX_KNOCKING);
    assert!(s.knocking().iter().all(|k| k.name.chars().count() == 64));
}

#[test]
fn host_commands() {
    let cases = [
        (HostCommand::MuteEveryone, "muteEveryone", json!(["audio"])),
        (
            HostCommand::Kick { id: "p".into() },
            "kickParticipant",
            json!(["p"]),
        ),
        (
            HostCommand::Admit { id: "k".into() },
            "answerKnockingParticipant",
            json!(["k", true]),
        ),
        (
            HostCommand::Deny { id: "k".into() },
            "answerKnockingParticipant",
            json!(["k", false]),
        ),
        (HostCommand::LockRoom(true), "toggleLobby", json!([true])),
        (HostCommand::EndForAll, "endConference", json!([])),
        (HostCommand::Leave, "hangup", json!([])),
        (HostCommand::ToggleE2ee(false), "toggleE2EE", json!([false])),
    ];
    for (c, name, args) in cases {
        assert_eq!(c.to_iframe(), (name.to_string(), args));
    }
    // From the UI's JSON.
    let c: HostCommand = serde_json::from_str(r#"{"kick":{"id":"p1"}}"#).expect("kick");
    assert_eq!(c, HostCommand::Kick { id: "p1".into() });
    let c: HostCommand = serde_json::from_str(r#"{"lockRoom":true}"#).expect("lock");
    assert_eq!(c, HostCommand::LockRoom(true));
    let c: HostCommand = serde_json::from_str(r#""endForAll""#).expect("end");
    assert_eq!(c, HostCommand::EndForAll);
    assert!(serde_json::from_str::<HostCommand>(r#""grantModerator""#).is_err());

    // Not a moderator: only Leave.
    let mut guest = VisitState::new("a", false);
    assert!(HostCommand::Leave.allowed(&guest));
    guest.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
    guest.apply(VisitEvent::ParticipantJoined { id: "p".into() }, T);
    guest.apply(
        VisitEvent::Knocking {
            id: "k".into(),
            name: String::new(),
        },
        T,
    );
    for c in [
        HostCommand::MuteEveryone,
        HostCommand::Kick { id: "p".into() },
        HostCommand::Admit { id: "k".into() },
        HostCommand::Deny { id: "k".into() },
        HostCommand::LockRoom(true),
        HostCommand::EndForAll,
        HostCommand::ToggleE2ee(true),
    ] {
        assert!(!c.allowed(&guest), "{c:?}");
    }
    assert!(HostCommand::Leave.allowed(&guest));

    // Moderator: kick only someone present; E2EE only where possible.
    let mut host = VisitState::new("a", true);
    assert!(
        !HostCommand::MuteEveryone.allowed(&host),
        "not in the call yet"
    );
    host.apply(VisitEvent::ConferenceJoined { local_id: None }, T);
    assert!(HostCommand::MuteEveryone.allowed(&host));
    assert!(!HostCommand::Kick { id: "ghost".into() }.allowed(&host));
    assert!(HostCommand::ToggleE2ee(true).allowed(&host));
    host.apply(VisitEvent::E2ee(E2ee::NotSupported), T);
    assert!(!HostCommand::ToggleE2ee(true).allowed(&host));
    host.executed(&HostCommand::LockRoom(true), T);
    assert!(host.lobby());
    // Losing the moderator role takes the controls away.
    host.apply(
        VisitEvent::RoleChanged {
            id: None,
            moderator: false,
        },
        T,
    );
    assert!(!HostCommand::EndForAll.allowed(&host));
    assert!(!host.view().can_host);
}

#[test]
fn view_json_has_no_secrets_and_is_camel_case() {
    let mut s = VisitState::new("appt-1", true);
    s.apply(
        VisitEvent::ConferenceJoined {
            local_id: Some("l".into()),
        },
        T,
    );
    let v = serde_json::to_value(s.view()).expect("json");
    assert_eq!(v["appointmentId"], "appt-1");
    assert_eq!(v["phase"], "joined");
    assert_eq!(v["canHost"], true);
    assert_eq!(v["startedAt"], T);
    assert_eq!(v["badge"], "inProgress");
    assert_eq!(v["e2ee"], "unknown");
}
