//! What a process tree costs: PSS and CPU time of some processes and everything below them
//! (the app's WebKit processes, a browser's renderers), read from /proc.

/// PSS (MiB) and CPU seconds (user + system) of `roots` and all their descendants.
pub fn tree_usage(roots: &[u32]) -> (f64, f64) {
    let stat = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    // Fields after the command name, which may itself hold spaces and parentheses.
    let fields = |s: &str| -> Vec<String> {
        s.rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let all: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
        .collect();
    let parent = |p: u32| stat(p).and_then(|s| fields(&s).get(1)?.parse::<u32>().ok());
    let in_tree = |mut p: u32| {
        for _ in 0..24 {
            if roots.contains(&p) {
                return true;
            }
            match parent(p) {
                Some(q) if q > 1 => p = q,
                _ => return false,
            }
        }
        false
    };
    let (mut pss_kib, mut ticks) = (0u64, 0u64);
    for p in all.into_iter().filter(|p| in_tree(*p)) {
        if let Some(kib) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("Pss:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<u64>()
                    .ok()
            })
        {
            pss_kib += kib;
        }
        if let Some(s) = stat(p) {
            let f = fields(&s);
            // utime, stime: fields 14 and 15 of stat (11 and 12 after the name).
            for i in [11, 12] {
                ticks += f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
    (pss_kib as f64 / 1024.0, ticks as f64 / 100.0)
}

/// PSS (MiB) of `roots` and everything below them.
pub fn tree_pss_mib(roots: &[u32]) -> f64 {
    tree_usage(roots).0
}
