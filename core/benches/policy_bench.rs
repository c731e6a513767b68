//! Policy load time per source (issue 17): the shipped example policy through the JSON file, the
//! macOS managed preferences file (XML and binary plist) and the Group Policy mapping (the
//! in-memory registry listing `registry_win.rs` hands over, so the Windows registry calls
//! themselves are not in it), each read and validated whole, as `Policy::load` does at start.
//! Median of many loads, and the ratio to the JSON file.
//! Run: `cargo bench -p rounds-core --bench policy_bench`.

use rounds_core::policy::registry::{self, Hive, Kind, POLICY_KEY, RegEntry, RegValue};
use rounds_core::policy::{
    FileSource, ManagedPrefsSource, Policy, PolicySource, RegistrySource, SourceStatus, flatten,
};
use serde_json::Value;
use std::time::{Duration, Instant};

const ROUNDS: usize = 3000;

fn to_plist(v: &Value) -> plist::Value {
    match v {
        Value::Bool(b) => plist::Value::Boolean(*b),
        Value::Number(n) => plist::Value::Integer(n.as_i64().unwrap_or_default().into()),
        Value::String(s) => plist::Value::String(s.clone()),
        Value::Array(a) => plist::Value::Array(a.iter().map(to_plist).collect()),
        Value::Object(m) => {
            plist::Value::Dictionary(m.iter().map(|(k, x)| (k.clone(), to_plist(x))).collect())
        }
        Value::Null => plist::Value::String(String::new()),
    }
}

/// The values the ADMX would write for the same document.
fn to_registry(doc: &Value) -> Vec<RegEntry> {
    let mut out = Vec::new();
    for (half, sub) in [("mandatory", "Mandatory"), ("recommended", "Recommended")] {
        for (key, v) in flatten(&doc[half]) {
            let value = match (registry::kinds()[&key], &v) {
                (Kind::Bool, Value::Bool(b)) => RegValue::Dword(u32::from(*b)),
                (Kind::Int, Value::Number(n)) => {
                    RegValue::Dword(n.as_u64().unwrap_or_default() as u32)
                }
                (Kind::Text, Value::String(s)) => RegValue::Sz(s.clone()),
                (Kind::List { .. }, Value::Array(a)) => RegValue::MultiSz(
                    a.iter()
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                        .collect(),
                ),
                (_, v) => RegValue::Sz(v.to_string()),
            };
            out.push(RegEntry::new(&format!(r"{POLICY_KEY}\{sub}"), &key, value));
        }
    }
    out
}

fn median(source: &dyn PolicySource) -> Duration {
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let doc = source.load();
        times.push(t.elapsed());
        assert!(
            matches!(doc, Ok(Some(_))),
            "{}: {:?}",
            source.name(),
            doc.err()
        );
    }
    times.sort();
    times[ROUNDS / 2]
}

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../policy/policy.example.json");
    let text = std::fs::read_to_string(root).expect("example policy");
    let mut doc: Value = serde_json::from_str(&text).expect("json");
    if let Value::Object(m) = &mut doc {
        m.remove("$schema");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let json = dir.path().join("policy.json");
    std::fs::write(&json, &text).expect("write");
    let xml = dir.path().join("xml.plist");
    let bin = dir.path().join("binary.plist");
    to_plist(&doc).to_file_xml(&xml).expect("xml");
    to_plist(&doc).to_file_binary(&bin).expect("binary");
    let entries = to_registry(&doc);

    let sources: Vec<(&str, Box<dyn PolicySource>)> = vec![
        (
            "policy file (JSON)",
            Box::new(FileSource::new("Policy file", &json)),
        ),
        (
            "managed preferences (XML plist)",
            Box::new(ManagedPrefsSource::new("Configuration profile", &xml)),
        ),
        (
            "managed preferences (binary plist)",
            Box::new(ManagedPrefsSource::new("Configuration profile", &bin)),
        ),
        (
            "Group Policy mapping (in-memory values)",
            Box::new(RegistrySource::fixed(Hive::Machine, entries.clone())),
        ),
    ];
    // All four say the same thing.
    let effective = |one: &[Box<dyn PolicySource>]| {
        let p = Policy::load(one);
        assert_eq!(
            p.reports()[0].status,
            SourceStatus::Active,
            "{:?}",
            p.reports()
        );
        p.resolve(&Default::default()).effective
    };
    let first = effective(std::slice::from_ref(&sources[0].1));
    for (name, s) in &sources {
        assert_eq!(effective(std::slice::from_ref(s)), first, "{name}");
    }
    println!(
        "policy load, median of {ROUNDS} (the example policy: {} bytes JSON, {} XML, {} binary, {} registry values)",
        text.len(),
        std::fs::metadata(&xml).map(|m| m.len()).unwrap_or(0),
        std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0),
        entries.len()
    );
    let base = median(sources[0].1.as_ref());
    for (name, s) in &sources {
        let m = median(s.as_ref());
        println!(
            "  {name:<42} {:>8.1} µs  {:>5.2}× the JSON file",
            m.as_secs_f64() * 1e6,
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
}
