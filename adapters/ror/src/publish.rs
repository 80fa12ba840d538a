//! Publishing an offer: find each of its resources in the ROR by identifier, create what
//! is missing, patch only what differs, touch nothing else.
//!
//! The comparison covers the elements the gateway writes. What the ROR manages itself
//! (`id`, `meta.versionId`, `meta.lastUpdated`) and what others may add (a narrative,
//! elements a regional ROR fills in) are left out of it, so publishing the same offer
//! twice writes nothing, and a publish never erases someone else's data.

use std::fmt;

use json_patch::Patch;
use serde_json::{Map, Value};

use crate::client::{RorClient, RorError};
use crate::fhir::ModelError;
use crate::offer::Offer;
use crate::render::{Links, Part, render};

/// Top-level elements the gateway writes, for any of the three resource types.
const WRITTEN: &[&str] = &[
    "extension",
    "identifier",
    "name",
    "type",
    "telecom",
    "address",
    "partOf",
    "managingOrganization",
    "providedBy",
    "category",
    "specialty",
    "location",
    "characteristic",
    "availableTime",
    "extraDetails",
];

/// Elements of `meta` the gateway writes.
const WRITTEN_META: &[&str] = &["profile", "tag"];

/// The JSON Patch that turns what the ROR holds into what the offer says, over the
/// elements the gateway writes. Empty when nothing changed.
pub fn changes(held: &Value, desired: &Value) -> Patch {
    let view = written_view(held, desired);
    let desired_view = written_view(desired, desired);
    json_patch::diff(&view, &desired_view)
}

/// `value` restricted to the elements the gateway writes (and to any element `desired`
/// has, so that a new element is added rather than ignored).
fn written_view(value: &Value, desired: &Value) -> Value {
    let Value::Object(fields) = value else {
        return value.clone();
    };
    let mut view = Map::new();
    for (key, field) in fields {
        if key == "meta" {
            if let Value::Object(meta) = field {
                let kept: Map<String, Value> = meta
                    .iter()
                    .filter(|(k, _)| WRITTEN_META.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                view.insert(key.clone(), Value::Object(kept));
            }
        } else if key != "id"
            && key != "resourceType"
            && (WRITTEN.contains(&key.as_str()) || desired.get(key).is_some())
        {
            view.insert(key.clone(), field.clone());
        }
    }
    Value::Object(view)
}

#[derive(Debug, Clone)]
pub enum Action {
    Create,
    Patch(Patch),
    Unchanged,
}

/// What publishing did (or, in a dry run, would do) to one part.
#[derive(Debug, Clone)]
pub struct Step {
    pub part: Part,
    /// The ROR's id, once known.
    pub id: Option<String>,
    pub action: Action,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match &self.id {
            Some(id) => format!("{}/{id}", self.part.resource_type()),
            None => self.part.resource_type().to_string(),
        };
        match &self.action {
            Action::Create => write!(f, "create    {target} ({})", self.part.label()),
            Action::Unchanged => write!(f, "unchanged {target} ({})", self.part.label()),
            Action::Patch(patch) => {
                write!(f, "patch     {target} ({})", self.part.label())?;
                for operation in &patch.0 {
                    let line = serde_json::to_string(operation).unwrap_or_default();
                    write!(f, "\n            {line}")?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// Resources created or patched.
    pub fn writes(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| !matches!(s.action, Action::Unchanged))
            .count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Ror(#[from] RorError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(
        "the ROR holds {count} {resource_type} resources for identifier {identifier}; expected one"
    )]
    Ambiguous {
        resource_type: &'static str,
        identifier: String,
        count: usize,
    },
    #[error("the ROR answered a {0} without an id")]
    NoId(&'static str),
}

/// Publishes `offer`; with `dry_run`, only reads and says what it would do.
pub async fn publish(
    client: &RorClient,
    offer: &Offer,
    dry_run: bool,
) -> Result<Plan, PublishError> {
    let mut links = Links {
        legal_entity: String::new(),
        establishment: String::new(),
        location: String::new(),
    };
    let mut plan = Plan::default();
    for part in Part::ALL {
        let identifier = part.search(offer);
        let found = client
            .search(part.resource_type(), &[("identifier", &identifier)])
            .await?;
        if found.len() > 1 {
            return Err(PublishError::Ambiguous {
                resource_type: part.resource_type(),
                identifier,
                count: found.len(),
            });
        }
        let held = found.into_iter().next();
        let desired = render(offer, part, &links)?;
        let (id, action) = match held {
            None => (None, Action::Create),
            Some(held) => {
                let id = held["id"].as_str().map(str::to_string);
                let patch = changes(&held, &desired);
                if patch.0.is_empty() {
                    (id, Action::Unchanged)
                } else {
                    (id, Action::Patch(patch))
                }
            }
        };
        let id = if dry_run {
            id
        } else {
            match (&action, &id) {
                (Action::Create, _) => {
                    let created = client.create(part.resource_type(), &desired).await?;
                    Some(
                        created["id"]
                            .as_str()
                            .ok_or(PublishError::NoId(part.resource_type()))?
                            .to_string(),
                    )
                }
                (Action::Patch(patch), Some(existing)) => {
                    client.patch(part.resource_type(), existing, patch).await?;
                    id
                }
                (Action::Patch(_), None) => return Err(PublishError::NoId(part.resource_type())),
                (Action::Unchanged, _) => id,
            }
        };
        // Later parts refer to this one by its id; in a dry run, a part still to be
        // created is referred to by a conditional reference on its identifier.
        let reference = match &id {
            Some(id) => format!("{}/{id}", part.resource_type()),
            None => format!("{}?identifier={identifier}", part.resource_type()),
        };
        match part {
            Part::LegalEntity => links.legal_entity = reference,
            Part::Establishment => links.establishment = reference,
            Part::Location => links.location = reference,
            Part::Volet1 | Part::Volet2 => {}
        }
        plan.steps.push(Step { part, id, action });
    }
    Ok(plan)
}

/// What the ROR holds for an establishment: the establishment, its legal entity, the
/// locations it manages and the offers it provides, optionally only those changed since
/// an instant (`_lastUpdated`).
pub async fn pull(
    client: &RorClient,
    finess_et: &str,
    since: Option<&str>,
) -> Result<Vec<Value>, PublishError> {
    let identifier = format!("{}|{finess_et}", crate::fhir::identifier_system::FINESS);
    let establishments = client
        .search("Organization", &[("identifier", &identifier)])
        .await?;
    let mut held = Vec::new();
    let since = since.map(|s| format!("ge{s}"));
    for establishment in establishments {
        let Some(id) = establishment["id"].as_str().map(str::to_string) else {
            continue;
        };
        if let Some(parent) = establishment["partOf"]["reference"].as_str()
            && let Some(parent_id) = parent.strip_prefix("Organization/")
        {
            held.extend(client.search("Organization", &[("_id", parent_id)]).await?);
        }
        held.push(establishment);
        let reference = format!("Organization/{id}");
        for resource_type in ["Location", "HealthcareService"] {
            let mut params = vec![("organization", reference.as_str())];
            if let Some(since) = &since {
                params.push(("_lastUpdated", since.as_str()));
            }
            held.extend(client.search(resource_type, &params).await?);
        }
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_and_foreign_elements_are_not_changes() {
        let desired =
            json!({"resourceType": "Location", "name": "CRT", "meta": {"profile": ["p"]}});
        let held = json!({
            "resourceType": "Location", "id": "7", "name": "CRT",
            "meta": {"profile": ["p"], "versionId": "3", "lastUpdated": "2026-01-01T00:00:00Z"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">CRT</div>"}
        });
        assert!(changes(&held, &desired).0.is_empty());
    }

    #[test]
    fn a_changed_field_is_one_operation_that_applies_to_the_held_resource() {
        let desired = json!({"resourceType": "Location", "name": "CRT du Perche", "meta": {"profile": ["p"]}});
        let mut held = json!({"resourceType": "Location", "id": "7", "name": "CRT", "meta": {"profile": ["p"], "versionId": "1"}});
        let patch = changes(&held, &desired);
        assert_eq!(patch.0.len(), 1);
        json_patch::patch(&mut held, &patch).unwrap();
        assert_eq!(held["name"], "CRT du Perche");
        assert_eq!(held["id"], "7");
    }

    #[test]
    fn an_element_the_gateway_writes_and_the_offer_dropped_is_removed() {
        let desired = json!({"resourceType": "HealthcareService", "name": "CRT"});
        let held = json!({"resourceType": "HealthcareService", "id": "1", "name": "CRT", "availableTime": [{"allDay": true}]});
        let patch = changes(&held, &desired);
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!([{"op": "remove", "path": "/availableTime"}])
        );
    }
}
