//! The schedule: FHIR R4 `Appointment`s from the clinic's OpenEMR, synced into an encrypted
//! local cache so the day view opens instantly, works offline, and never waits on the server.
//!
//! - [`fhir`]: strict-where-it-matters parsing of Appointments and search Bundles.
//! - [`cache`]: SQLCipher through sqlx; the key lives only in the OS keychain ([`KeyStore`]).
//! - [`sync`]: window + incremental sync (clinic-api.md §3.4), one transaction per page,
//!   resumable, one run at a time, progress on a watch channel.
//! - [`source`]: how pages are fetched ([`FhirSource`]); the real one is [`NetSource`] over
//!   `net::NetClient` with a caller-supplied [`TokenSource`] (renewed once on a 401).
//!
//! What the UI sees per visit is [`Visit`]. PHI (names, comments) exists only in the cache and
//! in `Visit`s; logs carry appointment ids and counts only, file names carry the profile id.
//!
//! **Video rule** ([`fhir::Appointment::video`]): a visit is a video visit when its
//! `appointmentType` or `serviceType` (any coding's code or display, or the text) mentions
//! video, telehealth, telemedicine, tele(-)visit, tele-health or virtual (case-insensitive).
//! The sandbox's demo seed uses the OpenEMR category `video_visit` / "Video Visit"; Cerner
//! sends serviceType "Video Visit". A comment counts only when its first word is one of those
//! ("Video follow-up", as in the OpenEMR-shaped contract example whose category is "Office
//! Visit"): older OpenEMR sends no category, and "patient refused video" must not count.
//! "Telephone" never matches.

pub mod cache;
pub mod fhir;
pub mod instant;
pub mod key;
pub mod link;
pub mod resources;
pub mod source;
pub mod sync;

use serde::Serialize;

pub use cache::{Cache, CacheOpen, Counts, Unreadable};
pub use fhir::{
    Appointment, AppointmentStatus, ParseError, Report, SkipReason, Skipped, parse_appointment,
    parse_bundle, parse_document,
};
pub use key::{CacheKey, KeyStore, MemoryKeyStore};
pub use source::{BoxFuture, FhirSource, NetSource, TokenSource, fhir_base};
pub use sync::{SyncMode, SyncOptions, SyncSummary, Syncer};

use crate::auth::AuthError;
use crate::net::NetError;
use crate::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Kept for the shell's error mapping while the schedule is not wired in.
    #[error("the schedule is not available in this build yet")]
    NotAvailable,
    /// 401 even after renewing the session once: the user must sign in again.
    #[error("the clinic server no longer accepts this sign-in; sign in again")]
    Unauthorized,
    /// 403: the account (or this app's client) lacks `user/Appointment.read`.
    #[error("this account is not allowed to read the schedule (permission missing)")]
    Forbidden,
    #[error("the clinic server does not know this schedule address (HTTP 404)")]
    NotFound,
    /// 429 or 5xx after the network client's own retries: try again later (backoff).
    #[error("the clinic server is busy or failing (HTTP {status}); Rounds will try again")]
    ServerBusy { status: u16 },
    #[error("the clinic server answered HTTP {status}")]
    Http { status: u16 },
    #[error("the clinic server sent a schedule page Rounds could not read: {0}")]
    BadPage(#[from] ParseError),
    /// A `next` link to another server: never followed (it would carry our token elsewhere).
    #[error("the clinic server pointed the next page at another server ({origin}); not followed")]
    ForeignLink { origin: String },
    /// One run at a time: the second caller is told, and watches the running one's progress.
    #[error("a schedule sync is already running")]
    AlreadyRunning,
    #[error("the local schedule cache failed: {0}")]
    Cache(String),
    #[error(transparent)]
    Net(NetError),
    #[error(transparent)]
    Vault(VaultError),
    /// The token source failed (no session, refresh refused, keychain).
    #[error(transparent)]
    Auth(Box<AuthError>),
}

/// The error classes the UI words differently (generated into TypeScript).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum SyncErrorKind {
    SignIn,
    Permission,
    ServerBusy,
    Server,
    BadData,
    ForeignLink,
    Network,
    Keychain,
    Cache,
    Other,
}

impl ScheduleError {
    pub fn kind(&self) -> SyncErrorKind {
        use SyncErrorKind as K;
        match self {
            Self::Unauthorized | Self::Auth(_) => K::SignIn,
            Self::Forbidden => K::Permission,
            Self::ServerBusy { .. } => K::ServerBusy,
            Self::NotFound | Self::Http { .. } => K::Server,
            Self::BadPage(_) => K::BadData,
            Self::ForeignLink { .. } => K::ForeignLink,
            Self::Net(_) => K::Network,
            Self::Vault(_) => K::Keychain,
            Self::Cache(_) => K::Cache,
            Self::NotAvailable | Self::AlreadyRunning => K::Other,
        }
    }

    /// Retrying will not help until the user acts (signs in, IT grants the scope).
    pub fn needs_user(&self) -> bool {
        matches!(
            self.kind(),
            SyncErrorKind::SignIn | SyncErrorKind::Permission
        )
    }
}

/// One visit as the day view shows it. Times are unix seconds (UTC); the UI formats them in
/// the computer's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Visit {
    pub id: String,
    // Plain JS numbers for the UI (u32 seconds last until 2106), as `SessionState::until`.
    #[specta(type = u32)]
    pub start: i64,
    #[specta(type = u32)]
    pub end: i64,
    /// The patient's name (`actor.display`, else the cached Patient name); `None` until known.
    pub patient: Option<String>,
    /// `appointmentType.coding[0].display`, else its text, else the first serviceType's.
    pub visit_type: Option<String>,
    pub status: AppointmentStatus,
    pub video: bool,
    pub comment: Option<String>,
    /// Where the visit's own link was read from, when it carries one (never the link: the
    /// room stays in the core).
    pub link: Option<link::LinkSource>,
    /// Since when the patient has been waiting (unix seconds): the clinic marked them arrived
    /// or checked in (the first time this cache saw it), or they knock in the open visit's
    /// lobby; `None` when nobody waits (see `app/waiting.rs`).
    #[specta(type = Option<u32>)]
    pub waiting_since: Option<i64>,
}

/// Where a sync is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum SyncPhase {
    Idle,
    /// Downloading the whole window (first sync, and every 15 min for deletions).
    Window,
    /// Downloading changes since the last sync.
    Incremental,
    Done,
    Failed,
}

/// Progress of the current (or last) sync, for a status line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub pages: u32,
    pub appointments: u32,
    pub skipped: u32,
    #[specta(type = Option<u32>)]
    pub last_synced: Option<i64>,
    pub error: Option<SyncErrorKind>,
}

impl Default for SyncProgress {
    fn default() -> Self {
        Self {
            phase: SyncPhase::Idle,
            pages: 0,
            appointments: 0,
            skipped: 0,
            last_synced: None,
            error: None,
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;
