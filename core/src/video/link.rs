//! Which Jitsi server a visit may open: IT's allow-list (`video.allowed_domains`) applied to
//! the clinic's telehealth answer and to the Appointment's own link (schedule::link).
//!
//! Plain functions: the rules are tested here without a network, and `app/video.rs` only calls
//! them. An empty allow-list keeps the old trust (the clinic's own telehealth service names
//! its server) but opens no link from an appointment: a link anyone could write into a
//! schedule must not pick the server a clinician's camera streams to.

use super::{JoinTicket, VideoError};
use crate::policy::VideoEffective;
use crate::schedule::link::{LinkTarget, VisitLink};

/// How long after the visit's end a link visit may still be joined (as the telehealth
/// service's window, clinic-api §4.1).
pub const LINK_GRACE_SECONDS: i64 = 30 * 60;

/// `domain` (`host[:port]`, lower case) against the rules: exact, or `*.example.org` for any
/// subdomain of example.org (not example.org itself; a port must then be the default one).
pub fn domain_allowed(domain: &str, rules: &[String]) -> bool {
    rules.iter().any(|r| match r.strip_prefix("*.") {
        Some(suffix) => domain
            .strip_suffix(suffix)
            .is_some_and(|head| head.len() > 1 && head.ends_with('.') && !head.contains(':')),
        None => r == domain,
    })
}

/// The clinic's telehealth answer: refused when IT set an allow-list that does not name it.
pub fn check_ticket(t: &JoinTicket, policy: &VideoEffective) -> Result<(), VideoError> {
    if policy.allowed_domains.is_empty() || domain_allowed(t.domain(), &policy.allowed_domains) {
        Ok(())
    } else {
        Err(VideoError::DomainNotAllowed {
            domain: t.domain().to_string(),
        })
    }
}

/// A ticket from the Appointment's own link, or why not. `None` link, or a free-text link
/// where policy does not read them, means the visit has no link at all ([`VideoError::NotOffered`]).
pub fn ticket_from_link(
    appointment_id: &str,
    link: Option<&VisitLink>,
    end: i64,
    policy: &VideoEffective,
) -> Result<JoinTicket, VideoError> {
    let link = link.filter(|l| !l.source.is_text() || policy.links_in_text);
    match link.map(|l| &l.target) {
        None => Err(VideoError::NotOffered),
        Some(LinkTarget::Unusable { problem }) => Err(VideoError::BadLink(*problem)),
        Some(LinkTarget::Jitsi { domain, room }) => {
            if !domain_allowed(domain, &policy.allowed_domains) {
                return Err(VideoError::DomainNotAllowed {
                    domain: domain.clone(),
                });
            }
            Ok(JoinTicket::from_link(
                appointment_id,
                domain,
                room,
                end + LINK_GRACE_SECONDS,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::link::{LinkProblem, LinkSource};

    fn rules(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn allow_list_matching() {
        let r = rules(&["meet.example.org", "*.video.example.net", "127.0.0.1:8443"]);
        for ok in [
            "meet.example.org",
            "a.video.example.net",
            "b.a.video.example.net",
            "127.0.0.1:8443",
        ] {
            assert!(domain_allowed(ok, &r), "{ok}");
        }
        for bad in [
            "meet.example.org:8443",
            "evil-meet.example.org",
            "meet.example.org.evil.com",
            "video.example.net",
            "xvideo.example.net",
            "a.video.example.net:444",
            "127.0.0.1",
            "127.0.0.1:8444",
        ] {
            assert!(!domain_allowed(bad, &r), "{bad}");
        }
        assert!(!domain_allowed("meet.example.org", &[]));
    }

    fn link(source: LinkSource, domain: &str) -> VisitLink {
        VisitLink {
            source,
            target: LinkTarget::Jitsi {
                domain: domain.into(),
                room: "appt-1".into(),
            },
        }
    }

    fn policy(allowed: &[&str], text: bool) -> VideoEffective {
        VideoEffective {
            allowed_domains: rules(allowed),
            links_in_text: text,
            ..VideoEffective::default()
        }
    }

    #[test]
    fn link_tickets_follow_policy() {
        let vs = link(LinkSource::VirtualService, "meet.example.org");
        let t = ticket_from_link("a1", Some(&vs), 1000, &policy(&["meet.example.org"], false))
            .expect("allowed");
        assert_eq!(
            (t.domain(), t.room(), t.jwt().is_none()),
            ("meet.example.org", "appt-1", true)
        );
        assert!(
            !t.moderator(),
            "host controls come from Jitsi's own role event"
        );
        assert_eq!(t.expires_at(), 1000 + LINK_GRACE_SECONDS);
        // Not on the list, or no list at all: refused, naming the server.
        for p in [policy(&["other.example.org"], false), policy(&[], false)] {
            match ticket_from_link("a1", Some(&vs), 0, &p) {
                Err(VideoError::DomainNotAllowed { domain }) => {
                    assert_eq!(domain, "meet.example.org")
                }
                other => panic!("{other:?}"),
            }
        }
        // Free text counts only where policy says the clinic writes links there.
        let c = link(LinkSource::Comment, "meet.example.org");
        assert!(matches!(
            ticket_from_link("a1", Some(&c), 0, &policy(&["meet.example.org"], false)),
            Err(VideoError::NotOffered)
        ));
        assert!(ticket_from_link("a1", Some(&c), 0, &policy(&["meet.example.org"], true)).is_ok());
        let bad = VisitLink {
            source: LinkSource::VirtualService,
            target: LinkTarget::Unusable {
                problem: LinkProblem::NotHttps,
            },
        };
        assert!(matches!(
            ticket_from_link("a1", Some(&bad), 0, &policy(&["meet.example.org"], true)),
            Err(VideoError::BadLink(LinkProblem::NotHttps))
        ));
        assert!(matches!(
            ticket_from_link("a1", None, 0, &policy(&["meet.example.org"], true)),
            Err(VideoError::NotOffered)
        ));
    }
}
