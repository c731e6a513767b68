//! One Appointment, from the wire to what the cache stores: every check that keeps a wrong
//! visit off a clinician's day is here, apart from the page around it.

use super::text::{
    clean, comment_says_video, concept_label, concept_texts, describe, mentions_video,
    split_reference, valid_id, valid_type,
};
use super::*;

fn instant(v: &Text<'_>, field: &'static str) -> Result<Option<i64>, SkipReason> {
    match v.as_deref() {
        None => Ok(None),
        Some(s) => parse_instant(s).map(Some).ok_or(SkipReason::BadTime(field)),
    }
}

fn from_raw(raw: RawAppointment<'_>) -> Result<Appointment, SkipReason> {
    match raw.resource_type.as_deref() {
        Some("Appointment") => {}
        Some(other) => return Err(SkipReason::NotAppointment(type_name(other))),
        None => return Err(SkipReason::NoResourceType),
    }
    let id = raw.id.as_deref().ok_or(SkipReason::MissingId)?;
    if !valid_id(id) {
        return Err(SkipReason::BadId);
    }
    let status = raw.status.as_deref().ok_or(SkipReason::MissingStatus)?;
    let status = AppointmentStatus::parse(status).ok_or(SkipReason::UnknownStatus)?;
    let last_updated = instant(&raw.meta.and_then(|m| m.last_updated), "meta.lastUpdated")?;
    let (start, end) = match (instant(&raw.start, "start")?, instant(&raw.end, "end")?) {
        (Some(s), Some(e)) => (s, e),
        _ => return Err(SkipReason::NotScheduled),
    };
    if end < start {
        return Err(SkipReason::EndBeforeStart);
    }
    let participants = raw.participant.unwrap_or_default();
    if participants.is_empty() {
        return Err(SkipReason::NoParticipant);
    }
    let link = raw
        .extension
        .as_deref()
        .and_then(virtual_service)
        .or_else(|| {
            let c = raw.comment.as_deref();
            c.and_then(|c| link::find_in_text(c, LinkSource::Comment))
        })
        .or_else(|| {
            let p = raw.patient_instruction.as_deref();
            p.and_then(|p| link::find_in_text(p, LinkSource::PatientInstruction))
        });
    let services = raw.service_type.as_deref().unwrap_or_default();
    let visit_type = raw
        .appointment_type
        .as_ref()
        .and_then(concept_label)
        .or_else(|| services.first().and_then(concept_label));
    let video = raw
        .appointment_type
        .iter()
        .chain(services)
        .flat_map(concept_texts)
        .any(mentions_video)
        || raw.comment.as_deref().is_some_and(comment_says_video)
        || link.as_ref().is_some_and(|l| !l.source.is_text());
    let mut a = Appointment {
        id: id.to_string(),
        last_updated,
        status,
        start,
        end,
        visit_type,
        video,
        comment: raw
            .comment
            .as_deref()
            .and_then(|c| clean(c, MAX_COMMENT_CHARS, true)),
        patient_id: None,
        patient_display: None,
        clinicians: Vec::new(),
        participants: Vec::new(),
        link,
    };
    for p in participants {
        let role = p
            .kind
            .as_ref()
            .and_then(|k| k.first())
            .and_then(|c| c.coding.as_ref()?.first()?.code.as_deref())
            .and_then(|c| clean(c, 64, false));
        let actor = p.actor.as_ref();
        let display = actor
            .and_then(|x| x.display.as_deref())
            .and_then(|d| clean(d, MAX_DISPLAY_CHARS, false));
        let target = actor
            .and_then(|x| x.reference.as_deref())
            .and_then(split_reference);
        match target {
            Some(("Patient", pid)) if a.patient_id.is_none() => {
                a.patient_id = Some(pid.to_string());
                a.patient_display = display.clone();
            }
            Some(("Patient", _)) => {}
            Some((_, other)) => a.clinicians.push(other.to_string()),
            None => {}
        }
        a.participants.push(Participant {
            resource_type: target.map(|(t, _)| t.to_string()),
            id: target.map(|(_, i)| i.to_string()),
            display,
            role,
        });
    }
    Ok(a)
}

/// A resourceType for a message: only when it looks like one.
pub(super) fn type_name(s: &str) -> String {
    if valid_type(s) {
        s.to_string()
    } else {
        "unrecognised".into()
    }
}

/// One Appointment resource.
pub fn parse_appointment(json: &[u8]) -> Result<Appointment, SkipReason> {
    match serde_json::from_slice::<RawAppointment<'_>>(json) {
        Ok(raw) => from_raw(raw),
        Err(e) => Err(explain_failure(json, &e)),
    }
}

fn explain_failure(json: &[u8], e: &serde_json::Error) -> SkipReason {
    match serde_json::from_slice::<RawHead<'_>>(json) {
        Ok(h) => match h.resource_type.as_deref() {
            Some("Appointment") => SkipReason::Malformed(describe(e)),
            Some(other) => SkipReason::NotAppointment(type_name(other)),
            None => SkipReason::NoResourceType,
        },
        Err(_) => SkipReason::Malformed(describe(e)),
    }
}

pub(super) fn head_id(json: &[u8]) -> Option<String> {
    let h = serde_json::from_slice::<RawHead<'_>>(json).ok()?;
    h.id.filter(|i| valid_id(i)).map(|i| i.into_owned())
}
