//! Publishing an offer as the ROR guide lets a client: find the organisations and the
//! place the ROR already holds, create or patch only the CRT's two offers, and keep the
//! place's bed capacity current.
//!
//! - The legal entity and the establishment come to the ROR from FINESS, and the place
//!   from the GRADeS; creating them is reserved to the ROR ("[spécifique serveur]", pages
//!   *Saisie de l'offre* and *Mise à jour de l'offre*). They are found by FINESS and by
//!   `idExterneSynchro`, never created; a missing one stops the publish with who to ask.
//! - An offer is found among the establishment's (`organization.identifier:above`, as the
//!   guide's searches do) by its activity; the ROR gives it its identifier when it is
//!   created. A change is one FHIRPath Patch of top-level elements ([`crate::fhirpatch`]).
//! - The capacity goes to the ROR's capacity API ([`crate::capacity`]).
//!
//! The comparison covers the elements the gateway writes. What the ROR manages itself
//! (`id`, `meta`, the offer's identifier) and what others may add are left out of it, so
//! publishing the same offer twice writes nothing, and a publish never erases someone
//! else's data.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::capacity;
use crate::client::{RorClient, RorError};
use crate::fhir::{ModelError, identifier_system};
use crate::fhirpatch::{self, Patch, PatchError};
use crate::offer::Offer;
use crate::render::{Links, Part, place_id, render};

/// Top-level elements of an offer the gateway writes.
const WRITTEN: &[&str] = &[
    "extension",
    "name",
    "type",
    "telecom",
    "providedBy",
    "category",
    "specialty",
    "location",
    "characteristic",
    "availableTime",
    "extraDetails",
];

/// The FHIRPath Patch that turns the offer the ROR holds into the one the offer file
/// describes, over the elements the gateway writes. Empty when nothing changed.
pub fn changes(held: &Value, desired: &Value) -> Patch {
    fhirpatch::diff("HealthcareService", held, desired, WRITTEN)
}

/// One request the ROR is (or, in a dry run, would be) sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: &'static str,
    /// Relative to the FHIR base, or to the capacity API's for a capacity update.
    pub path: String,
    pub body: Value,
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.path)?;
        write!(
            f,
            "{}",
            serde_json::to_string_pretty(&self.body).unwrap_or_default()
        )
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Read from the ROR; the client never writes it.
    Found,
    Create(Request),
    Patch(Request),
    /// The capacity indicator, replaced (or added when the place has none).
    Capacity(Request),
    Unchanged,
}

impl Action {
    fn is_write(&self) -> bool {
        matches!(
            self,
            Action::Create(_) | Action::Patch(_) | Action::Capacity(_)
        )
    }
}

/// What publishing did (or, in a dry run, would do) to one part.
#[derive(Debug, Clone)]
pub struct Step {
    pub part: Part,
    /// The ROR's id, once known.
    pub id: Option<String>,
    /// What the step is about, when not the whole part (the capacity).
    pub detail: Option<&'static str>,
    pub action: Action,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match &self.id {
            Some(id) => format!("{}/{id}", self.part.resource_type()),
            None => self.part.resource_type().to_string(),
        };
        let what = match self.detail {
            Some(detail) => format!("{}, {detail}", self.part.label()),
            None => self.part.label().to_string(),
        };
        let verb = match &self.action {
            Action::Found => "found",
            Action::Create(_) => "create",
            Action::Patch(_) => "patch",
            Action::Capacity(_) => "capacity",
            Action::Unchanged => "unchanged",
        };
        write!(f, "{verb:<9} {target} ({what})")
    }
}

impl Step {
    /// The request this step sends, if it writes.
    pub fn request(&self) -> Option<&Request> {
        match &self.action {
            Action::Create(r) | Action::Patch(r) | Action::Capacity(r) => Some(r),
            Action::Found | Action::Unchanged => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// Requests that write.
    pub fn writes(&self) -> usize {
        self.steps.iter().filter(|s| s.action.is_write()).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Ror(#[from] RorError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Patch(#[from] PatchError),
    #[error("the ROR holds no {what} {identifier}: {who}; the ROR creates it, a client may not")]
    NotInRor {
        what: &'static str,
        identifier: String,
        who: &'static str,
    },
    #[error(
        "the ROR holds {count} {what} for {identifier}; expected one (ask the GRADeS to merge them)"
    )]
    Ambiguous {
        what: &'static str,
        identifier: String,
        count: usize,
    },
    #[error(
        "the ROR attaches establishment {establishment} to {held}, not to legal entity {legal_entity} of the offer file"
    )]
    OtherLegalEntity {
        establishment: String,
        legal_entity: String,
        held: String,
    },
    #[error("the ROR answered a {0} without an id")]
    NoId(&'static str),
}

/// The one resource a search found.
fn one(
    found: Vec<Value>,
    what: &'static str,
    identifier: &str,
    who: &'static str,
) -> Result<Value, PublishError> {
    let count = found.len();
    let mut found = found.into_iter();
    match (found.next(), count) {
        (Some(resource), 1) => Ok(resource),
        (None, _) => Err(PublishError::NotInRor {
            what,
            identifier: identifier.into(),
            who,
        }),
        (Some(_), count) => Err(PublishError::Ambiguous {
            what,
            identifier: identifier.into(),
            count,
        }),
    }
}

fn id_of(resource: &Value, resource_type: &'static str) -> Result<String, PublishError> {
    resource["id"]
        .as_str()
        .map(str::to_string)
        .ok_or(PublishError::NoId(resource_type))
}

/// What the ROR holds of the CRT's structure, found before anything is written.
struct Structure {
    legal_entity: String,
    establishment: String,
    location: Value,
    location_id: String,
}

async fn find_structure(client: &RorClient, offer: &Offer) -> Result<Structure, PublishError> {
    let establishment_id = Part::Establishment.search(offer);
    let establishment = one(
        client
            .search("Organization", &[("identifier", &establishment_id)])
            .await?,
        "establishment (ET) with FINESS",
        &offer.porteur.finess_et,
        "the ROR takes establishments from FINESS; check the FINESS ET of the offer file",
    )?;
    let legal_entity_id = Part::LegalEntity.search(offer);
    let legal_entity = one(
        client
            .search("Organization", &[("identifier", &legal_entity_id)])
            .await?,
        "legal entity (EJ) with FINESS",
        &offer.porteur.finess_ej,
        "the ROR takes legal entities from FINESS; check the FINESS EJ of the offer file",
    )?;
    let legal_entity = format!("Organization/{}", id_of(&legal_entity, "Organization")?);
    let held_parent = establishment["partOf"]["reference"]
        .as_str()
        .unwrap_or_default();
    if held_parent != legal_entity {
        return Err(PublishError::OtherLegalEntity {
            establishment: offer.porteur.finess_et.clone(),
            legal_entity: offer.porteur.finess_ej.clone(),
            held: if held_parent.is_empty() {
                "no legal entity".into()
            } else {
                held_parent.into()
            },
        });
    }
    let place = place_id(offer);
    let location = one(
        client.search("Location", &[("identifier", &place)]).await?,
        "place with idExterneSynchro",
        &place,
        "the GRADeS gives the CRT's place its code in the ROR (crt.place_code in the offer file)",
    )?;
    Ok(Structure {
        legal_entity,
        establishment: format!("Organization/{}", id_of(&establishment, "Organization")?),
        location_id: id_of(&location, "Location")?,
        location,
    })
}

/// The step of an offer: create it, patch it or leave it.
fn offer_step(
    part: Part,
    held: &[Value],
    desired: Value,
    establishment: &str,
) -> Result<Step, PublishError> {
    let activity = part.activity().unwrap_or_default();
    let matching: Vec<&Value> = held
        .iter()
        .filter(|hs| {
            hs["specialty"].as_array().is_some_and(|specialties| {
                specialties.iter().any(|s| {
                    s["coding"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|c| c["code"] == activity))
                })
            })
        })
        .collect();
    Ok(match matching.as_slice() {
        [] => Step {
            part,
            id: None,
            detail: None,
            action: Action::Create(Request {
                method: "POST",
                path: "HealthcareService".into(),
                body: desired,
            }),
        },
        [offer] => {
            let id = id_of(offer, "HealthcareService")?;
            let patch = changes(offer, &desired);
            let action = if patch.is_empty() {
                Action::Unchanged
            } else {
                Action::Patch(Request {
                    method: "PATCH",
                    path: format!("HealthcareService/{id}"),
                    body: patch.to_parameters()?,
                })
            };
            Step {
                part,
                id: Some(id),
                detail: None,
                action,
            }
        }
        several => {
            return Err(PublishError::Ambiguous {
                what: "offers with this activity for establishment",
                identifier: establishment.into(),
                count: several.len(),
            });
        }
    })
}

/// The step of the capacity indicator: replace it, add it, or leave it.
fn capacity_step(
    offer: &Offer,
    structure: &Structure,
    now: DateTime<Utc>,
) -> Result<Step, PublishError> {
    let rooms = offer.volet2.emergency_temporary_rooms;
    let held = capacity::held(&structure.location);
    let action = if held == Some(i64::from(rooms)) {
        Action::Unchanged
    } else {
        let indicator = capacity::indicator(rooms, now)?;
        let patch = if held.is_some() {
            capacity::replace(indicator)
        } else {
            capacity::add(indicator)
        };
        Action::Capacity(Request {
            method: "PATCH",
            path: format!(
                "Location?identifier={}",
                crt_core::oauth::encode(&place_id(offer))
            ),
            body: patch.to_parameters()?,
        })
    };
    Ok(Step {
        part: Part::Location,
        id: Some(structure.location_id.clone()),
        detail: Some("emergency temporary rooms"),
        action,
    })
}

/// Publishes `offer`; with `dry_run`, only reads and says which requests it would send.
pub async fn publish(
    client: &RorClient,
    offer: &Offer,
    dry_run: bool,
) -> Result<Plan, PublishError> {
    let structure = find_structure(client, offer).await?;
    let links = Links {
        legal_entity: structure.legal_entity.clone(),
        establishment: structure.establishment.clone(),
        location: format!("Location/{}", structure.location_id),
    };
    let mut plan = Plan::default();
    for (part, id) in [
        (
            Part::LegalEntity,
            structure.legal_entity.trim_start_matches("Organization/"),
        ),
        (
            Part::Establishment,
            structure.establishment.trim_start_matches("Organization/"),
        ),
        (Part::Location, structure.location_id.as_str()),
    ] {
        plan.steps.push(Step {
            part,
            id: Some(id.to_string()),
            detail: None,
            action: Action::Found,
        });
    }
    let idnat = format!("1{}", offer.porteur.finess_et);
    let held = client
        .search(
            "HealthcareService",
            &[("organization.identifier:above", &idnat)],
        )
        .await?;
    for part in [Part::Volet1, Part::Volet2] {
        let desired = render(offer, part, &links)?;
        let mut step = offer_step(part, &held, desired, &offer.porteur.finess_et)?;
        if !dry_run {
            match &step.action {
                Action::Create(request) => {
                    let created = client.create("HealthcareService", &request.body).await?;
                    step.id = Some(id_of(&created, "HealthcareService")?);
                }
                Action::Patch(request) => {
                    client.patch(&request.path, &request.body).await?;
                }
                _ => {}
            }
        }
        plan.steps.push(step);
    }
    let step = capacity_step(offer, &structure, Utc::now())?;
    if !dry_run && let Action::Capacity(request) = &step.action {
        update_capacity(client, offer, &request.body).await?;
    }
    plan.steps.push(step);
    Ok(plan)
}

/// Sends a capacity patch; a `replace` the ROR answers with a 404 on the indicator (the
/// place has none) is sent again as an `add`, as the ROR's documentation says to.
async fn update_capacity(
    client: &RorClient,
    offer: &Offer,
    body: &Value,
) -> Result<(), PublishError> {
    let place = place_id(offer);
    match client.patch_capacity(&place, body).await {
        Err(RorError::Refused {
            status: 404,
            diagnostics,
        }) if diagnostics.contains(crate::fhir::extension::SUPPORTED_CAPACITY) => {
            let indicator =
                capacity::indicator(offer.volet2.emergency_temporary_rooms, Utc::now())?;
            client
                .patch_capacity(&place, &capacity::add(indicator).to_parameters()?)
                .await?;
            Ok(())
        }
        other => other.map(|_| ()).map_err(PublishError::from),
    }
}

/// What the ROR holds for an establishment: the establishment, its legal entity, the
/// locations it manages and the offers it provides, optionally only those changed since
/// an instant (`_lastUpdated`).
pub async fn pull(
    client: &RorClient,
    finess_et: &str,
    since: Option<&str>,
) -> Result<Vec<Value>, PublishError> {
    let identifier = format!("{}|{finess_et}", identifier_system::FINESS);
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
        let desired = json!({"resourceType": "HealthcareService", "name": "CRT"});
        let held = json!({
            "resourceType": "HealthcareService", "id": "7", "name": "CRT",
            "identifier": [{"value": "52/0001"}],
            "meta": {"profile": ["p"], "versionId": "3", "lastUpdated": "2026-01-01T00:00:00Z"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">CRT</div>"}
        });
        assert!(changes(&held, &desired).is_empty());
    }

    #[test]
    fn a_changed_field_is_one_operation_that_applies_to_the_held_resource() {
        let desired = json!({"resourceType": "HealthcareService", "name": "CRT du Perche"});
        let held = json!({"resourceType": "HealthcareService", "id": "7", "name": "CRT"});
        let patch = changes(&held, &desired);
        assert_eq!(patch.operations.len(), 1);
        let body = patch.to_parameters().unwrap();
        assert_eq!(
            body["parameter"][0]["part"],
            json!([
                {"name": "type", "valueCode": "replace"},
                {"name": "path", "valueString": "HealthcareService.name"},
                {"name": "value", "valueString": "CRT du Perche"}
            ])
        );
        let read = Patch::from_parameters("HealthcareService", &body).unwrap();
        let patched = read.apply(&held).unwrap();
        assert_eq!(patched["name"], "CRT du Perche");
        assert_eq!(patched["id"], "7");
    }

    #[test]
    fn list_items_are_deleted_and_added_not_rewritten() {
        let day = |d: &str| json!({"daysOfWeek": [d], "availableStartTime": "09:00:00"});
        let held = json!({"resourceType": "HealthcareService", "availableTime": [day("mon"), day("tue"), day("wed")]});
        let desired =
            json!({"resourceType": "HealthcareService", "availableTime": [day("tue"), day("thu")]});
        let patch = changes(&held, &desired);
        let read =
            Patch::from_parameters("HealthcareService", &patch.to_parameters().unwrap()).unwrap();
        let patched = read.apply(&held).unwrap();
        let days: Vec<&str> = patched["availableTime"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["daysOfWeek"][0].as_str().unwrap())
            .collect();
        assert_eq!(days, ["tue", "thu"]);
        // Order within a list is not a change.
        let reordered = json!({"resourceType": "HealthcareService", "availableTime": [day("wed"), day("mon"), day("tue")]});
        assert!(changes(&held, &reordered).is_empty());
    }

    #[test]
    fn an_element_the_offer_dropped_is_deleted() {
        let desired = json!({"resourceType": "HealthcareService", "name": "CRT"});
        let held = json!({"resourceType": "HealthcareService", "id": "1", "name": "CRT", "extraDetails": "x"});
        let patch = changes(&held, &desired);
        assert_eq!(
            patch.to_parameters().unwrap()["parameter"][0]["part"][1]["valueString"],
            "HealthcareService.extraDetails"
        );
        assert!(patch.apply(&held).unwrap().get("extraDetails").is_none());
    }
}
