//! Windows Group Policy: the registry values the ADMX template writes, mapped to a policy
//! document.
//!
//! Plain code over an in-memory list of values, so Linux tests cover all of it against the
//! shipped ADMX (`policy/tests_registry.rs`); the only Windows code is the few lines that read
//! the registry (`registry_win.rs`). Layout (`scripts/admin-templates.mjs`): one value per dotted
//! key under `Software\Policies\Rounds\Mandatory` or `…\Recommended`; booleans and numbers
//! REG_DWORD, choices and text REG_SZ, lists of numbers or names REG_MULTI_SZ, lists of records
//! and maps REG_SZ holding JSON (as Chrome does). HKLM may hold both halves; HKCU (User
//! Configuration) only `Recommended`: a locked setting is a property of the computer, so it
//! comes from Computer Configuration, never from a policy that follows the user around.

use super::{PolicyDocument, PolicyError, PolicySource, document};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Below HKLM and HKCU.
pub const POLICY_KEY: &str = r"Software\Policies\Rounds";

/// One registry value's data, by type (`Other` names types no policy uses).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub enum RegValue {
    Sz(String),
    ExpandSz(String),
    MultiSz(Vec<String>),
    Dword(u32),
    Qword(u64),
    Other(String),
}

impl RegValue {
    fn type_name(&self) -> &str {
        match self {
            Self::Sz(_) => "REG_SZ",
            Self::ExpandSz(_) => "REG_EXPAND_SZ",
            Self::MultiSz(_) => "REG_MULTI_SZ",
            Self::Dword(_) => "REG_DWORD",
            Self::Qword(_) => "REG_QWORD",
            Self::Other(t) => t,
        }
    }
}

/// One value as read: the key below the hive, the value's name, its data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RegEntry {
    pub key: String,
    pub name: String,
    pub value: RegValue,
}

impl RegEntry {
    pub fn new(key: &str, name: &str, value: RegValue) -> Self {
        Self {
            key: key.into(),
            name: name.into(),
            value,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hive {
    /// HKLM: Computer Configuration.
    Machine,
    /// HKCU: User Configuration.
    User,
}

impl Hive {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Machine => "HKLM",
            Self::User => "HKCU",
        }
    }
}

/// How a setting is written, derived from the same JSON Schema the ADMX is generated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// REG_DWORD 0 or 1.
    Bool,
    /// REG_DWORD.
    Int,
    /// REG_SZ: a choice or a text.
    Text,
    /// REG_MULTI_SZ, one item per string.
    List { numbers: bool },
    /// REG_SZ holding JSON.
    Json,
}

/// Every dotted key and its registry form.
pub fn kinds() -> &'static BTreeMap<String, Kind> {
    static KINDS: OnceLock<BTreeMap<String, Kind>> = OnceLock::new();
    KINDS.get_or_init(|| {
        let schema =
            serde_json::to_value(schemars::schema_for!(PolicyDocument)).unwrap_or(Value::Null);
        let defs = &schema["$defs"];
        let target = |v: &Value| {
            let r = v["$ref"].as_str().or_else(|| {
                v["anyOf"]
                    .as_array()
                    .and_then(|a| a.iter().find_map(|x| x["$ref"].as_str()))
            });
            r.and_then(|r| r.rsplit('/').next())
                .map(|name| defs[name].clone())
        };
        let has = |v: &Value, t: &str| match &v["type"] {
            Value::String(s) => s == t,
            Value::Array(a) => a.iter().any(|x| x == t),
            _ => false,
        };
        let mut out = BTreeMap::new();
        let sections = defs["Settings"]["properties"].as_object().cloned();
        for (section, s) in sections.unwrap_or_default() {
            let fields = target(&s).and_then(|d| d["properties"].as_object().cloned());
            for (field, f) in fields.unwrap_or_default() {
                let kind = if target(&f).is_some_and(|d| d["enum"].is_array()) {
                    Kind::Text
                } else if has(&f, "boolean") {
                    Kind::Bool
                } else if has(&f, "integer") {
                    Kind::Int
                } else if has(&f, "array") && has(&f["items"], "integer") {
                    Kind::List { numbers: true }
                } else if has(&f, "array") && has(&f["items"], "string") {
                    Kind::List { numbers: false }
                } else if has(&f, "array") || has(&f, "object") {
                    Kind::Json
                } else {
                    Kind::Text
                };
                out.insert(format!("{section}.{field}"), kind);
            }
        }
        out
    })
}

/// The document the values of one hive make; `None` when the hive holds no Rounds policy.
/// Errors name the value (`Mandatory\session.idle_lock_minutes: …`) below the policy key.
pub fn document_from(hive: Hive, entries: &[RegEntry]) -> Result<Option<PolicyDocument>, String> {
    if entries.is_empty() {
        return Ok(None);
    }
    let mut halves: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in entries {
        // The registry compares key and value names without regard to case; so does this.
        let sub = strip_prefix_ci(&e.key, POLICY_KEY)
            .and_then(|rest| rest.strip_prefix('\\'))
            .unwrap_or(&e.key);
        let at = format!(
            r"{sub}\{}",
            if e.name.is_empty() {
                "(Default)"
            } else {
                &e.name
            }
        );
        let half = match sub.to_ascii_lowercase().as_str() {
            "mandatory" if hive == Hive::User => {
                return Err(format!(
                    r"{at}: locked settings are read only from HKLM (Computer Configuration); \
                     put it there, or under HKCU\{POLICY_KEY}\Recommended"
                ));
            }
            "mandatory" => "mandatory",
            "recommended" => "recommended",
            _ => {
                return Err(format!(
                    r"{at}: not a Rounds policy value (settings go under {POLICY_KEY}\Mandatory or \Recommended)"
                ));
            }
        };
        let key = e.name.to_ascii_lowercase();
        let kind = kinds()
            .get(&key)
            .ok_or_else(|| format!("{at}: unknown setting `{}`", e.name))?;
        if !seen.insert((half, key.clone())) {
            return Err(format!("{at}: set twice"));
        }
        let value = convert(*kind, &e.value).map_err(|d| format!("{at}: {d}"))?;
        let (section, field) = key.split_once('.').unwrap_or((&key, ""));
        let fields = halves
            .entry(half)
            .or_default()
            .entry(section.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = fields {
            m.insert(field.to_string(), value);
        }
    }
    let tree = halves
        .into_iter()
        .map(|(h, m)| (h.to_string(), Value::Object(m)))
        .collect::<Map<_, _>>();
    document::from_value(&Value::Object(tree))
        .map(Some)
        .map_err(|e| {
            // `mandatory.session.x: …` → `Mandatory\session.x: …`, the value IT set (the key
            // names are lower-cased dotted keys, as the registry compares them).
            for (half, key) in [("mandatory.", "Mandatory"), ("recommended.", "Recommended")] {
                if let Some(rest) = e.strip_prefix(half) {
                    return format!(r"{key}\{rest}");
                }
            }
            e
        })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// One value as the JSON the document expects; range checks are left to validation.
fn convert(kind: Kind, v: &RegValue) -> Result<Value, String> {
    let wrong = |want: &str| {
        Err(format!(
            "{} where {want} is expected (as the Rounds ADMX writes it)",
            v.type_name()
        ))
    };
    match (kind, v) {
        (Kind::Bool, RegValue::Dword(0)) => Ok(Value::Bool(false)),
        (Kind::Bool, RegValue::Dword(1)) => Ok(Value::Bool(true)),
        (Kind::Bool, RegValue::Dword(n)) => Err(format!("REG_DWORD {n} is neither 0 nor 1")),
        (Kind::Bool, _) => wrong("REG_DWORD 0 or 1"),
        (Kind::Int, RegValue::Dword(n)) => Ok(Value::Number((*n).into())),
        (Kind::Int, _) => wrong("REG_DWORD"),
        (Kind::Text, RegValue::Sz(s)) => Ok(Value::String(s.clone())),
        (Kind::Text, _) => wrong("REG_SZ"),
        (Kind::List { numbers }, RegValue::MultiSz(items)) => items
            .iter()
            .map(|s| s.trim())
            // REG_MULTI_SZ cannot hold an empty string; an empty one is the list's end.
            .filter(|s| !s.is_empty())
            .map(|s| match numbers {
                false => Ok(Value::String(s.to_string())),
                true => s
                    .parse::<u64>()
                    .map(|n| Value::Number(n.into()))
                    .map_err(|_| format!("`{s}` is not a whole number")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (Kind::List { .. }, _) => wrong("REG_MULTI_SZ (one item per line)"),
        (Kind::Json, RegValue::Sz(s)) => {
            serde_json::from_str(s).map_err(|e| format!("REG_SZ is not JSON: {e}"))
        }
        (Kind::Json, _) => wrong("REG_SZ holding JSON"),
    }
}

type Reader = Box<dyn Fn() -> Result<Vec<RegEntry>, String> + Send + Sync>;

/// One hive's `Software\Policies\Rounds`.
pub struct RegistrySource {
    name: &'static str,
    hive: Hive,
    read: Reader,
}

impl RegistrySource {
    /// `read` lists every value below [`POLICY_KEY`] (empty when the key is absent).
    pub fn new(
        hive: Hive,
        read: impl Fn() -> Result<Vec<RegEntry>, String> + Send + Sync + 'static,
    ) -> Self {
        let name = match hive {
            Hive::Machine => "Group Policy",
            Hive::User => "Group Policy (user)",
        };
        Self {
            name,
            hive,
            read: Box::new(read),
        }
    }

    /// Values given in memory: tests, the bench, and debug builds' `ROUNDS_REGISTRY_JSON`.
    pub fn fixed(hive: Hive, entries: Vec<RegEntry>) -> Self {
        Self::new(hive, move || Ok(entries.clone()))
    }
}

impl PolicySource for RegistrySource {
    fn name(&self) -> &str {
        self.name
    }
    fn location(&self) -> String {
        format!(r"{}\{POLICY_KEY}", self.hive.prefix())
    }
    fn load(&self) -> Result<Option<PolicyDocument>, PolicyError> {
        let location = self.location();
        let entries = (self.read)().map_err(|detail| PolicyError::Read {
            location: location.clone(),
            detail,
        })?;
        document_from(self.hive, &entries)
            .map_err(|detail| PolicyError::Invalid { location, detail })
    }
}
