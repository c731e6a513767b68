//! The visit's own video link, for clinic servers without a telehealth join service (a stock
//! OpenEMR or any FHIR R4 server): read from the Appointment itself.
//!
//! Where it comes from, in order: the R4 backport of R5's `virtualService`
//! ([`VIRTUAL_SERVICE`]: `address` as a URL, or a Jitsi domain with the room in `sessionKey`),
//! then a link in `comment`, then in `patientInstruction`. Links from free text count only
//! where IT's policy says the clinic writes them there (`video.links_in_text`); that check, and
//! the domain allow-list, happen when the visit starts (video), not here: this module only
//! reads what the server wrote, strictly, and never keeps more than `domain` + `room`.
//!
//! What is dropped on purpose: the query and fragment of a link (Jitsi reads `#config.…`
//! overrides and `?jwt=` from them; a server-written link must not switch off the lobby or
//! smuggle a token), user info, and any path deeper than one room name.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::net::host::host_port;

/// `http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService`.
pub const VIRTUAL_SERVICE: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService";
/// Longest room name kept.
pub const MAX_ROOM_CHARS: usize = 128;

/// Which part of the Appointment the link was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum LinkSource {
    VirtualService,
    Comment,
    PatientInstruction,
}

impl LinkSource {
    /// Free text a person typed (only used where policy says so).
    pub fn is_text(self) -> bool {
        !matches!(self, Self::VirtualService)
    }
}

/// Why a link cannot be opened; each says it in a clinician's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub enum LinkProblem {
    #[error("the appointment's video link is not a secure (https) address")]
    NotHttps,
    #[error("the appointment's video link does not name a valid server")]
    BadHost,
    #[error("the appointment's video link does not name a meeting room Rounds can open")]
    BadRoom,
    #[error("the appointment's video service has no address")]
    NoAddress,
}

/// What the link points at.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LinkTarget {
    /// A Jitsi Meet room: `https://{domain}/{room}`.
    Jitsi { domain: String, room: String },
    /// The Appointment says it is a video visit, but its link cannot be used.
    Unusable { problem: LinkProblem },
}

/// A visit link read from an Appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitLink {
    pub source: LinkSource,
    pub target: LinkTarget,
}

impl std::fmt::Debug for LinkTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The room name is a capability (anyone with it can knock): never in a log.
        match self {
            Self::Jitsi { domain, .. } => write!(f, "Jitsi {{ domain: {domain}, room: _ }}"),
            Self::Unusable { problem } => write!(f, "Unusable({problem:?})"),
        }
    }
}

/// A room name as Jitsi keeps it: lower case (Jitsi folds case), `[a-z0-9_-]`.
fn room(s: &str) -> Option<String> {
    let r = s.to_ascii_lowercase();
    ((1..=MAX_ROOM_CHARS).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'))
    .then_some(r)
}

/// `https://host[:port]/room` (query and fragment ignored) → domain + room.
pub fn parse_url(s: &str) -> Result<(String, String), LinkProblem> {
    let u = Url::parse(s.trim()).map_err(|_| LinkProblem::BadHost)?;
    if u.scheme() != "https" {
        return Err(LinkProblem::NotHttps);
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(LinkProblem::BadHost);
    }
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return Err(LinkProblem::BadHost),
    };
    let domain = host_port(&host).ok_or(LinkProblem::BadHost)?;
    let path = u.path().trim_start_matches('/');
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.contains('/') {
        return Err(LinkProblem::BadRoom);
    }
    Ok((domain, room(path).ok_or(LinkProblem::BadRoom)?))
}

/// The `virtualService` extension's parts, as the Appointment carried them.
#[derive(Debug, Default)]
pub struct VirtualService<'a> {
    /// `address` as `valueUrl`/`valueUri`, or a `valueString` that is a URL or a bare domain.
    pub address: Option<&'a str>,
    /// `sessionKey`: the room, when `address` is only the domain.
    pub session_key: Option<&'a str>,
}

impl VirtualService<'_> {
    pub fn link(&self) -> VisitLink {
        let target = match self.read() {
            Ok((domain, room)) => LinkTarget::Jitsi { domain, room },
            Err(problem) => LinkTarget::Unusable { problem },
        };
        VisitLink {
            source: LinkSource::VirtualService,
            target,
        }
    }

    fn read(&self) -> Result<(String, String), LinkProblem> {
        let address = self.address.map(str::trim).filter(|a| !a.is_empty());
        let Some(address) = address else {
            return Err(LinkProblem::NoAddress);
        };
        if address.contains("://") {
            let (domain, from_path) = match parse_url(address) {
                // `https://meet.example.org/` + sessionKey: the room is the key.
                Err(LinkProblem::BadRoom) if self.session_key.is_some() => {
                    (parse_url(&format!("{address}x"))?.0, None)
                }
                Err(e) => return Err(e),
                Ok((d, r)) => (d, Some(r)),
            };
            return match (from_path, self.session_key) {
                (Some(r), _) => Ok((domain, r)),
                (None, Some(k)) => Ok((domain, room(k).ok_or(LinkProblem::BadRoom)?)),
                (None, None) => Err(LinkProblem::BadRoom),
            };
        }
        let domain = host_port(address).ok_or(LinkProblem::BadHost)?;
        let key = self.session_key.ok_or(LinkProblem::BadRoom)?;
        Ok((domain, room(key).ok_or(LinkProblem::BadRoom)?))
    }
}

/// The first `https://…` link in free text that names a Jitsi-style room (`host/room`); other
/// links (a form, a map) are passed over.
pub fn find_in_text(text: &str, source: LinkSource) -> Option<VisitLink> {
    let mut rest = text;
    while let Some(i) = rest.find("https://") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "<>\"'()[]{}".contains(c))
            .unwrap_or(tail.len());
        let candidate = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        if let Ok((domain, room)) = parse_url(candidate) {
            return Some(VisitLink {
                source,
                target: LinkTarget::Jitsi { domain, room },
            });
        }
        rest = &tail[end.max(8)..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(address: Option<&str>, key: Option<&str>) -> LinkTarget {
        VirtualService {
            address,
            session_key: key,
        }
        .link()
        .target
    }

    fn jitsi(d: &str, r: &str) -> LinkTarget {
        LinkTarget::Jitsi {
            domain: d.into(),
            room: r.into(),
        }
    }

    #[test]
    fn virtual_service_address_forms() {
        let want = jitsi("meet.example.org", "appt-42");
        assert_eq!(vs(Some("https://meet.example.org/appt-42"), None), want);
        assert_eq!(vs(Some("https://Meet.Example.org/Appt-42/"), None), want);
        assert_eq!(vs(Some("https://meet.example.org/"), Some("appt-42")), want);
        assert_eq!(vs(Some("meet.example.org"), Some("appt-42")), want);
        // Query and fragment never travel: no config overrides, no token from the link.
        assert_eq!(
            vs(
                Some("https://meet.example.org/appt-42?jwt=x#config.prejoinPageEnabled=false"),
                None
            ),
            want
        );
        assert_eq!(
            vs(Some("https://127.0.0.1:8443/appt-42"), None),
            jitsi("127.0.0.1:8443", "appt-42")
        );
    }

    #[test]
    fn virtual_service_refusals_are_named() {
        let p = |t| match t {
            LinkTarget::Unusable { problem } => Some(problem),
            _ => None,
        };
        use LinkProblem::*;
        assert_eq!(p(vs(None, None)), Some(NoAddress));
        assert_eq!(p(vs(Some("  "), Some("r"))), Some(NoAddress));
        assert_eq!(
            p(vs(Some("http://meet.example.org/appt"), None)),
            Some(NotHttps)
        );
        assert_eq!(
            p(vs(Some("https://u:p@meet.example.org/appt"), None)),
            Some(BadHost)
        );
        assert_eq!(
            p(vs(Some("https://meet.example.org/a/b"), None)),
            Some(BadRoom)
        );
        assert_eq!(
            p(vs(Some("https://meet.example.org/a%20b"), None)),
            Some(BadRoom)
        );
        assert_eq!(
            p(vs(Some("https://meet.example.org/"), None)),
            Some(BadRoom)
        );
        assert_eq!(p(vs(Some("meet.example.org"), None)), Some(BadRoom));
        assert_eq!(p(vs(Some("meet example"), Some("r"))), Some(BadHost));
        assert_eq!(p(vs(Some("javascript:alert(1)"), None)), Some(BadHost));
    }

    #[test]
    fn links_in_text() {
        let t = "Video follow-up. Join at https://meet.example.org/appt-7, or call.";
        let l = find_in_text(t, LinkSource::Comment).expect("link");
        assert_eq!(l.target, jitsi("meet.example.org", "appt-7"));
        assert_eq!(l.source, LinkSource::Comment);
        // A deeper path (a form) is passed over for the next link.
        let t = "Form: https://forms.example.org/a/b then (https://meet.example.org/room1).";
        let l = find_in_text(t, LinkSource::PatientInstruction).expect("link");
        assert_eq!(l.target, jitsi("meet.example.org", "room1"));
        assert!(find_in_text("http://meet.example.org/room", LinkSource::Comment).is_none());
        assert!(find_in_text("no link here https://", LinkSource::Comment).is_none());
        assert!(find_in_text("", LinkSource::Comment).is_none());
    }

    #[test]
    fn debug_never_shows_the_room() {
        let l = VirtualService {
            address: Some("https://meet.example.org/secret-room"),
            session_key: None,
        }
        .link();
        let d = format!("{l:?}");
        assert!(
            !d.contains("secret-room") && d.contains("meet.example.org"),
            "{d}"
        );
    }
}
