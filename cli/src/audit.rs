//! `rounds-cli audit verify|export`: IT checks the audit chain and takes a copy of it.
//!
//! Both read the key and checkpoint from the keychain of the user who runs them (the log's
//! owner) and never make a key: verifying must not change what it verifies. Run as another
//! user (or on a copied log) there is no key, so `verify` can check order and links only and
//! says the log is unverified.
//!
//! Exit codes of `verify`: 0 intact, 1 broken (the first broken record is named), 3 nothing
//! broken found but not everything authenticated (no key, records written while the keychain
//! was locked, no checkpoint); 2 is a usage error, as for every command.

use std::path::PathBuf;
use std::process::ExitCode;

use rounds_core::audit::export::{self, Format};
use rounds_core::audit::verify::{Report, Status, verify};
use rounds_core::audit::{AuditKeys, files::chain_files};
use rounds_core::paths::Paths;
use rounds_core::vault::Vault;

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["verify", rest @ ..] => verify_cmd(rest),
        ["export", rest @ ..] => export_cmd(rest),
        _ => crate::usage_error(&format!("audit {}", args.join(" "))),
    }
}

struct Opts {
    dir: Option<PathBuf>,
    json: bool,
    since: Option<String>,
    format: Format,
}

fn parse(args: &[&str], export: bool) -> Option<Opts> {
    let mut o = Opts {
        dir: None,
        json: false,
        since: None,
        format: Format::Jsonl,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--dir" => o.dir = Some(PathBuf::from(it.next()?)),
            "--json" if !export => o.json = true,
            "--since" if export => o.since = Some((*it.next()?).to_string()),
            "--format" if export => {
                o.format = match *it.next()? {
                    "jsonl" => Format::Jsonl,
                    "csv" => Format::Csv,
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    Some(o)
}

fn data_dir(dir: Option<PathBuf>) -> Result<PathBuf, ExitCode> {
    match dir.or_else(|| Paths::for_current_user().map(|p| p.data_dir)) {
        Some(d) => Ok(d),
        None => {
            eprintln!("rounds-cli: no home directory for this user; pass --dir");
            Err(ExitCode::FAILURE)
        }
    }
}

fn check(dir: &std::path::Path) -> Report {
    match Vault::open() {
        Ok(v) => verify(dir, Some(&v as &dyn AuditKeys)),
        Err(e) => {
            let mut r = verify(dir, None);
            r.notes.insert(
                0,
                format!("no keychain ({e}): MACs and the tail not checked"),
            );
            r
        }
    }
}

fn verify_cmd(args: &[&str]) -> ExitCode {
    let Some(o) = parse(args, false) else {
        return crate::usage_error(&format!("audit verify {}", args.join(" ")));
    };
    let dir = match data_dir(o.dir) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let r = check(&dir);
    if o.json {
        match serde_json::to_string_pretty(&r) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("rounds-cli: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print_report(&dir, &r);
    }
    match r.status {
        Status::Intact => ExitCode::SUCCESS,
        Status::Broken => ExitCode::FAILURE,
        Status::Unverified => ExitCode::from(3),
    }
}

fn print_report(dir: &std::path::Path, r: &Report) {
    println!("Audit log: {}", dir.display());
    for f in &r.files {
        println!("  {:<24} {} record(s)", f.file, f.records);
    }
    if let (Some(a), Some(b)) = (r.first_seq, r.last_seq) {
        println!("Records: {} (seq {a}..={b})", r.records);
    }
    println!(
        "MACs: {}",
        if r.mac_checked {
            "checked with this user's keychain key"
        } else {
            "NOT checked (no key)"
        }
    );
    if r.unkeyed > 0 {
        println!(
            "Unkeyed: {} record(s) written while the keychain was locked",
            r.unkeyed
        );
    }
    println!(
        "Tail: {}",
        if r.checkpoint_checked {
            "checked against the keychain's checkpoint"
        } else {
            "NOT checked (no checkpoint)"
        }
    );
    for n in &r.notes {
        println!("Note: {n}");
    }
    match (&r.status, &r.broken) {
        (Status::Broken, Some(f)) => {
            let seq = f.seq.map_or(String::new(), |s| format!(", seq {s}"));
            println!("BROKEN at {} line {}{seq}: {}", f.file, f.line, f.message);
        }
        (Status::Broken, None) => println!("BROKEN"),
        (Status::Unverified, _) => println!("UNVERIFIED: nothing broken found, not all checked"),
        (Status::Intact, _) => println!("INTACT"),
    }
}

fn export_cmd(args: &[&str]) -> ExitCode {
    let Some(o) = parse(args, true) else {
        return crate::usage_error(&format!("audit export {}", args.join(" ")));
    };
    let Some(since) = o.since.as_deref() else {
        return crate::usage_error("audit export (needs --since DATE)");
    };
    let Some(since) = export::parse_since(since) else {
        eprintln!("rounds-cli: --since wants YYYY-MM-DD or an RFC 3339 time, not `{since}`");
        return ExitCode::from(2);
    };
    let dir = match data_dir(o.dir) {
        Ok(d) => d,
        Err(c) => return c,
    };
    if chain_files(&dir).is_empty() {
        eprintln!("rounds-cli: no audit log in {}", dir.display());
        return ExitCode::FAILURE;
    }
    // The copy is what the file holds; say on stderr whether that can be trusted.
    let r = check(&dir);
    if r.status != Status::Intact {
        let why = r
            .broken
            .as_ref()
            .map_or("not fully verified", |f| &f.message);
        eprintln!("rounds-cli: warning: the log does not verify ({why}); run `audit verify`");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match export::export(&dir, &since, o.format, &mut out)
        .and_then(|n| std::io::Write::flush(&mut out).map(|()| n))
    {
        Ok(n) => {
            eprintln!("rounds-cli: {n} record(s) since {since}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rounds-cli: {e}");
            ExitCode::FAILURE
        }
    }
}
