//! `rounds-cli doctor`: what support needs to know about this machine, none of it secret.

use rounds_core::Core;
use rounds_core::app::{DoctorReport, Environment};
use std::process::ExitCode;

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        [] => doctor(false),
        ["--json"] => doctor(true),
        ["--server", url] => server(url, false),
        ["--server", url, "--json"] | ["--json", "--server", url] => server(url, true),
        _ => crate::usage_error(&format!("doctor {}", args.join(" "))),
    }
}

/// `doctor --server URL [--json]`: the app's own network rules (policy CA, CA-only, pins, proxy)
/// run against one server; exit 1 when Rounds would refuse it. Nothing secret is sent.
fn server(raw: &str, json: bool) -> ExitCode {
    use rounds_core::net::{NetClient, NetConfig, probe};
    let url = match rounds_core::net::Url::parse(raw) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("rounds-cli: `{raw}` is not a web address: {e}");
            return ExitCode::from(2);
        }
    };
    let cfg = match Environment::from_os().and_then(Core::load) {
        Ok(core) => core.net_config(),
        Err(e) => {
            eprintln!("rounds-cli: {e}; checking with secure defaults (no hospital CA, no pins)");
            NetConfig::default()
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
    let posture = match NetClient::new(&cfg) {
        Ok(client) => rt.block_on(probe::probe(&cfg, &client, &url)),
        Err(e) => probe::Posture {
            server: rounds_core::net::origin(&url),
            proxy: probe::describe_proxy(&cfg.proxy),
            tls: None,
            chain: Vec::new(),
            trusted_by: None,
            pin: None,
            http_status: None,
            accepted: false,
            verdict: probe::verdict_for(&e),
            detail: Some(e.to_string()),
            leaf_der: None,
        },
    };
    if json {
        match serde_json::to_string_pretty(&posture) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("rounds-cli: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", posture_text(&posture, &cfg));
    }
    if posture.accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn posture_text(p: &rounds_core::net::probe::Posture, cfg: &rounds_core::net::NetConfig) -> String {
    use rounds_core::net::verify::PinStatus;
    let mut out = format!("Server       {}\n", p.server);
    out += &format!("Proxy        {}\n", p.proxy);
    let trust = match (&cfg.ca_bundle, cfg.ca_only) {
        (Some(b), true) => format!("only the hospital CA {}", b.display()),
        (Some(b), false) => format!("OS trust store + hospital CA {}", b.display()),
        (None, _) => "OS trust store".to_string(),
    };
    out += &format!("Trust rules  {trust}\n");
    match &p.tls {
        Some(t) => {
            out += &format!(
                "TLS          {} {} (ALPN {})\n",
                t.version,
                t.cipher_suite,
                t.alpn.as_deref().unwrap_or("none")
            )
        }
        None => out += "TLS          not negotiated\n",
    }
    for (i, c) in p.chain.iter().enumerate() {
        let label = if i == 0 { "Chain" } else { "" };
        out += &format!(
            "{label:<12} {}. {}\n{:<15} key {}\n",
            i + 1,
            c.subject,
            "",
            c.spki_pin
        );
    }
    if let Some(by) = p.trusted_by {
        out += &format!("Verified by  {by}\n");
    }
    let pins = match &p.pin {
        None => "not checked".to_string(),
        Some(PinStatus::NotPinned) => "no pins for this host in policy".to_string(),
        Some(PinStatus::Matched { pin }) => format!("matched {pin}"),
        Some(PinStatus::Mismatch { .. }) => "MISMATCH: no key of the chain is pinned".to_string(),
    };
    out += &format!("Pins         {pins}\n");
    if let Some(s) = p.http_status {
        out += &format!("HTTP         {s} (request without credentials)\n");
    }
    out += &format!("\n{}\n", p.verdict);
    if let Some(d) = &p.detail {
        out += &format!("Detail for IT: {d}\n");
    }
    out
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
    let posture = match crate::posture::compute(&core) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rounds-cli: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        let full = serde_json::to_value(&report).map(|mut v| {
            v["posture"] = serde_json::to_value(&posture).unwrap_or_default();
            v
        });
        match full.and_then(|v| serde_json::to_string_pretty(&v)) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("rounds-cli: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", human(&report));
        let now = rounds_core::vault::items::unix_now();
        print!("{}", crate::posture::text(&posture, now));
    }
    // Exit 1 when something needs attention, so IT can script `rounds-cli doctor || alert`.
    let healthy = report.keychain.reachable
        && report.policy.problem.is_none()
        && !crate::posture::needs_attention(&posture);
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
    for src in &r.policy.sources {
        use rounds_core::policy::SourceStatus as S;
        let (mark, what) = match (src.status, &src.problem) {
            (S::Rejected, p) => (
                "FAIL",
                format!(
                    "REJECTED, secure defaults in force — {}",
                    p.as_deref().unwrap_or("")
                ),
            ),
            (S::Active, _) => ("ok  ", "in force".to_string()),
            (S::Absent, _) => ("ok  ", "none (unmanaged)".to_string()),
        };
        out += &format!(
            "[{mark}] Policy ({}): {} — {what}\n",
            src.name, src.location
        );
    }
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
