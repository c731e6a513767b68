//! Generates `core/data/breached-passwords.bfuse8` from leaked-password lists (issue 10).
//! Run by `scripts/breached-filter.sh`, which fetches the pinned source packages; see
//! `core/data/README.md`. Usage: `breached_filter OUT FILE_OR_DIR...` (directories are read
//! recursively, every `*.txt`). Lines of 8 to 128 characters are kept (shorter ones are refused
//! by length anyway, longer ones by the maximum).

use std::path::{Path, PathBuf};

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            collect(&e, files)?;
        }
    } else if path.extension().is_some_and(|x| x == "txt") {
        files.push(path.to_path_buf());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: breached_filter OUT FILE_OR_DIR...")?;
    let mut files = Vec::new();
    for a in args {
        collect(Path::new(&a), &mut files)?;
    }
    let mut lines: Vec<String> = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f)?;
        // Some leaked lines are not UTF-8; they are kept as the replacement-character form.
        let text = String::from_utf8_lossy(&bytes);
        let before = lines.len();
        lines.extend(
            text.lines()
                .filter(|l| (8..=128).contains(&l.chars().count()))
                .map(str::to_lowercase),
        );
        if files.len() < 20 {
            println!("{}: {} passwords", f.display(), lines.len() - before);
        }
    }
    lines.sort_unstable();
    lines.dedup();
    let all = lines.len();
    // Only what the rest of the check would let through needs a place in the filter: a leaked
    // password that zxcvbn already refuses (a word, a keyboard row, a date) costs bytes in
    // every installed copy and catches nothing more. Checked as typed in lower case and with a
    // capital first letter (the two forms people type), on every core.
    let keep = |p: &String| {
        let cap: String = p
            .chars()
            .take(1)
            .flat_map(char::to_uppercase)
            .chain(p.chars().skip(1))
            .collect();
        [p.as_str(), cap.as_str()]
            .iter()
            .any(|v| zxcvbn::zxcvbn(v, &[]).score() as u8 >= 3)
    };
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = lines.len().div_ceil(threads);
    let kept: Vec<String> = std::thread::scope(|s| {
        let parts: Vec<_> = lines
            .chunks(chunk.max(1))
            .map(|c| s.spawn(move || c.iter().filter(|p| keep(p)).cloned().collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    println!(
        "{all} distinct passwords, {} not already refused by the estimate",
        kept.len()
    );
    if let Some(dump) = std::env::var_os("BREACHED_DUMP") {
        std::fs::write(dump, kept.join("\n"))?;
    }
    // The longest kept: see the module doc of `core/src/password/breached.rs` (size budget).
    const MAX_STORED: usize = 11;
    let kept: Vec<String> = kept
        .into_iter()
        .filter(|p| p.chars().count() <= MAX_STORED)
        .collect();
    println!("{} of at most {MAX_STORED} characters", kept.len());
    let keys: Vec<u64> = kept
        .iter()
        .map(|p| rounds_core::password::breached::key(p))
        .collect();
    let lines = keys.len();
    let file = rounds_core::password::breached::encode(keys)?;
    std::fs::write(&out, &file)?;
    println!(
        "{} files, {lines} lines -> {out}: {} bytes",
        files.len(),
        file.len()
    );
    Ok(())
}
