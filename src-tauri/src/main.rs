// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    // A multi-call binary: `rounds --cli <command>` is `rounds-cli <command>`, so the Linux
    // package ships the core once (/usr/bin/rounds-cli is a two-line script that runs this).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--cli") {
        return rounds_cli::run(&args[1..]);
    }
    rounds_app::run();
    std::process::ExitCode::SUCCESS
}
