//! The shipped ADMX, read the way the Group Policy editor does, for the registry tests: which
//! value each policy writes and in what form.

use super::registry::Hive;
use quick_xml::events::{BytesStart, Event};

const ADMX: &str = include_str!("../../../windows/admx/rounds.admx");

/// What one ADMX policy writes when enabled.
#[derive(Debug)]
pub(super) enum Writes {
    /// enabledValue 1 / disabledValue 0 (or delete).
    Flag,
    Decimal {
        min: u32,
        max: u32,
    },
    Choice(Vec<String>),
    Text,
    MultiText,
}

#[derive(Debug)]
pub(super) struct AdmxPolicy {
    pub(super) name: String,
    pub(super) class: String,
    pub(super) key: String,
    pub(super) value_name: String,
    pub(super) writes: Writes,
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.as_ref() == name).then(|| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default()
        })
    })
}

/// Every `<policy>` of the shipped template, with the registry value it writes.
pub(super) fn admx_policies() -> Vec<AdmxPolicy> {
    let mut reader = quick_xml::Reader::from_str(ADMX);
    let mut out: Vec<AdmxPolicy> = Vec::new();
    let mut in_string = false;
    loop {
        let event = reader.read_event().expect("ADMX is XML");
        let (e, empty) = match &event {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::Text(t) if in_string => {
                if let Some(Writes::Choice(items)) = out.last_mut().map(|p| &mut p.writes) {
                    items.push(String::from(&**t));
                }
                continue;
            }
            Event::End(e) if e.name().as_ref() == "string" => {
                in_string = false;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let get = |n: &str| attr(&e, n).unwrap_or_default();
        let last = out.last_mut();
        match (e.name().as_ref(), last) {
            ("policy", _) => out.push(AdmxPolicy {
                name: get("name"),
                class: get("class"),
                key: get("key"),
                value_name: get("valueName"),
                writes: Writes::Flag,
            }),
            ("decimal", Some(p)) if !get("id").is_empty() => {
                p.value_name = get("valueName");
                p.writes = Writes::Decimal {
                    min: get("minValue").parse().expect("minValue"),
                    max: get("maxValue").parse().expect("maxValue"),
                };
            }
            ("enum", Some(p)) => {
                p.value_name = get("valueName");
                p.writes = Writes::Choice(Vec::new());
            }
            ("string", Some(_)) if !empty => in_string = true,
            ("text", Some(p)) => {
                p.value_name = get("valueName");
                p.writes = Writes::Text;
            }
            ("multiText", Some(p)) => {
                p.value_name = get("valueName");
                p.writes = Writes::MultiText;
            }
            ("list", Some(p)) => panic!("{}: <list> writes subkeys, which Rounds refuses", p.name),
            _ => {}
        }
    }
    assert!(out.len() > 40, "found only {} policies", out.len());
    out
}

pub(super) fn hives(class: &str) -> Vec<Hive> {
    match class {
        "Machine" => vec![Hive::Machine],
        "User" => vec![Hive::User],
        "Both" => vec![Hive::Machine, Hive::User],
        other => panic!("class {other}"),
    }
}
