//! `rounds-cli sessions list|clear [profile]`: what Rounds keeps in the OS keychain, as
//! aws-vault shows it: profile, item, expiry. Listing never reads a secret.

use rounds_core::app::Environment;
use rounds_core::vault::items::unix_now;
use rounds_core::vault::{ItemInfo, Vault};
use std::process::ExitCode;

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["list"] => list(false),
        ["list", "--json"] => list(true),
        ["clear"] => clear(None),
        ["clear", profile] => clear(Some(profile)),
        _ => crate::usage_error(&format!("sessions {}", args.join(" "))),
    }
}

/// Profile ids from the user's settings (stores without search only find these).
fn known_profiles() -> Vec<String> {
    Environment::from_os()
        .ok()
        .and_then(|env| rounds_core::config::UserConfig::load(&env.paths.config_file()).ok())
        .map(|c| c.profiles.into_iter().map(|p| p.id).collect())
        .unwrap_or_default()
}

fn open() -> Result<Vault, ExitCode> {
    Vault::open().map_err(|e| {
        eprintln!("rounds-cli: {e}");
        ExitCode::FAILURE
    })
}

fn describe(i: &ItemInfo, now: i64) -> String {
    match i.expires_at {
        None => "does not expire".into(),
        Some(t) if t <= now => format!("expired {} ago", human(now - t)),
        Some(t) => format!("expires in {}", human(t - now)),
    }
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn list(json: bool) -> ExitCode {
    let v = match open() {
        Ok(v) => v,
        Err(c) => return c,
    };
    let known = known_profiles();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let items = match v.list(&known) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("rounds-cli: {e}");
            return ExitCode::FAILURE;
        }
    };
    let now = unix_now();
    if json {
        match serde_json::to_string_pretty(&items) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("rounds-cli: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    println!(
        "Keychain: {} (service {})",
        v.backend(),
        rounds_core::vault::SERVICE
    );
    if items.is_empty() {
        println!("No Rounds items.");
    }
    for i in &items {
        println!("{:<24} {:<8} {}", i.profile, i.kind, describe(i, now));
    }
    ExitCode::SUCCESS
}

fn clear(profile: Option<&str>) -> ExitCode {
    let v = match open() {
        Ok(v) => v,
        Err(c) => return c,
    };
    let profiles: Vec<String> = match profile {
        Some(p) => vec![p.to_string()],
        None => {
            let known = known_profiles();
            let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let mut all: Vec<String> = v
                .list(&known_refs)
                .map(|l| l.into_iter().map(|i| i.profile).collect())
                .unwrap_or_default();
            all.extend(known);
            all.sort();
            all.dedup();
            all
        }
    };
    let mut n = 0;
    for p in &profiles {
        match v.delete_profile(p) {
            Ok(k) => n += k,
            Err(e) => {
                eprintln!("rounds-cli: {p}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("Deleted {n} keychain item(s); the clinician(s) must sign in again.");
    ExitCode::SUCCESS
}
