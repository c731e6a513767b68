//! The strength checker against the NCSC/HIBP top 100k breached passwords (read from the shared
//! reference data; the product never embeds it, and the shipped filter is built from other,
//! independent lists: see core/data/README.md): the share of entries of policy length (≥ 8)
//! it rejects. All of them are checked (~15 s in a debug build).
//!
//! Issue 10 aims at ≥ 99%. zxcvbn alone rejects 94.2% of them; with the leaked-password filter
//! the checker rejects 97.2% (97.8% with the whole 4.4M-entry list, which would not fit the
//! package's size budget: see core/src/password/breached.rs). What still passes are mostly
//! passwords from a few regional leaks (Russian e-mail-style names, bot-made strings) that no
//! independent list has, plus ~150 lines of mis-encoded text in the reference file itself. The
//! bound below guards the level reached: without the filter the share falls to 94.2% and this
//! test fails.

use rounds_core::password::check;

#[test]
fn rejects_at_least_97_percent_of_breached_passwords_of_policy_length() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/passwords/PwnedPasswordsTop100k.txt"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("SKIP: {path} not on this machine");
        return;
    };
    let candidates: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.chars().count() >= 8)
        .collect();
    assert!(candidates.len() > 40_000, "{}", candidates.len());
    let accepted: Vec<&str> = candidates
        .iter()
        .copied()
        .filter(|p| check(p, 8, &[]).acceptable)
        .collect();
    let rejected = candidates.len() - accepted.len();
    let share = rejected as f64 / candidates.len() as f64;
    println!(
        "rejected {rejected} of {} breached passwords of ≥ 8 characters ({:.2}%); accepted e.g. {:?}",
        candidates.len(),
        share * 100.0,
        accepted
            .iter()
            .skip(1)
            .step_by(97)
            .take(8)
            .collect::<Vec<_>>()
    );
    assert!(share >= 0.97, "only {:.2}% rejected", share * 100.0);
}
