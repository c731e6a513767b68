//! `rounds-cli doctor`: what support needs to know about this machine, none of it secret.

use rounds_core::Core;
use rounds_core::app::{DoctorReport, Environment};
use std::process::ExitCode;

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        [] => doctor(false),
        ["--json"] => doctor(true),
        _ => crate::usage_error(&format!("doctor {}", args.join(" "))),
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
