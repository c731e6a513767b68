//! Why a password change did not happen (issue 10). Here, not in `app`, so that `error` can
//! gather it without `error` and `app` importing each other; `app` re-exports it.

use super::Problem;

/// Why a password change did not happen. Tokens are never touched on any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordChangeError {
    /// Refused by Rounds before anything was sent (the meter's problems).
    #[error("the new password is not strong enough ({})", problem_list(.problems))]
    WeakLocally { problems: Vec<Problem> },
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("the code from the authenticator app is required")]
    CodeRequired,
    #[error("the code is wrong or was already used")]
    WrongCode,
    /// The server's own rules: subset of `min_length`, `max_length`, `strength`.
    #[error("the clinic refused the new password ({})", violations.join(", "))]
    TooWeak { violations: Vec<String> },
    #[error("the new password was used before (the clinic refuses the last {history_count})")]
    Reused { history_count: u32 },
    #[error("the account is locked after too many failed attempts")]
    AccountLocked,
    /// The clinic has no password-change endpoint (plain OpenEMR): change it on its web page.
    #[error("this clinic server does not offer password changes in Rounds")]
    NotSupported,
    /// Still refused after one renewal: sign in again.
    #[error("the session has expired; sign in again")]
    SessionExpired,
    #[error("the clinic server answered HTTP {status}")]
    Server { status: u16 },
}

fn problem_list(p: &[Problem]) -> String {
    p.iter()
        .map(|p| match p {
            Problem::TooShort => "too short",
            Problem::TooLong => "too long",
            Problem::Common => "a common password",
            Problem::PersonalWords => "contains your user name or the clinic's name",
            Problem::Guessable => "easy to guess",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem_without_any_secret() {
        let e = PasswordChangeError::WeakLocally {
            problems: vec![Problem::TooShort, Problem::Common],
        };
        assert_eq!(
            e.to_string(),
            "the new password is not strong enough (too short, a common password)"
        );
        let e = PasswordChangeError::TooWeak {
            violations: vec!["strength".into()],
        };
        assert!(e.to_string().contains("strength"));
    }
}
