//! `rounds-sandbox --port 0 --state-dir DIR [--seed demo|none] [--appointments N] [--control-port P]`
//!
//! Prints exactly one JSON line on stdout (`base_url`, `site`, `ca_pem`, `control_url`), the demo
//! accounts on stderr, then serves until SIGTERM/SIGINT (exit 0).

use std::io::Write;
use std::process::ExitCode;

use rounds_sandbox::{Options, Seed};

fn usage() -> ExitCode {
    eprintln!(
        "usage: rounds-sandbox [--port N] [--control-port N] --state-dir DIR [--seed demo|none] [--appointments N] [--site ID]"
    );
    ExitCode::from(2)
}

fn parse() -> Result<Options, String> {
    let mut opts = Options::new(std::env::temp_dir().join("rounds-sandbox"));
    let mut have_dir = false;
    let mut seed_set = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut val = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{key} needs a value"))
        };
        match key.as_str() {
            "--port" => opts.port = val()?.parse().map_err(|_| "bad --port")?,
            "--control-port" => {
                opts.control_port = val()?.parse().map_err(|_| "bad --control-port")?
            }
            "--state-dir" => {
                opts.state_dir = val()?.into();
                have_dir = true;
            }
            "--seed" => {
                opts.seed = match val()?.as_str() {
                    "demo" => Seed::Demo,
                    "none" => Seed::None,
                    s => return Err(format!("unknown seed {s}")),
                };
                seed_set = true;
            }
            "--appointments" => {
                opts.appointments = val()?.parse().map_err(|_| "bad --appointments")?
            }
            "--site" => opts.site = val()?,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if !have_dir {
        return Err("--state-dir is required".into());
    }
    if !seed_set {
        opts.seed = Seed::Demo;
    }
    Ok(opts)
}

fn main() -> ExitCode {
    let opts = match parse() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("rounds-sandbox: {e}");
            }
            return usage();
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rounds-sandbox: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        // Listen for SIGTERM/SIGINT before anything else, so an early kill still exits 0.
        use tokio::signal::unix::{SignalKind, signal};
        let signals = (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        );
        let demo = opts.seed == Seed::Demo;
        let sb = match rounds_sandbox::start(opts).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("rounds-sandbox: {e}");
                return ExitCode::FAILURE;
            }
        };
        if demo {
            eprint!(
                "{}",
                rounds_sandbox::seed::banner(&sb.state)
                    .replace("{control_url}", &sb.ready.control_url)
            );
        }
        let line = serde_json::to_string(&sb.ready).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            return ExitCode::FAILURE;
        }
        drop(out);
        wait_for_signal(signals).await;
        sb.state.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal(
    signals: (
        Option<tokio::signal::unix::Signal>,
        Option<tokio::signal::unix::Signal>,
    ),
) {
    match signals {
        (Some(mut term), Some(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
