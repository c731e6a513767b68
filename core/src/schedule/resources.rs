//! The two other FHIR documents the sync reads: the CapabilityStatement (does Appointment
//! search support `_lastUpdated`?) and Patient search results (names for the day view, since
//! OpenEMR references patients by uuid only).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::fhir::{MAX_DISPLAY_CHARS, ParseError, clean, describe, valid_id};

#[derive(Deserialize)]
struct SearchParam<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RestResource<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "searchParam", borrow)]
    search_param: Option<Vec<SearchParam<'a>>>,
}

#[derive(Deserialize)]
struct Rest<'a> {
    #[serde(borrow)]
    resource: Option<Vec<RestResource<'a>>>,
}

#[derive(Deserialize)]
struct Capability<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    rest: Option<Vec<Rest<'a>>>,
}

/// Whether `/metadata` lists `_lastUpdated` for Appointment (older OpenEMR maps only
/// `patient` and `_id`, and stamps `meta.lastUpdated` with the request time).
pub fn supports_last_updated(json: &[u8]) -> Result<bool, ParseError> {
    let c: Capability<'_> =
        serde_json::from_slice(json).map_err(|e| ParseError::Malformed(describe(&e)))?;
    if c.resource_type.as_deref() != Some("CapabilityStatement") {
        return Err(ParseError::WrongResource(
            "not a CapabilityStatement".into(),
        ));
    }
    Ok(c.rest
        .unwrap_or_default()
        .into_iter()
        .flat_map(|r| r.resource.unwrap_or_default())
        .filter(|r| r.kind.as_deref() == Some("Appointment"))
        .flat_map(|r| r.search_param.unwrap_or_default())
        .any(|p| p.name.as_deref() == Some("_lastUpdated")))
}

#[derive(Deserialize)]
struct HumanName<'a> {
    #[serde(rename = "use", borrow)]
    usage: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    family: Option<Cow<'a, str>>,
    #[serde(borrow)]
    given: Option<Vec<Cow<'a, str>>>,
}

#[derive(Deserialize)]
struct Patient<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Vec<HumanName<'a>>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow)]
    resource: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Bundle<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    entry: Option<Vec<&'a RawValue>>,
}

/// The name to show: the `official` (else `usual`, else first not-`old`) HumanName's `text`,
/// else given names + family.
fn display_name(names: &[HumanName<'_>]) -> Option<String> {
    let pick = names
        .iter()
        .find(|n| n.usage.as_deref() == Some("official"))
        .or_else(|| names.iter().find(|n| n.usage.as_deref() == Some("usual")))
        .or_else(|| names.iter().find(|n| n.usage.as_deref() != Some("old")))?;
    if let Some(t) = pick
        .text
        .as_deref()
        .and_then(|t| clean(t, MAX_DISPLAY_CHARS, false))
    {
        return Some(t);
    }
    let mut parts: Vec<&str> = pick.given.iter().flatten().map(|g| g.as_ref()).collect();
    parts.extend(pick.family.as_deref());
    clean(&parts.join(" "), MAX_DISPLAY_CHARS, false)
}

/// (id, display name) of every readable Patient in a search Bundle; other entries are
/// ignored (a missing name only leaves the day view showing "unknown patient").
pub fn parse_patients(json: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
    let b: Bundle<'_> =
        serde_json::from_slice(json).map_err(|e| ParseError::Malformed(describe(&e)))?;
    if b.resource_type.as_deref() != Some("Bundle") {
        return Err(ParseError::WrongResource("not a Bundle".into()));
    }
    let mut out = Vec::new();
    for raw in b.entry.unwrap_or_default() {
        let Ok(Entry {
            resource: Some(res),
        }) = serde_json::from_str::<Entry<'_>>(raw.get())
        else {
            continue;
        };
        let Ok(p) = serde_json::from_str::<Patient<'_>>(res.get()) else {
            continue;
        };
        if p.resource_type.as_deref() != Some("Patient") {
            continue;
        }
        let (Some(id), Some(name)) = (p.id, p.name.as_deref().and_then(display_name)) else {
            continue;
        };
        if valid_id(&id) {
            out.push((id.into_owned(), name));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sandbox_capability_statement_shape() {
        let yes = br#"{"resourceType":"CapabilityStatement","rest":[{"mode":"server","resource":[
            {"type":"Patient","searchParam":[{"name":"_id","type":"token"}]},
            {"type":"Appointment","searchParam":[{"name":"_id"},{"name":"date"},{"name":"_lastUpdated","type":"date"}]}]}]}"#;
        assert_eq!(supports_last_updated(yes), Ok(true));
        let old = br#"{"resourceType":"CapabilityStatement","rest":[{"resource":[
            {"type":"Appointment","searchParam":[{"name":"patient"},{"name":"_id"}]},
            {"type":"Patient","searchParam":[{"name":"_lastUpdated"}]}]}]}"#;
        assert_eq!(supports_last_updated(old), Ok(false));
        assert!(supports_last_updated(br#"{"resourceType":"Bundle"}"#).is_err());
        assert!(supports_last_updated(b"[").is_err());
    }

    #[test]
    fn picks_the_official_name_and_skips_junk() {
        let b = br#"{"resourceType":"Bundle","type":"searchset","entry":[
          {"resource":{"resourceType":"Patient","id":"p1","name":[{"use":"old","family":"Old"},
             {"use":"official","family":"Abernathy","given":["Amelia","Rose"]}]}},
          {"resource":{"resourceType":"Patient","id":"p2","name":[{"text":"Bruno Castellano"}]}},
          {"resource":{"resourceType":"Patient","id":"p3","name":"not a list"}},
          {"resource":{"resourceType":"Patient","id":"bad id!","name":[{"text":"X"}]}},
          {"resource":{"resourceType":"Practitioner","id":"d1","name":[{"text":"Dr"}]}},
          {"resource":{"resourceType":"Patient","id":"p4","name":[{"text":"\u001b[31mRed\u0007"}]}},
          42]}"#;
        let got = parse_patients(b).expect("bundle");
        assert_eq!(
            got,
            vec![
                ("p1".to_string(), "Amelia Rose Abernathy".to_string()),
                ("p2".to_string(), "Bruno Castellano".to_string()),
                ("p4".to_string(), "[31mRed".to_string()),
            ]
        );
    }
}
