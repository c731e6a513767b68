//! The local audit log of security-relevant events (times and kinds, never PHI or secrets).
//! Only the error type exists yet, so the shell's error mapping is complete from day one.

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("could not write the audit log: {0}")]
    Write(String),
}
