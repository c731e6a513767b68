//! The video visit: a Jitsi Meet room + token from the clinic ([`join()`]), and the visit as
//! the core follows it from the meeting's IFrame API events ([`VisitState`]).
//!
//! - [`join`]: `POST {server}/apis/{site}/clinic/telehealth/{id}/join` (clinic-api §4.1) with
//!   the session's bearer token (renewed once on a 401). The answer is validated strictly
//!   before it becomes a [`JoinTicket`]: a domain that is not a bare `host[:port]`, an odd room
//!   name or token is refused, never handed to the view.
//! - [`state`]: [`VisitEvent`] (what the view reports), [`VisitState::apply`] (pure; returns
//!   the [`AuditEntry`](crate::audit::AuditEntry)s to append), [`VisitView`] (what the UI
//!   draws; never the token), and [`HostCommand`] (the only meeting commands the view may run,
//!   mapped to Jitsi's `executeCommand` names and checked against the state).
//!
//! Logs carry the appointment id and outcome kinds only: never the room name, never the JWT.

pub mod devices;
pub mod join;
pub mod launch;
pub mod link;
pub mod page;
pub mod permissions;
pub mod state;
pub mod window;

pub use join::{JoinTicket, join, join_url};
pub use page::{KnockNotice, PageHandle, PageOptions, VisitPage};
pub use state::{
    E2ee, FailReason, HostCommand, Knock, VisitEvent, VisitPhase, VisitState, VisitView,
};

use crate::auth::AuthError;
use crate::net::NetError;

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// Kept for the shell's error mapping (a build or platform without video).
    #[error("video visits are not available in this build")]
    NotAvailable,
    /// The appointment id is not id-shaped (`[A-Za-z0-9-]{1,64}`); nothing was sent.
    #[error("this appointment cannot be joined (its id is not valid)")]
    BadAppointmentId,
    /// 401 even after renewing the session once.
    #[error("the clinic server no longer accepts this sign-in; sign in again")]
    SignInAgain,
    /// 403 `not_a_participant`.
    #[error("you are not a participant of this visit")]
    NotAParticipant,
    /// 404 `not_found`.
    #[error("the clinic server does not know this appointment")]
    NotFound,
    /// 404 without `not_found`: the server has no telehealth join service (stock OpenEMR).
    #[error("this clinic server does not offer video visits")]
    NotOffered,
    /// 409 `appointment_not_active` (cancelled, no-show, fulfilled, entered in error).
    #[error("this visit is no longer active (cancelled or finished)")]
    NotActive,
    /// 409 `outside_join_window`; unix seconds when the server said (it should).
    #[error("this visit cannot be joined now")]
    OutsideWindow {
        opens_at: Option<i64>,
        closes_at: Option<i64>,
    },
    /// 429 / 5xx.
    #[error("the clinic server is busy or failing (HTTP {status}); try again")]
    ServerBusy { status: u16 },
    /// Any other refusal; `error` is the server's code when it was a plain `[a-z0-9_]` word.
    #[error("the clinic server refused the visit (HTTP {status} `{error}`)")]
    Server { status: u16, error: String },
    /// A 2xx answer that is not a room Rounds will open (`what` names the field, never its
    /// value).
    #[error("the clinic server sent a video room Rounds will not open ({what})")]
    BadAnswer { what: &'static str },
    /// The session's token could not be had (no session, refresh refused, keychain).
    #[error(transparent)]
    Auth(Box<AuthError>),
    #[error(transparent)]
    Net(#[from] NetError),
    /// The video origin failed Rounds' TLS checks (hospital CA, pins): the token never went.
    #[error("the clinic's video service failed Rounds' security checks: {detail}")]
    Untrusted { detail: String },
    /// The video server is not on IT's allow-list (`video.allowed_domains`); nothing went
    /// there. The domain is not PHI: the clinician can tell IT which one.
    #[error("the video server {domain} is not one your organisation allows")]
    DomainNotAllowed { domain: String },
    /// The Appointment's own link cannot be opened (named in plain words).
    #[error(transparent)]
    BadLink(crate::schedule::link::LinkProblem),
    /// The local visit page could not be started (no loopback port, no randomness).
    #[error("the visit page could not be started: {0}")]
    Page(String),
}

impl VideoError {
    /// A short code for logs and the audit log (no values).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAvailable => "not_available",
            Self::BadAppointmentId => "bad_appointment_id",
            Self::SignInAgain => "sign_in_again",
            Self::NotAParticipant => "not_a_participant",
            Self::NotFound => "not_found",
            Self::NotOffered => "not_offered",
            Self::NotActive => "appointment_not_active",
            Self::OutsideWindow { .. } => "outside_join_window",
            Self::ServerBusy { .. } => "server_busy",
            Self::Server { .. } => "server",
            Self::BadAnswer { .. } => "bad_answer",
            Self::Auth(_) => "auth",
            Self::Net(_) => "network",
            Self::Page(_) => "page",
            Self::Untrusted { .. } => "untrusted_video_server",
            Self::DomainNotAllowed { .. } => "domain_not_allowed",
            Self::BadLink(_) => "bad_link",
        }
    }

    /// The audit line for a refused join.
    pub fn audit_entry(&self, appointment_id: &str, now: i64) -> crate::audit::AuditEntry {
        crate::audit::AuditEntry::new(
            now,
            crate::audit::AuditKind::VisitTicketRefused,
            appointment_id,
        )
        .code("reason", self.code())
    }
}
