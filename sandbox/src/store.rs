//! In-memory FHIR resources. Appointments are indexed by start time and kept pre-serialised,
//! so a search page is a filter over an ordered map plus string concatenation — no database,
//! no per-request JSON building of resources.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::util;

/// One stored appointment.
#[derive(Debug, Clone)]
pub struct Appt {
    pub id: String,
    pub start: Option<OffsetDateTime>,
    pub last_updated: OffsetDateTime,
    pub status: String,
    /// `participant[].actor.reference` values.
    pub actors: Vec<String>,
    pub end: Option<OffsetDateTime>,
    /// The resource, serialised (with `meta.lastUpdated` in sync). Only the string is kept:
    /// a parsed `Value` per appointment would cost ~10x the memory at 100,000 appointments.
    pub json: String,
}

/// Ordering key: start time (missing start sorts first), then id.
type Key = (i64, String);

/// All FHIR resources the sandbox serves.
#[derive(Debug, Default)]
pub struct Store {
    appts: BTreeMap<Key, Appt>,
    keys: HashMap<String, Key>,
    /// Other resources (Patient, Practitioner, Location, Person) by `Type/id`.
    pub others: HashMap<String, Value>,
}

fn key_of(a: &Appt) -> Key {
    (
        a.start.map_or(i64::MIN, |t| t.unix_timestamp()),
        a.id.clone(),
    )
}

impl Store {
    /// Number of appointments.
    pub fn len(&self) -> usize {
        self.appts.len()
    }

    /// Whether there are no appointments.
    pub fn is_empty(&self) -> bool {
        self.appts.is_empty()
    }

    /// Appointments in (start, id) order.
    pub fn iter(&self) -> impl Iterator<Item = &Appt> {
        self.appts.values()
    }

    /// Appointment by id.
    pub fn get(&self, id: &str) -> Option<&Appt> {
        self.keys.get(id).and_then(|k| self.appts.get(k))
    }

    /// Inserts or replaces an Appointment resource. A missing `id` gets a UUID; a missing
    /// `meta.lastUpdated` gets `now` (like OpenEMR's row timestamp). Returns the id.
    pub fn upsert(&mut self, mut resource: Value, now: OffsetDateTime) -> Result<String, String> {
        if resource.get("resourceType").and_then(Value::as_str) != Some("Appointment") {
            return Err("resourceType must be Appointment".into());
        }
        let id = match resource.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => util::uuid_v4(),
        };
        resource["id"] = json!(id);
        let lu = resource
            .pointer("/meta/lastUpdated")
            .and_then(Value::as_str)
            .and_then(util::parse_instant)
            .unwrap_or(now);
        if !resource.get("meta").is_some_and(Value::is_object) {
            resource["meta"] = json!({});
        }
        if resource.pointer("/meta/versionId").is_none() {
            resource["meta"]["versionId"] = json!("1");
        }
        if resource
            .pointer("/meta/lastUpdated")
            .and_then(Value::as_str)
            .and_then(util::parse_instant)
            .is_none()
        {
            resource["meta"]["lastUpdated"] = json!(util::rfc3339_offset(lu));
        }
        let parse = |k: &str| {
            resource
                .get(k)
                .and_then(Value::as_str)
                .and_then(util::parse_instant)
        };
        let actors = resource
            .get("participant")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        p.pointer("/actor/reference")
                            .and_then(Value::as_str)
                            .map(String::from)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let appt = Appt {
            id: id.clone(),
            start: parse("start"),
            end: parse("end"),
            last_updated: lu,
            status: resource
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            actors,
            json: resource.to_string(),
        };
        self.remove(&id);
        let k = key_of(&appt);
        self.keys.insert(id.clone(), k.clone());
        self.appts.insert(k, appt);
        Ok(id)
    }

    /// Inserts an appointment whose JSON was built by the caller (the bulk generator's fast
    /// path: no `Value` tree per appointment).
    pub fn insert_built(&mut self, appt: Appt) {
        self.remove(&appt.id);
        let k = key_of(&appt);
        self.keys.insert(appt.id.clone(), k.clone());
        self.appts.insert(k, appt);
    }

    /// Hard delete, as OpenEMR does (no tombstone).
    pub fn remove(&mut self, id: &str) -> bool {
        match self.keys.remove(id) {
            Some(k) => self.appts.remove(&k).is_some(),
            None => false,
        }
    }

    /// Changes status (e.g. to `cancelled`) and bumps `meta.lastUpdated` to `now`.
    pub fn set_status(&mut self, id: &str, status: &str, now: OffsetDateTime) -> bool {
        let Some(a) = self.get(id) else { return false };
        let Ok(mut r) = serde_json::from_str::<Value>(&a.json) else {
            return false;
        };
        r["status"] = json!(status);
        r["meta"]["lastUpdated"] = json!(util::rfc3339_offset(now));
        self.upsert(r, now).is_ok()
    }

    /// An edit in OpenEMR's calendar: merges these top-level fields (e.g. `comment`, `status`)
    /// into the resource and bumps `meta.lastUpdated` to `now`. `id`, `resourceType` and
    /// `meta` cannot be edited this way.
    pub fn patch(
        &mut self,
        id: &str,
        fields: &serde_json::Map<String, Value>,
        now: OffsetDateTime,
    ) -> bool {
        let Some(a) = self.get(id) else { return false };
        let Ok(mut r) = serde_json::from_str::<Value>(&a.json) else {
            return false;
        };
        for (k, v) in fields {
            if !matches!(k.as_str(), "id" | "resourceType" | "meta") {
                r[k.as_str()] = v.clone();
            }
        }
        r["meta"]["lastUpdated"] = json!(util::rfc3339_offset(now));
        self.upsert(r, now).is_ok()
    }

    /// Removes every appointment.
    pub fn clear_appointments(&mut self) {
        self.appts.clear();
        self.keys.clear();
    }
}
