//! The core's one error type: each module's own enum, gathered so the shell maps them once.

use crate::{
    audit::AuditError, auth::AuthError, config::ConfigError, net::NetError, policy::PolicyError,
    schedule::ScheduleError, vault::VaultError, video::VideoError,
};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// An update refused or not installed (issue 17); the running version is unchanged.
    #[error(transparent)]
    Update(#[from] crate::update::UpdateError),
    /// A password change that did not happen (issue 10); the session is unchanged.
    #[error(transparent)]
    Password(#[from] crate::password::PasswordChangeError),
    #[error("no clinic server is set up")]
    NoServer,
    /// Rounds is locked (idle or "Lock now"): nothing with patient data is handed out.
    #[error("Rounds is locked")]
    Locked,
    #[error("Rounds is not locked")]
    NotLocked,
    /// Only the clinician whose session is locked can unlock it.
    #[error("only {user} can unlock this session")]
    LockedForOther { user: String },
    /// A clinic account could not be added, switched or removed; `reason` is for the clinician.
    #[error("clinic account: {reason}")]
    InvalidProfile { reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}
