//! macOS managed preferences: the configuration profile IT's MDM installs, as macOS writes it to
//! `/Library/Managed Preferences/` (binary or XML property list, whichever the OS chose).
//!
//! The payload holds the same two halves as the JSON file (`mandatory`, `recommended`, then
//! section, then setting), so one profile and one policy file say the same thing, and the same
//! code checks both. Plain code: tested on Linux against files the tests write; only the choice
//! of path is macOS-only (`sources::platform_sources`).

use super::{PolicyDocument, PolicyError, PolicySource, document};
use serde_json::{Map, Number, Value};
use std::path::{Path, PathBuf};

/// The preference domain: the app's bundle identifier (`tauri.conf.json`), which is also the
/// sample profile's `PayloadType`.
pub const DOMAIN: &str = "app.rounds.desktop";

/// Where macOS writes managed preferences (device-channel profiles; user-channel ones go into a
/// subdirectory named after the user).
pub const MANAGED_PREFERENCES: &str = "/Library/Managed Preferences";

/// The profile's own bookkeeping, which an MDM may leave in the managed file beside the
/// settings: skipped, never treated as settings. Any other unknown key rejects the file.
const PAYLOAD_KEYS: &[&str] = &[
    "PayloadDescription",
    "PayloadDisplayName",
    "PayloadEnabled",
    "PayloadIdentifier",
    "PayloadOrganization",
    "PayloadRemovalDisallowed",
    "PayloadScope",
    "PayloadType",
    "PayloadUUID",
    "PayloadVersion",
];

/// One managed preferences file for [`DOMAIN`].
pub struct ManagedPrefsSource {
    name: String,
    path: PathBuf,
}

impl ManagedPrefsSource {
    pub fn new(name: &str, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
        }
    }
}

/// The device file and, when the user is known, the user's own, device first (it wins).
pub fn sources_in(dir: &Path, user: Option<&str>) -> Vec<ManagedPrefsSource> {
    let file = format!("{DOMAIN}.plist");
    let mut v = vec![ManagedPrefsSource::new(
        "Configuration profile",
        dir.join(&file),
    )];
    if let Some(user) =
        user.filter(|u| !u.is_empty() && !u.contains(['/', '\0']) && !matches!(*u, "." | ".."))
    {
        v.push(ManagedPrefsSource::new(
            "Configuration profile (user)",
            dir.join(user).join(&file),
        ));
    }
    v
}

impl PolicySource for ManagedPrefsSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn location(&self) -> String {
        self.path.display().to_string()
    }
    fn load(&self) -> Result<Option<PolicyDocument>, PolicyError> {
        let location = self.location();
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(PolicyError::Read {
                    location,
                    detail: e.to_string(),
                });
            }
        };
        from_bytes(&bytes)
            .map(Some)
            .map_err(|detail| PolicyError::Invalid { location, detail })
    }
}

/// A policy from the bytes of a managed preferences file (binary or XML plist).
pub fn from_bytes(bytes: &[u8]) -> Result<PolicyDocument, String> {
    from_plist(&parse(bytes)?)
}

/// A policy from an (unsigned) configuration profile: what its payload would put in force.
pub fn from_profile(bytes: &[u8]) -> Result<PolicyDocument, String> {
    from_plist(&plist::Value::Dictionary(payload_of_profile(bytes)?))
}

fn parse(bytes: &[u8]) -> Result<plist::Value, String> {
    plist::Value::from_reader(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a property list: {e}"))
}

fn from_plist(value: &plist::Value) -> Result<PolicyDocument, String> {
    let Value::Object(mut top) = to_json(value, "")? else {
        return Err("the property list must be a dictionary at the top".into());
    };
    top.retain(|k, _| !PAYLOAD_KEYS.contains(&k.as_str()));
    document::from_value(&Value::Object(top))
}

/// The plist tree as the JSON tree a policy file would hold. Dates, data and UIDs have no
/// meaning in a policy, so they are refused with their key rather than guessed at.
fn to_json(v: &plist::Value, at: &str) -> Result<Value, String> {
    let key = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    Ok(match v {
        plist::Value::Boolean(b) => Value::Bool(*b),
        plist::Value::String(s) => Value::String(s.clone()),
        plist::Value::Integer(i) => match (i.as_signed(), i.as_unsigned()) {
            (_, Some(u)) => Value::Number(u.into()),
            (Some(s), None) => Value::Number(s.into()),
            (None, None) => return Err(format!("{at}: integer out of range")),
        },
        // Kept as a number so the type check says "floating point, expected u16" with its key.
        plist::Value::Real(f) => Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("{at}: {f} is not a number"))?,
        plist::Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| to_json(x, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        plist::Value::Dictionary(d) => {
            let mut m = Map::new();
            for (k, x) in d {
                m.insert(k.clone(), to_json(x, &key(k))?);
            }
            Value::Object(m)
        }
        other => {
            let what = match other {
                plist::Value::Date(_) => "<date>",
                plist::Value::Data(_) => "<data>",
                _ => "value of this type",
            };
            return Err(format!(
                "{at}: a {what} has no meaning in a Rounds policy (use <string>, <integer>, \
                 <true/>/<false/>, <array> or <dict>)"
            ));
        }
    })
}

/// The settings payload of a configuration profile (`.mobileconfig`), as macOS would write it
/// to the managed preferences file: the `PayloadContent` entry whose `PayloadType` is
/// [`DOMAIN`], without the payload's own keys. For checking a profile before it is signed.
pub fn payload_of_profile(bytes: &[u8]) -> Result<plist::Dictionary, String> {
    let profile = parse(bytes)?;
    let content = profile
        .as_dictionary()
        .and_then(|d| d.get("PayloadContent"))
        .and_then(|c| c.as_array())
        .ok_or("no PayloadContent array: not a configuration profile")?;
    let mut payload = content
        .iter()
        .filter_map(|p| p.as_dictionary())
        .find(|p| p.get("PayloadType").and_then(|t| t.as_string()) == Some(DOMAIN))
        .cloned()
        .ok_or_else(|| format!("no payload of type {DOMAIN} in PayloadContent"))?;
    payload.retain(|k, _| !PAYLOAD_KEYS.contains(&k.as_str()));
    Ok(payload)
}
