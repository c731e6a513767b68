//! `rounds-cli`: the command-line face of the Rounds core, for hospital IT and support.
//!
//! Like aws-vault it is a thin front end over the same core as the app, so what it reports is
//! what the app sees. Argument parsing is by hand to keep the tool small and dependency-free.

mod audit;
mod doctor;
mod policy;
mod posture;
mod profiles;
mod schedule;
mod sessions;
mod update;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: rounds-cli <command> [options]

Commands:
  audit verify [--dir D] [--json]
                    Check the tamper-evident audit log (every kept file, oldest first): MACs
                    with this user's keychain key, links, order, the tail against the
                    keychain's checkpoint. Names the first broken record; exits 1 when broken,
                    3 when nothing is broken but not all could be checked (no key, records
                    written while the keychain was locked).
  audit export --since DATE [--format jsonl|csv] [--dir D]
                    The records since DATE (YYYY-MM-DD or RFC 3339), oldest first, to stdout.
                    CSV columns: seq,at,kind,appointment,detail,mac. No patient data.
  doctor [--json]   Which keychain is in use and reachable, which policy is in force,
                    where the app keeps its files, and which clinic server it will use;
                    the security posture (TLS of the clinic and video server, trust, pins,
                    sign-in time, cache encryption, E2EE here), as the app's panel shows it.
  doctor --server URL [--json]
                    Connect to URL exactly as Rounds would and print its TLS posture: version,
                    suite, chain, which root verified it, pin status, proxy, verdict. Exits 1
                    when Rounds would refuse the server.
  policy ...        IT policy tools (see `rounds-cli policy help`).
  profiles ...      Clinic accounts on this computer: list | add | remove (removing deletes
                    the profile's keychain items).
  schedule check FILE|- [--json]
                    What Rounds would show for a FHIR Appointment or Bundle (time, status,
                    type, video, participants) or why it would skip each entry. Exits 1 when
                    the file is not an Appointment or a search Bundle at all.
  schedule sync --profile P [--throwaway] [--days-back N] [--days-ahead N]
                    Sync the profile's schedule now, progress on stderr (--throwaway: into a
                    temporary cache that is deleted afterwards).
  sessions ...      Stored sign-ins per profile with their expiry (read without reading any
                    secret): list [--json] | clear [PROFILE].
  update check [--json]
                    What IT's policy allows for updates and what the update server offers,
                    checked like the app does (signature, key, version rule); never installs.
                    Exits 1 when the offer is refused or the server cannot be read.
  version           Print the version.
  help              Show this help.
";

/// Runs one `rounds-cli` command line (without the program name). The `rounds-cli` binary
/// calls this, and so does the app binary on Linux when started as `rounds --cli …`, so the
/// package ships the core once (see packaging/rounds-cli).
pub fn run(args: &[String]) -> ExitCode {
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    match strs.as_slice() {
        ["audit", rest @ ..] => audit::run(rest),
        ["doctor", rest @ ..] => doctor::run(rest),
        ["policy", rest @ ..] => policy::run(rest),
        ["profiles", rest @ ..] => profiles::run(rest),
        ["schedule", rest @ ..] => schedule::run(rest),
        ["sessions", rest @ ..] => sessions::run(rest),
        ["update", rest @ ..] => update::run(rest),
        ["version" | "--version" | "-V"] => {
            println!("rounds-cli {}", rounds_core::VERSION);
            ExitCode::SUCCESS
        }
        [] | ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => usage_error(&args.join(" ")),
    }
}

/// Unknown command or flags: say which, show the usage, exit 2 (as getopt tools do).
pub(crate) fn usage_error(what: &str) -> ExitCode {
    eprint!("rounds-cli: unknown command `{what}`\n\n{USAGE}");
    ExitCode::from(2)
}
