//! The breached-password filter (issue 10): leaked passwords that the rest of the check would
//! let through, shipped inside the binary as a binary fuse filter with 8-bit fingerprints
//! (~1.13 bytes a password instead of the ~57 MB of text the lists take).
//!
//! Why: zxcvbn's estimate and its 30k list miss passwords that look random (`qti7Zxh18U`) but
//! are known to attackers because they leaked; only a list of leaked passwords catches those.
//!
//! Where the list comes from, and how to rebuild the filter: `core/data/README.md` and
//! `scripts/breached-filter.sh`. The filter file is generated once from two registry packages
//! (pinned by version and SHA-256) and committed, so a build needs neither the network, nor
//! node_modules, nor Python, and spends no time on it.
//!
//! Keys are the password lowercased (so `KOTMICHANIK` is caught like `kotmichanik`), hashed
//! to 64 bits with a stable hash (FNV-1a, then the murmur3 finaliser): the file must mean the
//! same thing on every platform and Rust release, which `std`'s hasher does not promise.
//!
//! Which passwords are in it (`core/examples/breached_filter.rs`): from the 4.43 million leaked
//! passwords of 8+ characters, only those zxcvbn's estimate would accept (2.87 million; the
//! others are refused anyway), and of those the ones of at most 11 characters (1.69 million).
//! Shorter leaked passwords are the ones reused and tried first; the size keeps the installed
//! package within its 10 MiB budget (16-bit fingerprints for all 2.87 million would add
//! 6.5 MB).
//!
//! A false positive (a password reported as leaked that is not) only makes the user choose
//! another one; it is never a security hole. Its rate is 2^-8 ≈ 0.4% a lookup (`check` does one
//! lookup for a password that starts and ends with a letter, up to three otherwise).

use std::sync::LazyLock;

use xorf::{BinaryFuse8, BinaryFuse8Ref, DmaSerializable, Filter, FilterRef};

#[cfg(target_endian = "big")]
compile_error!("the breached-password filter file stores little-endian fingerprints");

/// File magic and format version: `RBF8v1\0\0`.
const MAGIC: &[u8; 8] = b"RBF8v1\0\0";
/// Header: magic (8), key count (u64 LE), xorf descriptor (20) + 4 bytes padding.
const HEADER_LEN: usize = 40;

/// `include_bytes!` gives no alignment; the fingerprints are read in place as `u16`.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

static FILE: &Aligned<[u8]> = &Aligned(*include_bytes!("../../data/breached-passwords.bfuse8"));

/// Parsed once, on first use; the fingerprints stay in the binary's read-only data (no copy).
static FILTER: LazyLock<BinaryFuse8Ref<'static>> = LazyLock::new(|| {
    let bytes = &FILE.0;
    assert!(
        bytes.len() > HEADER_LEN && &bytes[..8] == MAGIC,
        "breached-password filter file is damaged"
    );
    BinaryFuse8Ref::from_dma(&bytes[16..36], &bytes[HEADER_LEN..])
});

/// The lookup key of a password: lowercased, hashed to 64 bits (see the module doc).
#[doc(hidden)]
pub fn key(password: &str) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = FNV_OFFSET;
    for c in password.chars().flat_map(char::to_lowercase) {
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }
    // murmur3 fmix64: spreads FNV's weak high bits over the whole word.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Whether `password` (any case) is in the leaked-password list, up to the false-positive rate.
pub fn is_breached(password: &str) -> bool {
    FILTER.contains(&key(password))
}

/// Whether `password` is leaked, or is a leaked password of 8+ characters with digits or
/// symbols added before or after it (`lipgloss1` from the leaked `lipgloss`). Attackers try
/// such endings first; on the reference data it catches 0.2% more, and it cannot touch a
/// passphrase of unrelated words unless the words themselves leaked. At most three lookups.
pub fn is_leaked_or_derived(password: &str) -> bool {
    if is_breached(password) {
        return true;
    }
    let trimmed_end = password.trim_end_matches(|c: char| !c.is_alphabetic());
    let trimmed_start = password.trim_start_matches(|c: char| !c.is_alphabetic());
    [trimmed_end, trimmed_start]
        .into_iter()
        .any(|base| base.len() != password.len() && base.chars().count() >= 8 && is_breached(base))
}

/// Number of passwords the filter was built from (from the file header).
pub fn key_count() -> u64 {
    let mut n = [0u8; 8];
    n.copy_from_slice(&FILE.0[8..16]);
    u64::from_le_bytes(n)
}

/// Bytes the loaded filter occupies (the file, mapped read-only; nothing is copied to the heap).
pub fn filter_bytes() -> usize {
    FILE.0.len()
}

/// Builds the filter file from lookup keys (see [`key`]); used by the generator example.
#[doc(hidden)]
pub fn encode(mut keys: Vec<u64>) -> Result<Vec<u8>, &'static str> {
    keys.sort_unstable();
    keys.dedup();
    let filter = BinaryFuse8::try_from(&keys)?;
    let mut out = vec![0u8; HEADER_LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..16].copy_from_slice(&(keys.len() as u64).to_le_bytes());
    filter.dma_copy_descriptor_to(&mut out[16..36]);
    out.extend_from_slice(filter.dma_fingerprints());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no `rand` dependency for one test).
    struct SplitMix(u64);
    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn random_string(&mut self, len: usize) -> String {
            const CHARS: &[u8] =
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%&*+-=?@_";
            (0..len)
                .map(|_| CHARS[(self.next() % CHARS.len() as u64) as usize] as char)
                .collect()
        }
    }

    #[test]
    fn known_leaked_passwords_are_found_in_any_case() {
        // From the source lists: random-looking, so zxcvbn alone accepts them.
        for pw in ["qti7Zxh18U", "3Odi15ngxB", "3ODI15NGXB"] {
            assert!(is_breached(pw), "{pw} not found");
        }
        assert!(!is_breached("3Odi15ngxB!!") && is_leaked_or_derived("3Odi15ngxB!!"));
        assert!(is_leaked_or_derived("2024qti7Zxh18U"));
        assert!(key_count() > 1_500_000, "{}", key_count());
    }

    #[test]
    fn false_positive_rate_on_random_strings_is_below_one_percent() {
        let mut rng = SplitMix(0x5eed);
        let n = 100_000;
        let hits = (0..n)
            .filter(|i| is_leaked_or_derived(&rng.random_string(12 + i % 13)))
            .count();
        let rate = hits as f64 / n as f64;
        println!("false positives: {hits} of {n} random strings ({rate:.1e})");
        // 2^-8 a lookup; strings with symbols at an end get up to three lookups.
        assert!(rate < 0.01, "{hits} of {n}");
    }

    #[test]
    fn passphrases_of_unrelated_words_are_not_reported() {
        const WORDS: &[&str] = &[
            "plum", "ocean", "tractor", "lantern", "violet", "gravel", "pepper", "orbit", "copper",
            "meadow", "harbor", "falcon", "cactus", "velvet", "saddle", "pillow", "tundra",
            "marble", "walnut", "ginger", "kettle", "rocket", "bamboo", "quartz", "badger",
            "canyon", "lemon", "island", "pencil", "zipper", "turnip", "anchor",
        ];
        let mut rng = SplitMix(42);
        let mut word = || WORDS[(rng.next() % WORDS.len() as u64) as usize];
        let n = 20_000;
        let hits = (0..n)
            .map(|_| [word(), word(), word(), word()].join(" "))
            .filter(|p| is_leaked_or_derived(p) || is_leaked_or_derived(&p.replace(' ', "")))
            .count();
        println!("{hits} of {n} four-word passphrases reported as leaked");
        // Two lookups each (with and without spaces) at 2^-8.
        assert!(
            hits <= n / 80,
            "{hits} of {n} four-word passphrases reported as leaked"
        );
        assert!(!is_leaked_or_derived("correct horse battery staple"));
        assert!(!is_leaked_or_derived(&SplitMix(7).random_string(16)));
    }

    #[test]
    fn key_is_stable_and_case_blind() {
        // Pinned: the committed filter file depends on these exact values.
        assert_eq!(key("Password123"), key("password123"));
        assert_eq!(key("password123"), 0xfeff_4875_add8_01f0);
        assert_ne!(key("password123"), key("password124"));
    }
}
