//! The chain's files: names, the order they are read in, and the few reads the writer needs
//! (the tail to carry on from, the first line of the oldest file).

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use super::{AuditError, FILE_NAME};

/// `<dir>/audit.jsonl` for 0, `<dir>/audit.<n>.jsonl` for a rotated file.
pub fn file_path(dir: &Path, n: u32) -> PathBuf {
    if n == 0 {
        dir.join(FILE_NAME)
    } else {
        dir.join(format!("audit.{n}.jsonl"))
    }
}

/// The chain's files that exist, oldest first (highest number first, `audit.jsonl` last).
pub fn chain_files(dir: &Path) -> Vec<(u32, PathBuf)> {
    let mut out: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = if name == FILE_NAME {
                0
            } else {
                let mid = name.strip_prefix("audit.")?.strip_suffix(".jsonl")?;
                (mid.bytes().all(|b| b.is_ascii_digit()) && !mid.starts_with('0'))
                    .then(|| mid.parse().ok())??
            };
            Some((n, e.path()))
        })
        .collect();
    out.sort_by_key(|f| std::cmp::Reverse(f.0));
    out
}

pub(crate) fn open_append(path: &Path) -> Result<File, AuditError> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let file = opts.open(path).map_err(AuditError::write)?;
    // An existing file made by something else keeps its mode on open: tighten it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(AuditError::write)?;
    }
    Ok(file)
}

/// The last complete line of a file (a torn last line is skipped) and whether the file ends
/// in a newline. Reads only the tail.
pub(crate) fn last_line(path: &Path) -> Result<(Option<Vec<u8>>, bool), AuditError> {
    let mut f = File::open(path).map_err(AuditError::read)?;
    let len = f.metadata().map_err(AuditError::read)?.len();
    let mut back = 4096u64;
    loop {
        let from = len.saturating_sub(back);
        f.seek(SeekFrom::Start(from)).map_err(AuditError::read)?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(AuditError::read)?;
        let ends_nl = buf.last() == Some(&b'\n');
        let complete = match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => &buf[..i],
            None => &buf[..0],
        };
        match complete.iter().rposition(|&b| b == b'\n') {
            Some(i) => return Ok((Some(complete[i + 1..].to_vec()), ends_nl || len == 0)),
            None if from == 0 => {
                let l = (!complete.is_empty()).then(|| complete.to_vec());
                return Ok((l, ends_nl || len == 0));
            }
            None => back *= 4,
        }
    }
}

pub(crate) fn first_line(path: &Path) -> Option<Vec<u8>> {
    let mut r = BufReader::new(File::open(path).ok()?);
    let mut l = Vec::new();
    r.read_until(b'\n', &mut l).ok()?;
    (l.pop() == Some(b'\n')).then_some(l)
}

/// Renames every chain file by inserting `tag` (`audit.jsonl` → `audit.<tag>.jsonl`, …);
/// never overwrites (a `-2`, `-3`… suffix is added to the tag).
pub(crate) fn set_aside(dir: &Path, tag: &str) -> Result<(), AuditError> {
    let base = tag;
    let mut tag = base.to_string();
    let mut i = 2;
    while dir.join(format!("audit.{tag}.jsonl")).exists() {
        tag = format!("{base}-{i}");
        i += 1;
    }
    for (n, p) in chain_files(dir) {
        let name = if n == 0 {
            format!("audit.{tag}.jsonl")
        } else {
            format!("audit.{tag}.{n}.jsonl")
        };
        std::fs::rename(&p, dir.join(name)).map_err(AuditError::write)?;
    }
    Ok(())
}
