//! `rounds-cli update check`: what IT's policy allows and what the update server offers, judged
//! by the app's own code (same TLS rules, same signature and version checks). It never
//! downloads the artifact and never installs anything.

use rounds_core::Core;
use rounds_core::app::Environment;
use rounds_core::update::{UpdateState, Updates};
use std::process::ExitCode;

const USAGE: &str = "\
Usage: rounds-cli update check [--json]

  check [--json]   Policy (mode, channel, pinned version) and what the update server offers
                   this computer, with the reason when an update is refused. Exits 1 when the
                   offer is refused (signature, key, downgrade) or the server cannot be read.
";

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["check"] => check(false),
        ["check", "--json"] => check(true),
        [] | ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!(
                "rounds-cli: unknown update command `{}`\n\n{USAGE}",
                args.join(" ")
            );
            ExitCode::from(2)
        }
    }
}

/// How this copy was installed, as well as the CLI can tell (the app asks Tauri).
fn bundle() -> Option<&'static str> {
    if std::env::var_os("APPIMAGE").is_some() {
        Some("appimage")
    } else if std::path::Path::new("/var/lib/dpkg/info/rounds.list").exists() {
        Some("deb")
    } else {
        None
    }
}

fn check(json: bool) -> ExitCode {
    let core = match Environment::from_os().and_then(Core::load) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rounds-cli: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rounds-cli: {e}");
            return ExitCode::FAILURE;
        }
    };
    let view = rt.block_on(async {
        let ctx = core.update_context(bundle()).await;
        Updates::new().check(&ctx).await
    });
    if json {
        match serde_json::to_string_pretty(&view) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("rounds-cli: {e}"),
        }
    } else {
        let lock = if view.locked {
            "LOCKED by policy"
        } else {
            "default"
        };
        println!("running   {}", view.running);
        println!("mode      {} ({lock})", view.mode.as_str());
        println!("channel   {}", view.channel.as_str());
        if let Some(p) = &view.pinned_version {
            println!("pinned    {p}");
        }
        println!("{}", view.message);
    }
    match view.state {
        UpdateState::Refused { .. } | UpdateState::Failed { .. } => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}
