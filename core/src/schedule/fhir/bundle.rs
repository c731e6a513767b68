//! A search page or a file, entry by entry: one bad entry is skipped with its reason, the rest
//! kept. Apart from the one-Appointment checks so the paging rules read on their own.

use super::appointment::{head_id, type_name};
use super::*;

/// A search page: a `searchset` (FHIR) or `collection` (OpenEMR's bundle helper) Bundle.
pub fn parse_bundle(json: &[u8]) -> Result<Report, ParseError> {
    let b: RawBundle<'_> = serde_json::from_slice(json).map_err(|e| match e.is_data() {
        true => ParseError::Malformed(describe(&e)),
        false => ParseError::NotJson(describe(&e)),
    })?;
    match b.resource_type.as_deref() {
        Some("Bundle") => {}
        other => return Err(ParseError::WrongResource(type_name(other.unwrap_or("-")))),
    }
    match b.kind.as_deref() {
        Some("searchset" | "collection") => {}
        Some(k) => return Err(ParseError::WrongBundleType(type_name_lower(k))),
        None => return Err(ParseError::Malformed("no Bundle type".into())),
    }
    let mut r = Report {
        server_time: b
            .meta
            .and_then(|m| m.last_updated)
            .and_then(|t| parse_instant(&t)),
        total: b.total,
        ..Report::default()
    };
    for l in b.link.unwrap_or_default() {
        if l.relation.as_deref() == Some("next")
            && let Some(u) = l.url
        {
            if r.next.is_some() {
                return Err(ParseError::Malformed("two `next` links".into()));
            }
            r.next = Some(u.into_owned());
        }
    }
    for (index, raw) in b.entry.unwrap_or_default().into_iter().enumerate() {
        let skip = |id, reason| Skipped { index, id, reason };
        let entry: RawEntry<'_> = match serde_json::from_str(raw.get()) {
            Ok(e) => e,
            Err(_) => {
                r.skipped.push(skip(None, SkipReason::NoResource));
                continue;
            }
        };
        let Some(res) = entry.resource else {
            r.skipped.push(skip(None, SkipReason::NoResource));
            continue;
        };
        let bytes = res.get().as_bytes();
        match parse_appointment(bytes) {
            Ok(a) => r.appointments.push(a),
            Err(SkipReason::NotAppointment(t))
                if t == "OperationOutcome"
                    && entry.search.and_then(|s| s.mode).as_deref() == Some("outcome") =>
            {
                r.skipped.push(skip(head_id(bytes), SkipReason::Outcome))
            }
            Err(reason) => r.skipped.push(skip(head_id(bytes), reason)),
        }
    }
    Ok(r)
}

fn type_name_lower(s: &str) -> String {
    if (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        s.to_string()
    } else {
        "unrecognised".into()
    }
}

/// What a file holds: a Bundle's report, or one Appointment as a one-entry report.
pub fn parse_document(json: &[u8]) -> Result<Report, ParseError> {
    let head: RawHead<'_> = serde_json::from_slice(json).map_err(|e| match e.is_data() {
        true => ParseError::WrongResource("(not a JSON object)".into()),
        false => ParseError::NotJson(describe(&e)),
    })?;
    match head.resource_type.as_deref() {
        Some("Bundle") => parse_bundle(json),
        Some("Appointment") => {
            let mut r = Report::default();
            match parse_appointment(json) {
                Ok(a) => r.appointments.push(a),
                Err(reason) => r.skipped.push(Skipped {
                    index: 0,
                    id: head_id(json),
                    reason,
                }),
            }
            Ok(r)
        }
        other => Err(ParseError::WrongResource(type_name(other.unwrap_or("-")))),
    }
}
