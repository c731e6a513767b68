//! The schedule: FHIR R4 `Appointment` sync into the encrypted local cache (issue: schedule).
//! Only the error type exists yet, so the shell's error mapping is complete from day one.

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("the schedule is not available in this build yet")]
    NotAvailable,
}
