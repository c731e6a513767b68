//! `rounds-cli policy`: what IT needs to write, check and audit a Rounds policy.

use rounds_core::Core;
use rounds_core::app::Environment;
use rounds_core::policy::{
    self, ManagedPrefsSource, Origin, Policy, PolicySource, SourceStatus, managed_prefs,
};
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "\
Usage: rounds-cli policy <command>

  show [--json]      Every setting in force on this machine, with its source and whether it
                     is locked (mandatory) or only a default the user may change.
  validate FILE      Check a policy exactly as the app loads it; prints the app's error.
                     FILE: a policy file (.json), a managed preferences file (.plist, XML or
                     binary) or an unsigned configuration profile (.mobileconfig).
  schema             Print the JSON Schema of the policy file (generated from the app's types).
";

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["show"] => show(false),
        ["show", "--json"] => show(true),
        ["validate", file] => validate(file),
        ["schema"] => {
            print!("{}", policy::json_schema());
            ExitCode::SUCCESS
        }
        [] | ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!(
                "rounds-cli: unknown policy command `{}`\n\n{USAGE}",
                args.join(" ")
            );
            ExitCode::from(2)
        }
    }
}

fn show(json: bool) -> ExitCode {
    let core = match Environment::from_os().and_then(Core::load) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rounds-cli: {e}");
            return ExitCode::FAILURE;
        }
    };
    let view = core.policy_view();
    let settings = core.all_settings();
    if json {
        let doc = serde_json::json!({"sources": view.sources, "settings": settings});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for s in &view.sources {
            let status = match s.status {
                SourceStatus::Absent => "absent",
                SourceStatus::Active => "in force",
                SourceStatus::Rejected => "REJECTED (secure defaults kept)",
            };
            println!("source  {:<22} {:<44} {status}", s.name, s.location);
            if let Some(p) = &s.problem {
                println!("        {p}");
            }
        }
        println!();
        let width = settings.iter().map(|s| s.key.len()).max().unwrap_or(0);
        for s in &settings {
            let origin = match &s.origin {
                Origin::Default => "default".to_string(),
                Origin::User => "user".to_string(),
                Origin::Recommended(src) => format!("recommended by {src}"),
                Origin::Mandatory(src) => format!("LOCKED by {src}"),
            };
            println!("{:<width$}  {:<32}  {origin}", s.key, s.value);
        }
    }
    if view.problem.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn validate(file: &str) -> ExitCode {
    if !Path::new(file).is_file() {
        eprintln!("rounds-cli: {file}: no such file");
        return ExitCode::FAILURE;
    }
    let p = match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("plist") => {
            Policy::load(&[
                Box::new(ManagedPrefsSource::new("Configuration profile", file))
                    as Box<dyn PolicySource>,
            ])
        }
        Some("mobileconfig") => {
            // The payload as macOS would write it to the managed preferences file.
            let checked = std::fs::read(file)
                .map_err(|e| e.to_string())
                .and_then(|b| managed_prefs::from_profile(&b));
            return match checked {
                Ok(_) => {
                    println!("{file}: valid");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    println!("{file}: REJECTED — profile {file} is not valid: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => Policy::from_file(file),
    };
    match p.reports().first() {
        Some(r) if r.status == SourceStatus::Active => {
            println!("{file}: valid");
            ExitCode::SUCCESS
        }
        Some(r) => {
            // The very message the app logs and shows when it rejects this file.
            println!(
                "{file}: REJECTED — {}",
                r.problem.as_deref().unwrap_or("unknown problem")
            );
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}
