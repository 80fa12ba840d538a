//! The simulated ROR's resources: versioned, stamped, searchable, and every write counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::fhir::ModelError;
use crate::offer::Offer;
use crate::render::{Links, Part, render};

/// One write the ROR accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// `create` or `patch`.
    pub interaction: &'static str,
    pub resource_type: String,
    pub id: String,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// The last identifiantOffre number given.
    next_offer: u64,
    resources: BTreeMap<(String, String), Value>,
    writes: Vec<Write>,
}

#[derive(Debug, Default)]
pub struct Store {
    inner: Mutex<Inner>,
    /// Where the resources are kept between runs, when they are (the sandbox keeps them
    /// so that a second `ror publish` finds what the first one wrote).
    file: Option<PathBuf>,
}

/// What the file holds.
#[derive(Serialize, Deserialize)]
struct Saved {
    next_id: u64,
    #[serde(default)]
    next_offer: u64,
    resources: Vec<Value>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Sets `meta.versionId` and `meta.lastUpdated`, as a server does on each write.
fn stamp(resource: &mut Value, version: u64) {
    if !resource["meta"].is_object() {
        resource["meta"] = Value::Object(Default::default());
    }
    resource["meta"]["versionId"] = Value::String(version.to_string());
    resource["meta"]["lastUpdated"] = Value::String(now());
}

impl Store {
    /// A store kept in `file`: read now if it exists, written after each write.
    pub fn persistent(file: &Path) -> std::io::Result<Store> {
        let mut inner = Inner::default();
        if file.exists() {
            let saved: Saved = serde_json::from_slice(&std::fs::read(file)?)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            inner.next_id = saved.next_id;
            inner.next_offer = saved.next_offer;
            for resource in saved.resources {
                let key = (
                    resource["resourceType"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    resource["id"].as_str().unwrap_or_default().to_string(),
                );
                inner.resources.insert(key, resource);
            }
        }
        Ok(Store {
            inner: Mutex::new(inner),
            file: Some(file.to_path_buf()),
        })
    }

    /// Writes the resources to the store's file, beside it first and then renamed, so a
    /// crash never leaves half a file.
    fn save(&self, inner: &Inner) {
        let Some(file) = &self.file else {
            return;
        };
        let saved = Saved {
            next_id: inner.next_id,
            next_offer: inner.next_offer,
            resources: inner.resources.values().cloned().collect(),
        };
        let result = serde_json::to_vec_pretty(&saved)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let partial = file.with_extension("partial");
                std::fs::write(&partial, bytes)?;
                std::fs::rename(&partial, file)
            });
        if let Err(e) = result {
            tracing::warn!(file = %file.display(), error = %e, "the ROR simulator could not save its resources");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves data that is still consistent (each
        // write replaces whole values), so a poisoned lock is used as it is.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A client's create: stored, and counted as a write.
    pub fn create(&self, resource_type: &str, resource: Value) -> Value {
        self.insert(resource_type, resource, true)
    }

    /// Stores a resource the ROR itself made (from FINESS, or a GRADeS's input): not a
    /// client's write, so not counted.
    pub fn hold(&self, resource_type: &str, resource: Value) -> Value {
        self.insert(resource_type, resource, false)
    }

    fn insert(&self, resource_type: &str, mut resource: Value, by_client: bool) -> Value {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id.to_string();
        resource["id"] = Value::String(id.clone());
        stamp(&mut resource, 1);
        inner
            .resources
            .insert((resource_type.into(), id.clone()), resource.clone());
        if by_client {
            inner.writes.push(Write {
                interaction: "create",
                resource_type: resource_type.into(),
                id,
            });
        }
        self.save(&inner);
        resource
    }

    /// The next identifiantOffre number.
    pub fn next_offer_number(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_offer += 1;
        inner.next_offer
    }

    /// Holds the legal entity, the establishment and the place of `offer`, as the ROR
    /// holds them before a CRT publishes (unless it already does).
    pub fn hold_structure(&self, offer: &Offer) -> Result<(), ModelError> {
        let establishment = Part::Establishment.search(offer);
        let held = self
            .search("Organization", &[("identifier".into(), establishment)])
            .unwrap_or_default();
        if !held.is_empty() {
            return Ok(());
        }
        let mut links = Links {
            legal_entity: String::new(),
            establishment: String::new(),
            location: String::new(),
        };
        let legal_entity = self.hold("Organization", render(offer, Part::LegalEntity, &links)?);
        links.legal_entity = format!(
            "Organization/{}",
            legal_entity["id"].as_str().unwrap_or_default()
        );
        let establishment = self.hold("Organization", render(offer, Part::Establishment, &links)?);
        links.establishment = format!(
            "Organization/{}",
            establishment["id"].as_str().unwrap_or_default()
        );
        self.hold("Location", render(offer, Part::Location, &links)?);
        Ok(())
    }

    pub fn read(&self, resource_type: &str, id: &str) -> Option<Value> {
        self.lock()
            .resources
            .get(&(resource_type.into(), id.into()))
            .cloned()
    }

    /// Replaces a resource after a patch; `None` when it is not known.
    pub fn replace(&self, resource_type: &str, id: &str, mut resource: Value) -> Option<Value> {
        let mut inner = self.lock();
        let key = (resource_type.to_string(), id.to_string());
        let version = inner.resources.get(&key)?["meta"]["versionId"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1);
        stamp(&mut resource, version + 1);
        inner.resources.insert(key, resource.clone());
        inner.writes.push(Write {
            interaction: "patch",
            resource_type: resource_type.into(),
            id: id.into(),
        });
        self.save(&inner);
        Some(resource)
    }

    /// Every write accepted so far.
    pub fn writes(&self) -> Vec<Write> {
        self.lock().writes.clone()
    }

    /// Every resource of a type.
    pub fn all(&self, resource_type: &str) -> Vec<Value> {
        self.lock()
            .resources
            .iter()
            .filter(|((t, _), _)| t == resource_type)
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Resources of a type matching every parameter; an unsupported parameter is an error,
    /// as on a server that does not silently ignore what it cannot apply.
    pub fn search(
        &self,
        resource_type: &str,
        params: &[(String, String)],
    ) -> Result<Vec<Value>, String> {
        let mut filters: Vec<Filter> = Vec::new();
        for (name, value) in params {
            let value = value.clone();
            match name.as_str() {
                "identifier" => filters.push(Box::new(move |r| has_identifier(r, &value))),
                "_id" => filters.push(Box::new(move |r| r["id"] == value.as_str())),
                "organization" => {
                    let element = match resource_type {
                        "HealthcareService" => "providedBy",
                        "Location" => "managingOrganization",
                        _ => "partOf",
                    };
                    let wanted = if value.contains('/') {
                        value
                    } else {
                        format!("Organization/{value}")
                    };
                    filters.push(Box::new(move |r| {
                        r[element]["reference"] == wanted.as_str()
                    }));
                }
                // The guide's search of an establishment's offers: those provided by
                // an organisation that is, or is under, the one with this identifier.
                "organization.identifier:above" => {
                    let organizations = self.all("Organization");
                    filters.push(Box::new(move |r| provided_under(r, &organizations, &value)));
                }
                "_lastUpdated" => {
                    let (op, bound) = last_updated(&value)?;
                    filters.push(Box::new(move |r| {
                        r["meta"]["lastUpdated"]
                            .as_str()
                            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                            .is_some_and(|t| op.holds(t.with_timezone(&Utc), bound))
                    }));
                }
                "_count" | "_format" => {}
                other => return Err(format!("search parameter {other} is not supported")),
            }
        }
        Ok(self
            .all(resource_type)
            .into_iter()
            .filter(|r| filters.iter().all(|f| f(r)))
            .collect())
    }
}

/// One search parameter, as a test on a resource.
type Filter = Box<dyn Fn(&Value) -> bool>;

/// Whether the organisation providing `offer`, or one it is part of, has an identifier
/// whose value is `value`.
fn provided_under(offer: &Value, organizations: &[Value], value: &str) -> bool {
    let by_reference = |reference: &str| {
        let id = reference.strip_prefix("Organization/")?;
        organizations.iter().find(|o| o["id"] == id)
    };
    let mut current = offer["providedBy"]["reference"]
        .as_str()
        .and_then(by_reference);
    // A chain of `partOf` is short; the bound stops a loop in bad data.
    for _ in 0..8 {
        let Some(organization) = current else {
            return false;
        };
        if has_identifier(organization, value) {
            return true;
        }
        current = organization["partOf"]["reference"]
            .as_str()
            .and_then(by_reference);
    }
    false
}

/// `[system|]value` against each identifier of the resource.
fn has_identifier(resource: &Value, token: &str) -> bool {
    let (system, value) = match token.split_once('|') {
        Some((system, value)) => (Some(system), value),
        None => (None, token),
    };
    resource["identifier"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .any(|i| i["value"] == value && system.is_none_or(|s| s.is_empty() || i["system"] == s))
}

#[derive(Debug, Clone, Copy)]
enum Comparison {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl Comparison {
    fn holds(self, t: DateTime<Utc>, bound: DateTime<Utc>) -> bool {
        match self {
            Comparison::Ge => t >= bound,
            Comparison::Gt => t > bound,
            Comparison::Le => t <= bound,
            Comparison::Lt => t < bound,
            Comparison::Eq => t == bound,
        }
    }
}

/// `ge2026-01-31T00:00:00Z`, `gt2026-01-31` (a date is its first instant, UTC).
fn last_updated(value: &str) -> Result<(Comparison, DateTime<Utc>), String> {
    let (op, rest) = match value.get(..2) {
        Some("ge") => (Comparison::Ge, &value[2..]),
        Some("gt") => (Comparison::Gt, &value[2..]),
        Some("le") => (Comparison::Le, &value[2..]),
        Some("lt") => (Comparison::Lt, &value[2..]),
        Some("eq") => (Comparison::Eq, &value[2..]),
        _ => (Comparison::Eq, value),
    };
    let bound = DateTime::parse_from_rfc3339(rest)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(rest, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| format!("_lastUpdated {value:?} is not a date or an instant"))?;
    Ok((op, bound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_are_versioned_and_searchable() {
        let store = Store::default();
        let created = store.create(
            "Location",
            json!({"resourceType": "Location", "identifier": [{"value": "X-CRT"}]}),
        );
        assert_eq!(created["meta"]["versionId"], "1");
        let found = store
            .search("Location", &[("identifier".into(), "X-CRT".into())])
            .unwrap();
        assert_eq!(found.len(), 1);
        let id = created["id"].as_str().unwrap();
        let replaced = store.replace("Location", id, created.clone()).unwrap();
        assert_eq!(replaced["meta"]["versionId"], "2");
        assert_eq!(store.writes().len(), 2);
        let since = store
            .search(
                "Location",
                &[("_lastUpdated".into(), "ge2000-01-01".into())],
            )
            .unwrap();
        assert_eq!(since.len(), 1);
        let future = store
            .search(
                "Location",
                &[("_lastUpdated".into(), "gt2999-01-01T00:00:00Z".into())],
            )
            .unwrap();
        assert!(future.is_empty());
        assert!(
            store
                .search("Location", &[("near".into(), "1".into())])
                .is_err()
        );
        assert!(
            store
                .search("Location", &[("_lastUpdated".into(), "yesterday".into())])
                .is_err()
        );
    }

    #[test]
    fn a_persistent_store_finds_its_resources_again() {
        let dir = std::env::temp_dir().join(format!("crt-ror-store-{}", std::process::id()));
        let file = dir.join("ror.json");
        let _ = std::fs::remove_file(&file);
        let store = Store::persistent(&file).unwrap();
        let created = store.create("Location", json!({"resourceType": "Location", "name": "A"}));
        drop(store);
        let again = Store::persistent(&file).unwrap();
        assert_eq!(
            again.read("Location", created["id"].as_str().unwrap()),
            Some(created)
        );
        let next = again.create("Location", json!({"resourceType": "Location", "name": "B"}));
        assert_eq!(next["id"], "2");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
