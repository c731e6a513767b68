//! The video visit: Jitsi Meet room + token from the clinic, visit events (issue: video).
//! Only the error type exists yet, so the shell's error mapping is complete from day one.

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error("video visits are not available in this build yet")]
    NotAvailable,
}
