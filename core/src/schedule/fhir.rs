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

mod appointment;
mod bundle;
mod text;

pub use appointment::parse_appointment;
pub use bundle::{parse_bundle, parse_document};
pub(crate) use text::{clean, describe, valid_id};

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
