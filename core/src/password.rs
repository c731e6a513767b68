//! Password strength while typing (issue 10), NIST SP 800-63B style: length (policy minimum, at
//! least 8; up to 128, long passphrases welcome), no composition rules, and a check against
//! common and breached passwords, the clinician's own context words (user name, clinic) and a
//! guess estimate. The lists are the ones inside the `zxcvbn` crate (built into the binary;
//! nothing downloaded at run time).
//!
//! The result carries no part of the password: a score, what is wrong (as codes) and advice.

use serde::Serialize;

/// Longest password checked (and accepted): NIST asks for at least 64.
pub const MAX_LEN: usize = 128;
/// zxcvbn score needed: 3 = more than 10^8 guesses (resists online and slowed offline attack).
const MIN_SCORE: u8 = 3;

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
    let e = zxcvbn::zxcvbn(password, context);
    let score = e.score() as u8;
    if score < MIN_SCORE && !password.is_empty() {
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
        problems.push(if common {
            Problem::Common
        } else {
            Problem::Guessable
        });
        if let Some(w) = warning {
            advice.push(format!("{w}."));
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
        score,
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
    fn policy_minimum_is_at_least_eight() {
        // A policy asking for less than 8 still gets 8 (NIST's floor).
        assert!(
            check("zq8#Lm2", 4, &[])
                .problems
                .contains(&Problem::TooShort)
        );
    }
}
