//! The bulk generator: N deterministic appointments over the sync window (benchmarks use
//! 10,000 and 100,000), apart from the hand-written demo week in `seed.rs`.

use super::*;

/// splitmix64: tiny deterministic PRNG so generated data is identical between runs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Number of patients the generator draws from.
pub const GENERATED_PATIENTS: usize = 500;

/// `n` appointments spread over today−30 d … today+90 d (the client's sync window), mostly for
/// drsmith, ~6% cancelled, `meta.lastUpdated` within the last 30 days.
pub fn generate(st: &AppState, n: usize) {
    let now = st.now();
    let base = st.fhir_base();
    let providers: Vec<String> = {
        let u = st.users.lock().expect("users lock");
        let mut v: Vec<String> = ["drsmith", "drsmith", "drsmith", "drjones", "drold"]
            .iter()
            .filter_map(|n| u.by_name.get(*n).map(|u| u.fhir_ref()))
            .collect();
        if v.is_empty() {
            v.push(format!("Practitioner/{}", util::uuid_from("gen:provider")));
        }
        v
    };
    let patients: Vec<String> = (0..GENERATED_PATIENTS).map(|i| patient(i).0).collect();
    let mut rng = Rng(0x5EED_2026);
    let today = now.date().midnight().assume_utc();
    let mut store = st.store.write().expect("store lock");
    for i in 0..n {
        let day = rng.below(121) as i64 - 30;
        let minute = 8 * 60 + 15 * rng.below(36) as i64;
        let start = today + Duration::days(day) + Duration::minutes(minute);
        let minutes = [15, 30, 30, 45][rng.below(4) as usize];
        let roll = rng.below(100);
        let status = if roll < 6 {
            "cancelled"
        } else if start + Duration::minutes(minutes) < now {
            if roll < 9 { "noshow" } else { "fulfilled" }
        } else if roll < 12 {
            "pending"
        } else {
            "booked"
        };
        let video = rng.below(3) == 0;
        let age = Duration::seconds(rng.below(30 * 86_400) as i64);
        let spec = ApptSpec {
            id: util::uuid_from(&format!("gen:{i}")),
            status,
            category: if video { VIDEO } else { OFFICE },
            patient: patients[rng.below(patients.len() as u64) as usize].clone(),
            provider_ref: providers[rng.below(providers.len() as u64) as usize].clone(),
            start,
            minutes,
            comment: video.then_some("Video follow-up"),
            last_updated: now - age,
        };
        store.insert_built(built(&base, &spec));
    }
}
