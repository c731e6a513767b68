//! Password strength while typing (issue 10), NIST SP 800-63B style: length (policy minimum, at
//! least 8; up to 128, long passphrases welcome), no composition rules, and a check against
//! common and breached passwords, the clinician's own context words (user name, clinic) and a
//! guess estimate. The lists are the ones inside the `zxcvbn` crate and a filter of ~4.4 million
//! leaked passwords ([`breached`]), both built into the binary: nothing downloaded at run time.
//!
//! The result carries no part of the password: a score, what is wrong (as codes) and advice.

use serde::Serialize;

pub mod breached;
mod change_error;

pub use change_error::PasswordChangeError;

/// Longest password checked (and accepted): NIST asks for at least 64.
pub const MAX_LEN: usize = 128;
/// zxcvbn score needed: 3 = more than 10^8 guesses (resists online and slowed offline attack).
const MIN_SCORE: u8 = 3;
/// Shown when the password is in the leaked-password filter.
const LEAKED_ADVICE: &str = "This password matches Rounds' list of leaked passwords. Choose another, for example a few unrelated words.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Problem {
    TooShort,
    TooLong,
    /// A well-known, breached or easily guessed password (or one built from such).
    Common,
    /// Contains the user name, the clinic's name or similar.
    PersonalWords,
    /// Guessable by its structure (keyboard rows, repeats, dates, sequences).
    Guessable,
}

/// The meter's state.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Strength {
    /// 0 (very weak) … 4 (very strong).
    pub score: u8,
    pub acceptable: bool,
    pub problems: Vec<Problem>,
    /// Plain advice for the clinician, most useful first.
    pub advice: Vec<String>,
}

/// Checks `password` for an account with these context words (user name, clinic name…).
pub fn check(password: &str, min_len: usize, context: &[&str]) -> Strength {
    let min_len = min_len.max(8);
    let chars = password.chars().count();
    let mut problems = Vec::new();
    let mut advice = Vec::new();
    if chars < min_len {
        problems.push(Problem::TooShort);
        advice.push(format!(
            "Use at least {min_len} characters. A few unrelated words make a strong, memorable password."
        ));
    }
    if chars > MAX_LEN {
        problems.push(Problem::TooLong);
        advice.push(format!("Use at most {MAX_LEN} characters."));
        return Strength {
            score: 0,
            acceptable: false,
            problems,
            advice,
        };
    }
    let lower = password.to_lowercase();
    let personal = context
        .iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| w.chars().count() >= 3)
        .any(|w| lower.contains(&w));
    if personal {
        problems.push(Problem::PersonalWords);
        advice.push("Leave out your user name and the clinic's name.".into());
    }
    // A leaked password is among an attacker's first guesses, whatever its estimate says.
    let leaked = chars >= 8 && breached::is_leaked_or_derived(password);
    if leaked {
        problems.push(Problem::Common);
        advice.push(LEAKED_ADVICE.into());
    }
    let e = zxcvbn::zxcvbn(password, context);
    let estimate = e.score() as u8;
    if estimate < MIN_SCORE && !password.is_empty() {
        use zxcvbn::feedback::Warning as W;
        let warning = e.feedback().and_then(|f| f.warning());
        let common = matches!(
            warning,
            Some(
                W::ThisIsATop10Password
                    | W::ThisIsATop100Password
                    | W::ThisIsACommonPassword
                    | W::ThisIsSimilarToACommonlyUsedPassword
                    | W::AWordByItselfIsEasyToGuess
                    | W::NamesAndSurnamesByThemselvesAreEasyToGuess
                    | W::CommonNamesAndSurnamesAreEasyToGuess
            )
        ) || warning.is_none();
        let problem = if common {
            Problem::Common
        } else {
            Problem::Guessable
        };
        if !problems.contains(&problem) {
            problems.push(problem);
        }
        if let Some(w) = warning {
            // zxcvbn's own sentences mostly end with a full stop already.
            advice.push(format!("{}.", w.to_string().trim_end_matches('.')));
        }
        if chars >= min_len {
            advice.push(
                "Add another word or two that are not related to each other, or make it longer."
                    .into(),
            );
        }
    }
    advice.dedup();
    Strength {
        // The meter shows a leaked password as very weak, not as its estimate.
        score: if leaked { 0 } else { estimate },
        acceptable: problems.is_empty(),
        problems,
        advice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nist_examples() {
        // Long passphrases pass; composition-only passwords do not.
        let ok = check("correct horse battery staple", 8, &["drsmith"]);
        assert!(ok.acceptable, "{ok:?}");
        for weak in [
            "Password1!",
            "Welcome2024!",
            "P@ssw0rd",
            "qwertyuiop",
            "12345678",
        ] {
            let s = check(weak, 8, &[]);
            assert!(!s.acceptable, "{weak} accepted: {s:?}");
        }
        let short = check("Tr0ub4!", 8, &[]);
        assert!(short.problems.contains(&Problem::TooShort));
        // Paste-length and very long passphrases are fine; over 128 is refused.
        assert!(check(&"plum ocean tractor lantern ".repeat(4), 8, &[]).acceptable);
        assert!(
            check(&"a".repeat(129), 8, &[])
                .problems
                .contains(&Problem::TooLong)
        );
    }

    #[test]
    fn context_words_are_refused() {
        let s = check(
            "drsmith-loves-sandbox-2026",
            9,
            &["drsmith", "Sandbox Clinic"],
        );
        assert!(s.problems.contains(&Problem::PersonalWords), "{s:?}");
        assert!(!s.acceptable);
    }

    #[test]
    fn the_result_never_carries_the_password() {
        let pw = "horse-battery-staple-9";
        let s = check(pw, 8, &[]);
        assert!(!format!("{s:?}").contains(pw));
        assert!(!serde_json::to_string(&s).expect("json").contains(pw));
    }

    #[test]
    fn leaked_passwords_are_common_even_when_they_look_random() {
        // zxcvbn alone scores this one as strong; it is in the leaked-password lists.
        let s = check("qti7Zxh18U", 8, &[]);
        assert!(!s.acceptable, "{s:?}");
        assert_eq!(s.problems, vec![Problem::Common]);
        assert_eq!(s.score, 0);
        assert_eq!(s.advice, vec![LEAKED_ADVICE.to_string()]);
    }

    #[test]
    fn policy_minimum_is_at_least_eight() {
        // A policy asking for less than 8 still gets 8 (NIST's floor).
        assert!(
            check("zq8#Lm2", 4, &[])
                .problems
                .contains(&Problem::TooShort)
        );
    }
}
