//! `rounds-cli schedule check|sync`: what Rounds makes of a FHIR file, and a headless sync.
//!
//! `check` uses the app's own parser, so support can see why a visit does not appear (bad
//! time, unknown status, not an Appointment) without a running app. `sync` runs the app's
//! syncer for one profile with progress on stderr.

use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

use rounds_core::app::Environment;
use rounds_core::auth::{Account, KeychainTokens};
use rounds_core::config::UserConfig;
use rounds_core::net::NetClient;
use rounds_core::schedule::instant::format_instant;
use rounds_core::schedule::{
    Appointment, Cache, CacheOpen, KeyStore, MemoryKeyStore, NetSource, Report, SyncMode,
    SyncOptions, Syncer, fhir_base, parse_document,
};
use rounds_core::vault::Vault;

/// Biggest file `check` reads (a FHIR page is a few MB at most).
const MAX_FILE: u64 = 64 * 1024 * 1024;

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["check", file] => check(file, false),
        ["check", file, "--json"] | ["check", "--json", file] => check(file, true),
        ["sync", rest @ ..] => sync(rest),
        _ => crate::usage_error(&format!("schedule {}", args.join(" "))),
    }
}

fn read_input(file: &str) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if file == "-" {
        std::io::stdin().take(MAX_FILE).read_to_end(&mut buf)?;
    } else {
        std::fs::File::open(file)?
            .take(MAX_FILE)
            .read_to_end(&mut buf)?;
    }
    Ok(buf)
}

fn check(file: &str, json: bool) -> ExitCode {
    let bytes = match read_input(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("rounds-cli: cannot read {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = match parse_document(&bytes) {
        Ok(r) => r,
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({"rejected": e.to_string()}));
            } else {
                println!("Rejected: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    if json {
        let skipped: Vec<serde_json::Value> = report
            .skipped
            .iter()
            .map(|s| serde_json::json!({"entry": s.index, "id": s.id, "reason": s.reason.to_string()}))
            .collect();
        let v = serde_json::json!({
            "appointments": report.appointments,
            "skipped": skipped,
            "next": report.next,
        });
        match serde_json::to_string_pretty(&v) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("rounds-cli: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", describe(&report));
    }
    ExitCode::SUCCESS
}

fn describe(r: &Report) -> String {
    let mut s = format!(
        "{} shown, {} skipped{}\n",
        r.appointments.len(),
        r.skipped.len(),
        if r.next.is_some() {
            " (more pages follow: `next` link)"
        } else {
            ""
        }
    );
    for a in &r.appointments {
        s += &line(a);
    }
    for k in &r.skipped {
        s += &format!(
            "  entry {} ({}): skipped: {}\n",
            k.index,
            k.id.as_deref().unwrap_or("no id"),
            k.reason
        );
    }
    s
}

fn line(a: &Appointment) -> String {
    let mut s = format!(
        "  {}  {} – {}  {}  {}{}\n",
        a.id,
        format_instant(a.start),
        format_instant(a.end),
        a.status.as_str(),
        a.visit_type.as_deref().unwrap_or("(no type)"),
        if a.video { "  [video]" } else { "" },
    );
    for p in &a.participants {
        let who = match (&p.resource_type, &p.id) {
            (Some(t), Some(i)) => format!("{t}/{i}"),
            _ => "(no reference)".into(),
        };
        s += &format!(
            "      {:<5} {who}{}\n",
            p.role.as_deref().unwrap_or("-"),
            p.display
                .as_deref()
                .map(|d| format!("  \"{d}\""))
                .unwrap_or_default()
        );
    }
    if let Some(c) = &a.comment {
        s += &format!("      comment: {}\n", c.replace('\n', " / "));
    }
    s
}

struct SyncArgs<'a> {
    profile: &'a str,
    throwaway: bool,
    opts: SyncOptions,
}

fn parse_sync_args<'a>(args: &[&'a str]) -> Option<SyncArgs<'a>> {
    let mut out = SyncArgs {
        profile: "",
        throwaway: false,
        opts: SyncOptions::default(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--profile" => out.profile = it.next()?,
            "--throwaway" => out.throwaway = true,
            "--days-back" => out.opts.days_back = it.next()?.parse().ok()?,
            "--days-ahead" => out.opts.days_ahead = it.next()?.parse().ok()?,
            _ => return None,
        }
    }
    (!out.profile.is_empty()).then_some(out)
}

fn sync(args: &[&str]) -> ExitCode {
    let Some(a) = parse_sync_args(args) else {
        return crate::usage_error(&format!("schedule sync {}", args.join(" ")));
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
    match rt.block_on(sync_profile(a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rounds-cli: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn sync_profile(a: SyncArgs<'_>) -> Result<(), String> {
    let env = Environment::from_os().map_err(|e| e.to_string())?;
    let core = rounds_core::Core::load(env.clone()).map_err(|e| e.to_string())?;
    let cfg = UserConfig::load(&env.paths.config_file()).map_err(|e| e.to_string())?;
    let p = cfg
        .profiles
        .iter()
        .find(|p| p.id == a.profile)
        .ok_or_else(|| {
            format!(
                "no profile `{}` (see `rounds-cli profiles list`)",
                a.profile
            )
        })?;
    let net = NetClient::new(&core.net_config()).map_err(|e| e.to_string())?;
    let vault = Vault::open().map_err(|e| e.to_string())?;
    let (dir, keys): (std::path::PathBuf, Box<dyn KeyStore>) = if a.throwaway {
        let d = std::env::temp_dir().join(format!("rounds-sync-{}", std::process::id()));
        (d, Box::new(MemoryKeyStore::default()))
    } else {
        let keys: Box<dyn KeyStore> = Box::new(Vault::open().map_err(|e| e.to_string())?);
        (env.paths.cache_dir.clone(), keys)
    };
    let (cache, how) = Cache::open(&dir, &p.id, keys.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    if let CacheOpen::Recovered { moved_to, reason } = &how {
        eprintln!(
            "The old schedule cache could not be read ({reason}); it was kept as {} and a new one was made.",
            moved_to.display()
        );
    }
    let acct = Account {
        profile: p.id.clone(),
        server: p.server_url.clone(),
        site: p.site.clone(),
        username: p.username.clone().unwrap_or_default(),
    };
    let base = fhir_base(&p.server_url, &p.site).map_err(|e| e.to_string())?;
    let keep_refresh = !core.effective().session.shared_pc;
    let tokens = Arc::new(KeychainTokens::new(
        net.clone(),
        vault,
        acct,
        keep_refresh,
        Arc::default(),
    ));
    let source = Arc::new(NetSource::new(net, p.server_url.clone(), tokens));
    let syncer = Syncer::new(cache.clone(), source, base, a.opts);
    let mut progress = syncer.progress();
    let watcher = tokio::spawn(async move {
        while progress.changed().await.is_ok() {
            let p = progress.borrow().clone();
            eprintln!(
                "  {:?}: {} pages, {} appointments, {} skipped",
                p.phase, p.pages, p.appointments, p.skipped
            );
        }
    });
    let result = syncer.sync_once(SyncMode::Auto).await;
    drop(syncer);
    watcher.abort();
    let counts = cache.counts().await.map_err(|e| e.to_string());
    cache.close().await;
    if a.throwaway {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let s = result.map_err(|e| e.to_string())?;
    let c = counts?;
    println!(
        "Synced ({:?}{}): {} pages, {} appointments, {} skipped, {} deleted, {} bytes; cache holds {} appointments, {} patient names.",
        s.kind
            .unwrap_or(rounds_core::schedule::cache::RunKind::Window),
        if s.resumed { ", resumed" } else { "" },
        s.pages,
        s.appointments,
        s.skipped,
        s.deleted,
        s.bytes,
        c.appointments,
        c.patients
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_args() {
        let a =
            parse_sync_args(&["--profile", "main", "--days-back", "7", "--throwaway"]).expect("ok");
        assert_eq!(
            (a.profile, a.throwaway, a.opts.days_back, a.opts.days_ahead),
            ("main", true, 7, 90)
        );
        assert!(parse_sync_args(&["--days-back", "7"]).is_none());
        assert!(parse_sync_args(&["--profile"]).is_none());
        assert!(parse_sync_args(&["--profile", "x", "--days-back", "soon"]).is_none());
    }
}
