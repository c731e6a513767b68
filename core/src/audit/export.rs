//! IT's copy of the log: the records since a date, oldest first, as the JSON lines themselves
//! (chain fields included, so a copy can be checked against the original) or as CSV with a
//! fixed column set. Both carry only what the log carries: times, kinds, ids, counts, codes.

use std::io::Write;
use std::path::Path;

use super::chain;
use super::files::chain_files;
use crate::schedule::instant::{format_instant, parse_instant};

/// The CSV columns, in order. `detail` is `key=value` pairs joined by `;`.
pub const CSV_COLUMNS: &str = "seq,at,kind,appointment,detail,mac";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant → the `at` text to compare with (the
/// log writes `at` as `YYYY-MM-DDTHH:MM:SSZ`, so text order is time order).
pub fn parse_since(s: &str) -> Option<String> {
    let t = if s.len() == 10 {
        parse_instant(&format!("{s}T00:00:00Z"))?
    } else {
        parse_instant(s)?
    };
    Some(format_instant(t))
}

/// Writes every record with `at >= since` to `out`; returns how many.
pub fn export(
    dir: &Path,
    since: &str,
    format: Format,
    out: &mut dyn Write,
) -> std::io::Result<u64> {
    let mut n = 0;
    if format == Format::Csv {
        writeln!(out, "{CSV_COLUMNS}")?;
    }
    for (_, path) in chain_files(dir) {
        let bytes = std::fs::read(&path)?;
        for line in bytes.split(|&b| b == b'\n') {
            let Ok(link) = chain::parse(line) else {
                continue;
            };
            if link.at.as_str() < since {
                continue;
            }
            n += 1;
            match format {
                Format::Jsonl => {
                    out.write_all(line)?;
                    out.write_all(b"\n")?;
                }
                Format::Csv => {
                    let v: serde_json::Value =
                        serde_json::from_slice(line).unwrap_or(serde_json::Value::Null);
                    let appointment = v["appointment"].as_str().unwrap_or("");
                    let detail: Vec<String> = link
                        .detail
                        .iter()
                        .map(|(k, v)| match v {
                            serde_json::Value::String(s) => format!("{k}={s}"),
                            other => format!("{k}={other}"),
                        })
                        .collect();
                    let mac = if link.mac.is_some() { "keyed" } else { "none" };
                    writeln!(
                        out,
                        "{},{},{},{},{},{mac}",
                        link.seq,
                        csv_field(&link.at),
                        csv_field(&link.kind),
                        csv_field(appointment),
                        csv_field(&detail.join(";")),
                    )?;
                }
            }
        }
    }
    Ok(n)
}

/// RFC 4180 quoting where a field needs it (the log's values never do; a hand-edited file
/// still gives a valid CSV).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
