//! `rounds-cli`: the IT and support tool (everything is in the library, `rounds_cli::run`).

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    rounds_cli::run(&args)
}
