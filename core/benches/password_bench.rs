//! Per-keystroke cost of `password::check` (issue 10): 200 realistic passwords and passphrases
//! (up to 40 characters) typed one character at a time, `check` called on every prefix, with
//! the leaked-password filter loaded. Beside it, the same prefixes through zxcvbn alone (what
//! `check` cost before the filter) and through the filter alone. Also: the filter's first-load
//! time and its memory. Run: `cargo bench -p rounds-core --bench password_bench`.

use std::time::{Duration, Instant};

use rounds_core::password::{breached, check};

const WORDS: &[&str] = &[
    "plum",
    "ocean",
    "tractor",
    "lantern",
    "violet",
    "gravel",
    "pepper",
    "orbit",
    "copper",
    "meadow",
    "harbor",
    "falcon",
    "cactus",
    "velvet",
    "saddle",
    "pillow",
    "tundra",
    "marble",
    "walnut",
    "ginger",
    "kettle",
    "rocket",
    "bamboo",
    "quartz",
    "badger",
    "canyon",
    "lemon",
    "island",
    "pencil",
    "zipper",
    "turnip",
    "anchor",
    "stethoscope",
    "ward",
    "morning",
    "nurse",
];
const LEAKED_LIKE: &[&str] = &[
    "password123",
    "Welcome2024!",
    "qti7Zxh18U",
    "iloveyou2",
    "Summer2023!",
    "P@ssw0rd1",
    "lipgloss1!",
    "qwertyuiop123",
    "dragonball",
    "monkey12345",
];

/// Deterministic generator, so every run types the same passwords.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

fn passwords() -> Vec<String> {
    let mut rng = SplitMix(2026);
    let mut out = Vec::new();
    for i in 0..200 {
        let pw = match i % 4 {
            // Passphrases of 3–5 words, space or dash separated.
            0 | 1 => {
                let n = 3 + (rng.next() % 3) as usize;
                let sep = if i % 8 < 4 { " " } else { "-" };
                (0..n)
                    .map(|_| rng.pick(WORDS))
                    .collect::<Vec<_>>()
                    .join(sep)
            }
            // Leaked or leaked-looking passwords, sometimes with a suffix.
            2 => format!("{}{}", rng.pick(LEAKED_LIKE), rng.next() % 100),
            // Password-manager strings of 16–24 characters.
            _ => {
                const C: &[u8] =
                    b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%*+-=?@";
                let n = 16 + (rng.next() % 9) as usize;
                (0..n)
                    .map(|_| C[(rng.next() % C.len() as u64) as usize] as char)
                    .collect()
            }
        };
        out.push(pw.chars().take(40).collect());
    }
    out
}

/// Times `f` on every prefix of every password; returns the per-call durations.
fn per_keystroke(pws: &[String], mut f: impl FnMut(&str)) -> Vec<Duration> {
    let mut times = Vec::new();
    for pw in pws {
        let chars: Vec<(usize, char)> = pw.char_indices().collect();
        for &(i, c) in &chars {
            let prefix = &pw[..i + c.len_utf8()];
            let t = Instant::now();
            f(prefix);
            times.push(t.elapsed());
        }
    }
    times.sort_unstable();
    times
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn report(name: &str, t: &[Duration]) -> f64 {
    let (p50, p99, max) = (pct(t, 0.5), pct(t, 0.99), pct(t, 1.0));
    println!("{name:<28} p50 {p50:>9.2} µs   p99 {p99:>9.2} µs   max {max:>9.2} µs");
    p99
}

fn main() {
    let t = Instant::now();
    std::hint::black_box(breached::is_breached("first use loads the filter"));
    let load = t.elapsed();
    println!(
        "filter: {} passwords, {} bytes loaded (read in place from the binary), first load {:.1} µs",
        breached::key_count(),
        breached::filter_bytes(),
        load.as_secs_f64() * 1e6
    );

    let pws = passwords();
    let keystrokes: usize = pws.iter().map(|p| p.chars().count()).sum();
    println!("{} passwords, {keystrokes} keystrokes", pws.len());
    // Warm-up pass (zxcvbn's own lazily built dictionaries, caches).
    per_keystroke(&pws, |p| {
        std::hint::black_box(check(p, 8, &["drsmith", "Sandbox Clinic"]));
    });

    let with = per_keystroke(&pws, |p| {
        std::hint::black_box(check(p, 8, &["drsmith", "Sandbox Clinic"]));
    });
    let base = per_keystroke(&pws, |p| {
        std::hint::black_box(zxcvbn::zxcvbn(p, &["drsmith", "Sandbox Clinic"]));
    });
    let filter = per_keystroke(&pws, |p| {
        std::hint::black_box(breached::is_leaked_or_derived(p));
    });
    let p99 = report("check (zxcvbn + filter)", &with);
    let base_p99 = report("baseline: zxcvbn alone", &base);
    report("filter alone", &filter);
    println!(
        "ratio check / zxcvbn alone: p50 {:.3}, p99 {:.3}",
        pct(&with, 0.5) / pct(&base, 0.5),
        p99 / base_p99
    );
    assert!(
        p99 < 16_000.0,
        "p99 {p99:.0} µs per keystroke: over one frame"
    );
}
