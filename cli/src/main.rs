//! `rounds-cli`: the command-line face of the Rounds core, for hospital IT and support.
//!
//! Like aws-vault it is a thin front end over the same core as the app, so what it reports is
//! what the app sees. Argument parsing is by hand to keep the tool small and dependency-free.

use rounds_core::Core;
use rounds_core::app::{DoctorReport, Environment};
use std::process::ExitCode;

const USAGE: &str = "\
Usage: rounds-cli <command> [options]

Commands:
  doctor [--json]   Which keychain is in use and reachable, which policy is in force,
                    where the app keeps its files, and which clinic server it will use.
  version           Print the version.
  help              Show this help.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    match strs.as_slice() {
        ["doctor"] => doctor(false),
        ["doctor", "--json"] => doctor(true),
        ["version" | "--version" | "-V"] => {
            println!("rounds-cli {}", rounds_core::VERSION);
            ExitCode::SUCCESS
        }
        [] | ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!(
                "rounds-cli: unknown command `{}`\n\n{USAGE}",
                args.join(" ")
            );
            ExitCode::from(2)
        }
    }
}

fn doctor(json: bool) -> ExitCode {
    let core = match Environment::from_os().and_then(Core::load) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rounds-cli: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = core.doctor();
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("rounds-cli: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", human(&report));
    }
    // Exit 1 when something needs attention, so IT can script `rounds-cli doctor || alert`.
    let healthy = report.keychain.reachable && report.policy.problem.is_none();
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn human(r: &DoctorReport) -> String {
    let ok = |b: bool| if b { "ok  " } else { "FAIL" };
    let backend = r
        .keychain
        .backend
        .map(|b| b.to_string())
        .unwrap_or_else(|| "none".into());
    let mut out = format!("Rounds {}\n\n", r.version);
    out += &format!(
        "[{}] Keychain: {backend} — {}\n",
        ok(r.keychain.reachable),
        r.keychain.detail
    );
    let policy = match (&r.policy.status, &r.policy.problem) {
        (_, Some(p)) => format!("REJECTED, secure defaults in force — {p}"),
        (rounds_core::app::PolicyStatus::Active, None) => "in force".to_string(),
        _ => "none (unmanaged machine)".to_string(),
    };
    out += &format!(
        "[{}] Policy: {} — {policy}\n",
        ok(r.policy.problem.is_none()),
        r.policy.path
    );
    match &r.server {
        Some(s) => {
            let how = if s.managed {
                "set by policy"
            } else {
                "user profile"
            };
            out += &format!(
                "[ok  ] Clinic server: {} {} ({how})\n",
                s.display_name, s.origin
            );
        }
        None => out += "[--  ] Clinic server: none set up yet\n",
    }
    if let Some(p) = &r.config_problem {
        out += &format!("[FAIL] Settings: {p}\n");
    }
    out += &format!(
        "\nPaths:\n  settings  {}\n  data      {}\n  logs      {}\n  cache     {}\n",
        r.paths.config_dir.display(),
        r.paths.data_dir.display(),
        r.paths.log_dir.display(),
        r.paths.cache_dir.display()
    );
    out
}
