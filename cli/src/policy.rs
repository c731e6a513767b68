//! `rounds-cli policy`: show, validate and publish the schema of IT's policy (issue 5).

use std::process::ExitCode;

pub fn run(args: &[&str]) -> ExitCode {
    crate::usage_error(&format!("policy {}", args.join(" ")))
}
