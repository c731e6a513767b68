//! `rounds-cli profiles list|add|remove`: the user's clinic profiles (non-secret settings, as
//! aws-vault's `~/.aws/config`). Removing a profile also deletes its keychain items.

use rounds_core::app::Environment;
use rounds_core::config::{Profile, UserConfig, default_site};
use rounds_core::vault::Vault;
use std::process::ExitCode;

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["list"] => list(false),
        ["list", "--json"] => list(true),
        ["add", id, url, rest @ ..] => add(id, url, rest),
        ["remove", id] => remove(id),
        _ => crate::usage_error(&format!("profiles {}", args.join(" "))),
    }
}

fn load() -> Result<(UserConfig, std::path::PathBuf), ExitCode> {
    let env = Environment::from_os().map_err(|e| {
        eprintln!("rounds-cli: {e}");
        ExitCode::FAILURE
    })?;
    let path = env.paths.config_file();
    let cfg = UserConfig::load(&path).map_err(|e| {
        eprintln!("rounds-cli: {e}");
        ExitCode::FAILURE
    })?;
    Ok((cfg, path))
}

fn list(json: bool) -> ExitCode {
    let (cfg, _) = match load() {
        Ok(x) => x,
        Err(c) => return c,
    };
    if json {
        return match serde_json::to_string_pretty(&cfg.profiles) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("rounds-cli: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if cfg.profiles.is_empty() {
        println!("No profiles.");
    }
    let active = cfg.active().map(|p| p.id.clone());
    for p in &cfg.profiles {
        let mark = if Some(&p.id) == active.as_ref() {
            "*"
        } else {
            " "
        };
        println!(
            "{mark} {:<20} {:<28} {} (site {}, user {})",
            p.id,
            p.display_name,
            rounds_core::net::origin(&p.server_url),
            p.site,
            p.username.as_deref().unwrap_or("-")
        );
    }
    ExitCode::SUCCESS
}

/// `profiles add ID URL [--name NAME] [--site SITE] [--user USER]`
fn add(id: &str, url: &str, rest: &[&str]) -> ExitCode {
    let (mut cfg, path) = match load() {
        Ok(x) => x,
        Err(c) => return c,
    };
    let server_url = match rounds_core::net::Url::parse(url) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("rounds-cli: `{url}` is not a web address: {e}");
            return ExitCode::from(2);
        }
    };
    let mut p = Profile {
        id: id.into(),
        display_name: id.into(),
        server_url,
        site: default_site(),
        username: None,
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let Some(v) = it.next() else {
            return crate::usage_error(&format!("profiles add ... {flag}"));
        };
        match *flag {
            "--name" => p.display_name = v.to_string(),
            "--site" => p.site = v.to_string(),
            "--user" => p.username = Some(v.to_string()),
            _ => return crate::usage_error(&format!("profiles add ... {flag}")),
        }
    }
    if cfg.profiles.iter().any(|x| x.id == p.id) {
        eprintln!("rounds-cli: a profile `{id}` already exists");
        return ExitCode::FAILURE;
    }
    cfg.profiles.push(p);
    if let Err(e) = cfg.validate() {
        eprintln!("rounds-cli: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = cfg.save(&path) {
        eprintln!("rounds-cli: {e}");
        return ExitCode::FAILURE;
    }
    println!("Added profile `{id}`.");
    ExitCode::SUCCESS
}

fn remove(id: &str) -> ExitCode {
    let (mut cfg, path) = match load() {
        Ok(x) => x,
        Err(c) => return c,
    };
    let before = cfg.profiles.len();
    cfg.profiles.retain(|p| p.id != id);
    let in_config = cfg.profiles.len() != before;
    if cfg.active_profile.as_deref() == Some(id) {
        cfg.active_profile = None;
    }
    // Keychain first: a profile must never disappear from the settings while its tokens stay.
    let items = match Vault::open().and_then(|v| v.delete_profile(id)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("rounds-cli: keychain items of `{id}` not deleted: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Its encrypted schedule cache goes too (useless without the key just deleted).
    if let Ok(env) = Environment::from_os()
        && let Err(e) = rounds_core::schedule::Cache::remove_files(&env.paths.cache_dir, id)
    {
        eprintln!("rounds-cli: schedule cache of `{id}` not deleted: {e}");
    }
    if in_config && let Err(e) = cfg.save(&path) {
        eprintln!("rounds-cli: {e}");
        return ExitCode::FAILURE;
    }
    if !in_config && items == 0 {
        eprintln!("rounds-cli: no profile `{id}`");
        return ExitCode::FAILURE;
    }
    println!("Removed profile `{id}` ({items} keychain item(s) deleted).");
    ExitCode::SUCCESS
}
