//! FHIR R4 `Appointment`s and the `Bundle`s that carry them, as Rounds reads them.
//!
//! Strict where a mistake would put a wrong visit on a clinician's day (resourceType, id,
//! status, start/end instants with offsets, participants' types), lenient elsewhere (unknown
//! fields and extensions are ignored). A Bundle is parsed entry by entry: one bad entry is
//! skipped with a reason that never quotes the entry's content (so a reason can go to the log),
//! the rest of the page is kept. Typed structs that borrow from the page: faster than
//! `serde_json::Value` and no copy of strings that need no unescaping. serde_json's recursion
//! limit (128) turns hostile nesting into an error instead of a stack overflow.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::instant::parse_instant;
use super::link::{self, LinkSource, VisitLink};

/// Longest comment kept (characters); the rest is cut, not refused.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// Longest display text kept (names, visit types).
pub const MAX_DISPLAY_CHARS: usize = 200;

/// FHIR R4 AppointmentStatus (required binding: any other code is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum AppointmentStatus {
    Proposed,
    Pending,
    Booked,
    Arrived,
    Fulfilled,
    Cancelled,
    Noshow,
    EnteredInError,
    CheckedIn,
    Waitlist,
}

impl AppointmentStatus {
    /// The patient is there: OpenEMR's `@`/`~` (arrived) and `<`/`+` (checked in), which a
    /// patient portal check-in sets (clinic-api §3.3).
    pub fn is_waiting(self) -> bool {
        matches!(self, Self::Arrived | Self::CheckedIn)
    }

    pub const ALL: [Self; 10] = [
        Self::Proposed,
        Self::Pending,
        Self::Booked,
        Self::Arrived,
        Self::Fulfilled,
        Self::Cancelled,
        Self::Noshow,
        Self::EnteredInError,
        Self::CheckedIn,
        Self::Waitlist,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Pending => "pending",
            Self::Booked => "booked",
            Self::Arrived => "arrived",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
            Self::Noshow => "noshow",
            Self::EnteredInError => "entered-in-error",
            Self::CheckedIn => "checked-in",
            Self::Waitlist => "waitlist",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One participant as Rounds understood it (the CLI shows these; the cache keeps ids only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// `Patient`, `Practitioner`, `Person`, `Location`, …; `None` for contained (`#x`) or
    /// display-only actors.
    pub resource_type: Option<String>,
    pub id: Option<String>,
    pub display: Option<String>,
    /// `type[0].coding[0].code` (`PART`, `PPRF`, `LOC`, `ATND`, …).
    pub role: Option<String>,
}

/// An Appointment that passed every check: what the cache stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: String,
    /// `meta.lastUpdated` (unix seconds); absent in many published examples.
    pub last_updated: Option<i64>,
    pub status: AppointmentStatus,
    pub start: i64,
    pub end: i64,
    pub visit_type: Option<String>,
    pub video: bool,
    pub comment: Option<String>,
    /// The first `Patient` participant's id, and its `actor.display` when the server sent one.
    pub patient_id: Option<String>,
    pub patient_display: Option<String>,
    /// Ids of every other referenced participant: the signed-in clinician is matched by uuid
    /// against these, whatever the resource type (OpenEMR uses `Person/` without an NPI).
    pub clinicians: Vec<String>,
    pub participants: Vec<Participant>,
    /// The visit's own link (`virtualService`, else a link in `comment`/`patientInstruction`),
    /// for servers without a telehealth join service; see [`link`].
    pub link: Option<VisitLink>,
}

/// Why an entry was skipped. The text names fields, never their values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    #[error("the entry is not a JSON object with a resource")]
    NoResource,
    #[error("the resource has no resourceType")]
    NoResourceType,
    #[error("not an Appointment ({0})")]
    NotAppointment(String),
    #[error("a server message (OperationOutcome), not an appointment")]
    Outcome,
    #[error("no id")]
    MissingId,
    #[error("the id is not a FHIR id")]
    BadId,
    #[error("no status")]
    MissingStatus,
    #[error("status is not an R4 AppointmentStatus code")]
    UnknownStatus,
    #[error("no start/end time (not scheduled yet)")]
    NotScheduled,
    #[error("`{0}` is not a FHIR instant with a time zone")]
    BadTime(&'static str),
    #[error("ends before it starts")]
    EndBeforeStart,
    #[error("no participant (FHIR requires at least one)")]
    NoParticipant,
    #[error("malformed: {0}")]
    Malformed(String),
}

/// A skipped entry: its position in the Bundle and its id when one could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub index: usize,
    pub id: Option<String>,
    pub reason: SkipReason,
}

/// What one page (or file) held.
#[derive(Debug, Default)]
pub struct Report {
    pub appointments: Vec<Appointment>,
    pub skipped: Vec<Skipped>,
    /// The `next` link exactly as sent (the caller checks its origin before following it).
    pub next: Option<String>,
    /// The Bundle's `meta.lastUpdated`: the server's clock when it answered.
    pub server_time: Option<i64>,
    /// The Bundle's `total`: how many entries the whole search has.
    pub total: Option<u64>,
}

/// The document as a whole is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not valid JSON: {0}")]
    NotJson(String),
    #[error("not a FHIR Bundle or Appointment (resourceType {0})")]
    WrongResource(String),
    #[error("a Bundle of type `{0}` is not a search result")]
    WrongBundleType(String),
    #[error("the Bundle is malformed: {0}")]
    Malformed(String),
}

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize)]
struct RawMeta<'a> {
    #[serde(rename = "lastUpdated", borrow)]
    last_updated: Text<'a>,
}

#[derive(Deserialize)]
struct RawCoding<'a> {
    #[serde(borrow)]
    code: Text<'a>,
    #[serde(borrow)]
    display: Text<'a>,
}

#[derive(Deserialize)]
struct RawConcept<'a> {
    #[serde(borrow)]
    coding: Option<Vec<RawCoding<'a>>>,
    #[serde(borrow)]
    text: Text<'a>,
}

#[derive(Deserialize)]
struct RawReference<'a> {
    #[serde(borrow)]
    reference: Text<'a>,
    #[serde(borrow)]
    display: Text<'a>,
}

#[derive(Deserialize)]
struct RawParticipant<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Vec<RawConcept<'a>>>,
    #[serde(borrow)]
    actor: Option<RawReference<'a>>,
}

#[derive(Deserialize)]
struct RawAppointment<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Text<'a>,
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    meta: Option<RawMeta<'a>>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    start: Text<'a>,
    #[serde(borrow)]
    end: Text<'a>,
    #[serde(rename = "appointmentType", borrow)]
    appointment_type: Option<RawConcept<'a>>,
    #[serde(rename = "serviceType", borrow)]
    service_type: Option<Vec<RawConcept<'a>>>,
    #[serde(borrow)]
    participant: Option<Vec<RawParticipant<'a>>>,
    #[serde(borrow)]
    comment: Text<'a>,
    #[serde(rename = "patientInstruction", borrow)]
    patient_instruction: Text<'a>,
    /// Read one by one and leniently: an odd extension of another vendor is ignored.
    #[serde(borrow)]
    extension: Option<Vec<&'a RawValue>>,
}

/// An extension as far as `virtualService` needs it (values of other types are ignored).
#[derive(Deserialize)]
struct RawExtension<'a> {
    #[serde(default, borrow, deserialize_with = "lenient")]
    url: Text<'a>,
    #[serde(default, borrow)]
    extension: Option<Vec<RawExtension<'a>>>,
    #[serde(rename = "valueUrl", default, borrow, deserialize_with = "lenient")]
    value_url: Text<'a>,
    #[serde(rename = "valueUri", default, borrow, deserialize_with = "lenient")]
    value_uri: Text<'a>,
    #[serde(rename = "valueString", default, borrow, deserialize_with = "lenient")]
    value_string: Text<'a>,
}

impl RawExtension<'_> {
    fn value(&self) -> Option<&str> {
        self.value_url
            .as_deref()
            .or(self.value_uri.as_deref())
            .or(self.value_string.as_deref())
    }
}

/// The `virtualService` extension, when there is one (the first; R5 allows several, Rounds
/// opens one room).
fn virtual_service(exts: &[&RawValue]) -> Option<VisitLink> {
    for raw in exts {
        let Ok(e) = serde_json::from_str::<RawExtension<'_>>(raw.get()) else {
            continue;
        };
        if e.url.as_deref() != Some(link::VIRTUAL_SERVICE) {
            continue;
        }
        let parts = e.extension.as_deref().unwrap_or_default();
        let part = |names: &[&str]| {
            parts
                .iter()
                .find(|p| p.url.as_deref().is_some_and(|u| names.contains(&u)))
                .and_then(RawExtension::value)
        };
        let vs = link::VirtualService {
            address: part(&["address", "addressUrl", "addressString"]),
            session_key: part(&["sessionKey"]),
        };
        return Some(vs.link());
    }
    None
}

/// Read when the full parse failed, to name the entry (type, id) in the skip reason.
#[derive(Deserialize)]
struct RawHead<'a> {
    #[serde(rename = "resourceType", default, borrow, deserialize_with = "lenient")]
    resource_type: Text<'a>,
    #[serde(default, borrow, deserialize_with = "lenient")]
    id: Text<'a>,
}

/// A string, or nothing when the value is of another type.
fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S<'a> {
        Str(#[serde(borrow)] Cow<'a, str>),
        Other(serde::de::IgnoredAny),
    }
    Ok(match S::deserialize(d)? {
        S::Str(s) => Some(s),
        S::Other(_) => None,
    })
}

#[derive(Deserialize)]
struct RawLink<'a> {
    #[serde(borrow)]
    relation: Text<'a>,
    #[serde(borrow)]
    url: Text<'a>,
}

#[derive(Deserialize)]
struct RawBundle<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Text<'a>,
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    meta: Option<RawMeta<'a>>,
    total: Option<u64>,
    #[serde(borrow)]
    link: Option<Vec<RawLink<'a>>>,
    #[serde(borrow)]
    entry: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct RawSearch<'a> {
    #[serde(borrow)]
    mode: Text<'a>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow)]
    resource: Option<&'a RawValue>,
    #[serde(borrow)]
    search: Option<RawSearch<'a>>,
}

/// serde_json's message without any quoted input: the position and what was expected only
/// (the offending value could be a patient's name).
pub(crate) fn describe(e: &serde_json::Error) -> String {
    let at = format!("at line {} column {}", e.line(), e.column());
    if !e.is_data() {
        let msg = e.to_string();
        return match msg.rfind(" at line ") {
            Some(i) => format!("{} {at}", &msg[..i]),
            None => msg,
        };
    }
    let msg = e.to_string();
    let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
    if msg.starts_with("missing field `") || msg.starts_with("duplicate field `") {
        return format!("{msg} {at}");
    }
    let head = msg.split(':').next().unwrap_or("invalid data");
    match msg.rfind(", expected ") {
        Some(i) => format!("{head} (expected {}) {at}", &msg[i + 11..]),
        None => format!("{head} {at}"),
    }
}

/// A FHIR `id`: `[A-Za-z0-9-.]{1,64}`. Anything else is refused: it goes into URLs and logs.
pub(crate) fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn valid_type(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.as_bytes()[0].is_ascii_uppercase()
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `Type/id`, an absolute `…/Type/id`, or `Type/id/_history/n` → (type, id).
pub(crate) fn split_reference(r: &str) -> Option<(&str, &str)> {
    let r = r.split("/_history/").next().unwrap_or(r);
    let mut it = r.rsplit('/');
    let id = it.next()?;
    let ty = it.next()?;
    (valid_type(ty) && valid_id(id)).then_some((ty, id))
}

/// Text for display: control characters (terminal escapes included) become spaces, and at
/// most `max` characters are kept. Newlines and tabs stay when `multiline`.
pub(crate) fn clean(s: &str, max: usize, multiline: bool) -> Option<String> {
    let out: String = s
        .chars()
        .take(max)
        .map(|c| {
            let keep = multiline && (c == '\n' || c == '\t');
            if c.is_control() && !keep { ' ' } else { c }
        })
        .collect();
    let t = out.trim();
    (!t.is_empty()).then(|| t.to_string())
}

const VIDEO_WORDS: [&str; 7] = [
    "video",
    "telehealth",
    "telemedicine",
    "televisit",
    "tele-visit",
    "tele-health",
    "virtual",
];

fn mentions_video(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    VIDEO_WORDS.iter().any(|w| l.contains(w))
}

/// A comment that *starts* with a video word ("Video follow-up", "Telehealth check"): free
/// text elsewhere in a comment ("refused video") must not turn a visit into a video visit.
fn comment_says_video(c: &str) -> bool {
    let first = c.split_whitespace().next().unwrap_or("");
    let first = first.to_ascii_lowercase();
    VIDEO_WORDS.iter().any(|w| first.starts_with(w))
}

fn concept_texts<'b>(c: &'b RawConcept<'_>) -> impl Iterator<Item = &'b str> + 'b {
    let codings = c.coding.iter().flatten();
    codings
        .flat_map(|k| [k.code.as_deref(), k.display.as_deref()])
        .chain(std::iter::once(c.text.as_deref()))
        .flatten()
}

fn concept_label(c: &RawConcept<'_>) -> Option<String> {
    let first = c.coding.as_ref().and_then(|v| v.first());
    first
        .and_then(|k| k.display.as_deref())
        .or(c.text.as_deref())
        .and_then(|s| clean(s, MAX_DISPLAY_CHARS, false))
}

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
fn type_name(s: &str) -> String {
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

fn head_id(json: &[u8]) -> Option<String> {
    let h = serde_json::from_slice::<RawHead<'_>>(json).ok()?;
    h.id.filter(|i| valid_id(i)).map(|i| i.into_owned())
}

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
