//! One policy document from a generic tree, with errors that name the key.
//!
//! The JSON file gets serde's line and column; the managed preferences and the registry have no
//! lines, so IT needs the key itself (`mandatory.session.idle_lock_minutes`) to find a bad value.
//! Every source ends here, so the types, ranges and "rejected as a whole" rule are the same for
//! all of them.

use super::{PolicyDocument, Settings};
use serde::Deserialize;
use serde_json::{Map, Value};

const HALVES: [&str; 2] = ["mandatory", "recommended"];

/// A document from `{mandatory: {section: {field: v}}, recommended: …}`, checked as the file is.
pub(super) fn from_value(value: &Value) -> Result<PolicyDocument, String> {
    // From `&Value`: no copy of the tree on the (common) valid path.
    let doc = PolicyDocument::deserialize(value)
        .map_err(|e| locate(value).unwrap_or_else(|| e.to_string()))?;
    validate(&doc)?;
    Ok(doc)
}

/// The range and "only stricter" rules of both halves, prefixed with the half.
pub(super) fn validate(doc: &PolicyDocument) -> Result<(), String> {
    doc.mandatory
        .validate()
        .map_err(|e| format!("mandatory.{e}"))?;
    doc.recommended
        .validate()
        .map_err(|e| format!("recommended.{e}"))
}

/// The first key serde refuses, with serde's reason; `None` when no single key is to blame.
fn locate(value: &Value) -> Option<String> {
    let Value::Object(top) = value else {
        return Some(format!(
            "the document must be a dictionary with `mandatory` and/or `recommended`, not {}",
            kind(value)
        ));
    };
    for (half, sections) in top {
        if half == "$schema" {
            continue;
        }
        if !HALVES.contains(&half.as_str()) {
            return Some(format!(
                "unknown key `{half}`: a policy has only `mandatory` and `recommended`"
            ));
        }
        let Value::Object(sections) = sections else {
            return Some(format!(
                "{half}: must be a dictionary, not {}",
                kind(sections)
            ));
        };
        for (section, fields) in sections {
            let one = |fields: Value| {
                let mut m = Map::new();
                m.insert(section.clone(), fields);
                Settings::deserialize(&Value::Object(m))
            };
            if let Err(e) = one(Value::Object(Map::new())) {
                return Some(format!("{half}.{section}: unknown section ({e})"));
            }
            let Value::Object(fields) = fields else {
                return Some(format!(
                    "{half}.{section}: must be a dictionary, not {}",
                    kind(fields)
                ));
            };
            for (field, v) in fields {
                let mut m = Map::new();
                m.insert(field.clone(), v.clone());
                if let Err(e) = one(Value::Object(m)) {
                    return Some(format!("{half}.{section}.{field}: {e}"));
                }
            }
        }
    }
    None
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a dictionary",
    }
}
