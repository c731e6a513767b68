//! Group Policy, on Linux: the registry mapping against the shipped ADMX itself, so the
//! template and the reader cannot drift, and the hive's whole-or-nothing rule.

use super::registry::{self, Hive, Kind, POLICY_KEY, RegEntry, RegValue, RegistrySource};
use super::tests_admx::{Writes, admx_policies, hives};
use super::*;
use serde_json::json;
use std::collections::BTreeSet;

/// The values the policy schema allows for a choice setting, in order.
fn schema_choices(key: &str) -> Vec<String> {
    let schema: Value = serde_json::from_str(&json_schema()).unwrap_or_default();
    let (section, field) = key.split_once('.').unwrap_or_default();
    let name = |v: &Value| {
        let r = v["$ref"].as_str().or_else(|| {
            v["anyOf"]
                .as_array()
                .and_then(|a| a.iter().find_map(|x| x["$ref"].as_str()))
        });
        r.and_then(|r| r.rsplit('/').next())
            .unwrap_or_default()
            .to_string()
    };
    let defs = &schema["$defs"];
    let section_def = &defs[name(&defs["Settings"]["properties"][section])];
    let choice = &defs[name(&section_def["properties"][field])];
    choice["enum"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Valid REG_SZ data for text policies; a key missing here still has to reach its setting.
fn text_sample(key: &str) -> &'static str {
    match key {
        "clinic.servers" => {
            r#"[{"url":"https://emr.example.org","site":"default","display_name":"General"}]"#
        }
        "network.spki_pins" => {
            r#"{"emr.example.org":["sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}"#
        }
        "network.ca_bundle" => "/etc/rounds/ca.pem",
        "network.proxy" => "http://proxy.example:3128",
        "video.browser_path" => "/usr/bin/chromium",
        "updates.pinned_version" => "1.4.2",
        _ => "x",
    }
}

/// Settings that only validate with another one beside them.
fn companions(key: &str) -> Vec<(&'static str, RegValue)> {
    match key {
        "network.ca_only" => vec![(
            "network.ca_bundle",
            RegValue::Sz("/etc/rounds/ca.pem".into()),
        )],
        "updates.mode" => vec![("updates.pinned_version", RegValue::Sz("1.4.2".into()))],
        _ => vec![],
    }
}

fn set(hive: Hive, key: &str, entries: Vec<(&str, RegValue)>) -> Result<Value, String> {
    let list: Vec<RegEntry> = entries
        .into_iter()
        .map(|(n, v)| RegEntry::new(key, n, v))
        .collect();
    let doc = registry::document_from(hive, &list)?.ok_or("no document")?;
    let half = if key.ends_with("Mandatory") {
        &doc.mandatory
    } else {
        &doc.recommended
    };
    Ok(Value::Object(
        flatten(&serde_json::to_value(half).unwrap_or_default())
            .into_iter()
            .collect(),
    ))
}

#[test]
fn every_admx_policy_maps_to_the_setting_it_names_and_validates() {
    let kinds = registry::kinds();
    for p in admx_policies() {
        let key = p.value_name.as_str();
        let kind = kinds
            .get(key)
            .unwrap_or_else(|| panic!("{}: `{key}` is no setting", p.name));
        let want = match &p.writes {
            Writes::Flag => matches!(kind, Kind::Bool),
            Writes::Decimal { .. } => matches!(kind, Kind::Int),
            Writes::Choice(_) => matches!(kind, Kind::Text),
            Writes::Text => matches!(kind, Kind::Text | Kind::Json),
            Writes::MultiText => matches!(kind, Kind::List { .. }),
        };
        // A choice added to (or dropped from) the Rust type shows up here, not in the field.
        if let Writes::Choice(items) = &p.writes {
            assert_eq!(
                *items,
                schema_choices(key),
                "{}: the ADMX's choices",
                p.name
            );
        }
        assert!(
            want,
            "{}: the ADMX writes {:?}, the reader expects {kind:?}",
            p.name, p.writes
        );
        let samples: Vec<(RegValue, Value)> = match &p.writes {
            Writes::Flag if key == "mfa.required" => vec![(RegValue::Dword(1), json!(true))],
            Writes::Flag => vec![
                (RegValue::Dword(1), json!(true)),
                (RegValue::Dword(0), json!(false)),
            ],
            Writes::Decimal { min, max } => {
                vec![
                    (RegValue::Dword(*min), json!(min)),
                    (RegValue::Dword(*max), json!(max)),
                ]
            }
            Writes::Choice(items) => items
                .iter()
                .map(|i| (RegValue::Sz(i.clone()), json!(i)))
                .collect(),
            Writes::Text => {
                let s = text_sample(key);
                let v = if *kind == Kind::Json {
                    serde_json::from_str(s).unwrap_or_default()
                } else {
                    json!(s)
                };
                vec![(RegValue::Sz(s.into()), v)]
            }
            Writes::MultiText if *kind == (Kind::List { numbers: true }) => {
                vec![(
                    RegValue::MultiSz(vec!["14".into(), "7".into(), "1".into()]),
                    json!([14, 7, 1]),
                )]
            }
            Writes::MultiText => vec![(
                RegValue::MultiSz(vec![
                    "meet.example.org".into(),
                    "*.video.example.net".into(),
                ]),
                json!(["meet.example.org", "*.video.example.net"]),
            )],
        };
        for hive in hives(&p.class) {
            assert!(p.key.starts_with(POLICY_KEY), "{}: key {}", p.name, p.key);
            for (data, expect) in &samples {
                let mut values = companions(key);
                values.push((key, data.clone()));
                match set(hive, &p.key, values) {
                    Ok(got) => assert_eq!(got[key], *expect, "{} in {hive:?}", p.name),
                    // A text setting this test has no valid sample for: the mapping still has
                    // to have reached it, so validation names it.
                    Err(e) if text_sample(key) == "x" => {
                        assert!(e.contains(key), "{}: {e}", p.name)
                    }
                    Err(e) => panic!("{} ({hive:?}, {data:?}): {e}", p.name),
                }
            }
            // The ADMX's range is the reader's: one past either end is refused.
            if let Writes::Decimal { min, max } = p.writes {
                for out in [min.checked_sub(1), max.checked_add(1)]
                    .into_iter()
                    .flatten()
                {
                    let e =
                        set(hive, &p.key, vec![(key, RegValue::Dword(out))]).expect_err("range");
                    assert!(e.contains(key), "{}: {e}", p.name);
                }
            }
        }
    }
}

#[test]
fn every_setting_is_reachable_from_the_admx_locked_and_recommended() {
    let policies = admx_policies();
    let reach = |hive: Hive, half: &str| -> BTreeSet<String> {
        policies
            .iter()
            .filter(|p| hives(&p.class).contains(&hive) && p.key == format!(r"{POLICY_KEY}\{half}"))
            .map(|p| p.value_name.clone())
            .collect()
    };
    let all: BTreeSet<String> = registry::kinds().keys().cloned().collect();
    let defaults: BTreeSet<String> =
        flatten(&serde_json::to_value(Effective::default()).unwrap_or_default())
            .into_keys()
            .collect();
    assert_eq!(all, defaults, "the registry kinds cover every setting");
    assert_eq!(reach(Hive::Machine, "Mandatory"), all, "HKLM Mandatory");
    assert_eq!(reach(Hive::Machine, "Recommended"), all, "HKLM Recommended");
    assert_eq!(reach(Hive::User, "Recommended"), all, "HKCU Recommended");
    assert!(
        reach(Hive::User, "Mandatory").is_empty(),
        "no locked policy in User Configuration"
    );
}

fn m(name: &str, v: RegValue) -> RegEntry {
    RegEntry::new(&format!(r"{POLICY_KEY}\Mandatory"), name, v)
}
fn r(name: &str, v: RegValue) -> RegEntry {
    RegEntry::new(&format!(r"{POLICY_KEY}\Recommended"), name, v)
}

fn load(machine: Vec<RegEntry>, user: Vec<RegEntry>) -> Policy {
    Policy::load(&[
        Box::new(RegistrySource::fixed(Hive::Machine, machine)) as Box<dyn PolicySource>,
        Box::new(RegistrySource::fixed(Hive::User, user)),
    ])
}

#[test]
fn group_policy_values_show_locked_through_load_and_resolve() {
    let p = load(
        vec![
            m("session.idle_lock_minutes", RegValue::Dword(10)),
            m("session.shared_pc", RegValue::Dword(1)),
            m(
                "password.reminder_days",
                RegValue::MultiSz(vec!["14".into(), "3".into()]),
            ),
            m(
                "video.allowed_domains",
                RegValue::MultiSz(vec!["meet.example.org".into()]),
            ),
            m(
                "clinic.servers",
                RegValue::Sz(text_sample("clinic.servers").into()),
            ),
            // Registry names are case-insensitive; so is the reader.
            RegEntry::new(
                r"SOFTWARE\Policies\Rounds\MANDATORY",
                "Notifications.Content",
                RegValue::Sz("none".into()),
            ),
            r("appearance.theme", RegValue::Sz("dark".into())),
        ],
        vec![
            r("appearance.theme", RegValue::Sz("light".into())),
            r("appearance.text_size", RegValue::Sz("large".into())),
        ],
    );
    assert!(p.problem().is_none(), "{:?}", p.reports());
    let res = p.resolve(&BTreeMap::new());
    let e = &res.effective;
    assert_eq!(e.session.idle_lock_minutes, 10);
    assert!(e.session.shared_pc);
    assert_eq!(e.password.reminder_days, [14, 3]);
    assert_eq!(e.video.allowed_domains, ["meet.example.org"]);
    assert_eq!(e.clinic.servers[0].display_name, "General");
    assert_eq!(e.notifications.content, NotificationContent::None);
    for key in [
        "session.idle_lock_minutes",
        "password.reminder_days",
        "video.allowed_domains",
        "notifications.content",
    ] {
        assert_eq!(
            res.origin(key),
            Some(&Origin::Mandatory("Group Policy".into())),
            "{key}"
        );
    }
    // HKLM's recommended value wins over HKCU's; HKCU fills what HKLM leaves.
    assert_eq!(e.appearance.theme, Theme::Dark);
    assert_eq!(
        res.origin("appearance.text_size"),
        Some(&Origin::Recommended("Group Policy (user)".into()))
    );
    assert_eq!(p.reports()[0].location, r"HKLM\Software\Policies\Rounds");
}

#[test]
fn a_bad_registry_value_rejects_its_hive_whole_and_names_the_value() {
    let servers = RegValue::Sz(r#"[{"url":"http://emr.example.org","display_name":"X"}]"#.into());
    let cases: Vec<(RegEntry, &str)> = vec![
        (
            m("session.idle_lock_minutes", RegValue::Dword(70000)),
            r"Mandatory\session.idle_lock_minutes: invalid value: integer `70000`",
        ),
        (
            m("session.idle_lock_minutes", RegValue::Dword(600)),
            r"Mandatory\session.idle_lock_minutes: 600 is outside 1..=60",
        ),
        (
            m("session.idle_lock_minutes", RegValue::Sz("10".into())),
            "REG_SZ where REG_DWORD is expected",
        ),
        (
            m("session.shared_pc", RegValue::Dword(2)),
            "REG_DWORD 2 is neither 0 nor 1",
        ),
        (
            m("session.shared_pc", RegValue::Qword(1)),
            "REG_QWORD where REG_DWORD 0 or 1",
        ),
        (
            m("mfa.required", RegValue::Dword(0)),
            "only make it stricter",
        ),
        (
            m("session.idle_lock", RegValue::Dword(5)),
            r"Mandatory\session.idle_lock: unknown setting",
        ),
        (
            m(
                "password.reminder_days",
                RegValue::MultiSz(vec!["14".into(), "a week".into()]),
            ),
            "`a week` is not a whole number",
        ),
        (
            m("password.reminder_days", RegValue::Sz("[14,7]".into())),
            r"Mandatory\password.reminder_days: REG_SZ where REG_MULTI_SZ",
        ),
        (
            m(
                "password.reminder_days",
                RegValue::MultiSz(vec!["120".into()]),
            ),
            "password.reminder_days: 120 is outside 1..=90",
        ),
        (
            m(
                "video.allowed_domains",
                RegValue::MultiSz(vec!["https://meet.example.org".into()]),
            ),
            r"Mandatory\video.allowed_domains",
        ),
        (
            m("clinic.servers", RegValue::Sz("[{".into())),
            r"Mandatory\clinic.servers: REG_SZ is not JSON",
        ),
        (m("clinic.servers", servers), r"Mandatory\clinic.servers: "),
        (
            m(
                "network.ca_bundle",
                RegValue::ExpandSz("%ProgramData%\\ca.pem".into()),
            ),
            "REG_EXPAND_SZ where REG_SZ",
        ),
        (
            m("appearance.theme", RegValue::Sz("blue".into())),
            r"Mandatory\appearance.theme: unknown variant `blue`",
        ),
        (
            m("appearance.theme", RegValue::Other("REG_BINARY".into())),
            "REG_BINARY where REG_SZ",
        ),
        (
            RegEntry::new(POLICY_KEY, "session.idle_lock_minutes", RegValue::Dword(5)),
            "not a Rounds policy value",
        ),
        (
            RegEntry::new(
                &format!(r"{POLICY_KEY}\Mandatory\Lists"),
                "1",
                RegValue::Sz("x".into()),
            ),
            r"Mandatory\Lists\1: not a Rounds policy value",
        ),
        (
            m("sync.days_back", RegValue::Dword(4)),
            r"Mandatory\sync.days_back: set twice",
        ),
    ];
    for (bad, needle) in cases {
        // Beside the bad value, a good and visible one: it must not apply either.
        let p = load(
            vec![m("sync.days_back", RegValue::Dword(3)), bad.clone()],
            vec![],
        );
        let report = &p.reports()[0];
        assert_eq!(report.status, SourceStatus::Rejected, "{bad:?}");
        let why = report.problem.clone().unwrap_or_default();
        assert!(
            why.contains(needle),
            "{bad:?}\n  wanted: {needle}\n  got:    {why}"
        );
        assert!(why.contains(r"HKLM\Software\Policies\Rounds"), "{why}");
        assert!(!p.managed());
        assert_eq!(p.resolve(&BTreeMap::new()).effective, Effective::default());
    }
    // Locked settings come only from Computer Configuration.
    let p = load(
        vec![],
        vec![m("session.idle_lock_minutes", RegValue::Dword(5))],
    );
    assert_eq!(p.reports()[1].status, SourceStatus::Rejected);
    assert!(
        p.problem()
            .unwrap_or_default()
            .contains("read only from HKLM"),
        "{:?}",
        p.problem()
    );
    // An empty hive is simply absent.
    assert_eq!(
        load(vec![], vec![]).reports()[0].status,
        SourceStatus::Absent
    );
}
