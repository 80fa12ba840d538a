//! The CRT's directory card (*fiche annuaire*) in ViaTrajectoire, which the calls ask to
//! keep current. ViaTrajectoire publishes no interface for it and no national guide
//! covers it: the card is crt-gateway's contract (`schemas/viatrajectoire/README.md`).
//!
//! The card is the CRT's volet 2 offer as the ROR models it (`ror-healthcareservice`
//! content: name, activity, publics, territory, opening times, contacts), drawn from the
//! same offer file, so that one description of the offer feeds both. It is made a plain
//! FHIR R4 `HealthcareService` that names its structure by identifiers instead of ROR
//! references: `identifier` idNat_Struct (`1` + FINESS ET), the one card of that
//! structure, and `providedBy` by FINESS. It is written with a conditional update
//! (`PUT HealthcareService?identifier=…`), and only when it differs from the card held.

use serde_json::{Value, json};

use crate::client::{ClientError, ViatrajectoireClient};
use crate::incoming::ID_NAT_STRUCT;

/// The FINESS system, as the ROR guide names organisations.
pub const FINESS: &str = "https://finess.esante.gouv.fr";

/// The card of a structure from its ROR volet 2 HealthcareService.
pub fn card(offer: &Value, finess_et: &str, name: &str) -> Value {
    let mut card = offer.clone();
    if let Some(fields) = card.as_object_mut() {
        // ROR references and stamps mean nothing in ViaTrajectoire; the profile is the
        // ROR's, which this card, with its identifier, does not claim.
        for key in ["id", "meta", "location"] {
            fields.remove(key);
        }
    }
    card["identifier"] = json!([{
        "use": "official",
        "system": ID_NAT_STRUCT,
        "value": format!("1{finess_et}"),
    }]);
    card["providedBy"] = json!({
        "identifier": {"system": FINESS, "value": finess_et},
        "display": name,
    });
    card
}

/// Whether two cards say the same, ViaTrajectoire's stamps aside.
pub fn same(held: &Value, wanted: &Value) -> bool {
    let strip = |card: &Value| {
        let mut card = card.clone();
        if let Some(fields) = card.as_object_mut() {
            fields.remove("id");
            fields.remove("meta");
        }
        card
    };
    strip(held) == strip(wanted)
}

/// The structure a card is of (its idNat_Struct), if it names one.
pub fn structure_of(card: &Value) -> Option<&str> {
    card["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == ID_NAT_STRUCT)?["value"]
        .as_str()
}

/// Every breach of the contract in a card sent by `struct_idnat`, each naming its element.
pub fn check_card(card: &Value, struct_idnat: &str) -> Vec<String> {
    use crt_core::fhir_json::read_strictly;
    use fhir_sdk::r4b::resources::Resource;
    if let Err(refused) = read_strictly::<Resource>(card, "HealthcareService") {
        return refused
            .into_iter()
            .map(|r| format!("{}: {}", r.path, r.problem))
            .collect();
    }
    let mut problems = Vec::new();
    if card["resourceType"] != "HealthcareService" {
        problems.push("resourceType: expected HealthcareService".to_string());
        return problems;
    }
    match structure_of(card) {
        Some(structure) if structure == struct_idnat => {}
        Some(structure) => problems.push(format!(
            "HealthcareService.identifier: {structure} is not the structure of the struct_idnat header ({struct_idnat})"
        )),
        None => problems.push(format!(
            "HealthcareService.identifier: one identifier of system {ID_NAT_STRUCT} (the structure)"
        )),
    }
    let finess = card["providedBy"]["identifier"]["value"].as_str();
    if card["providedBy"]["identifier"]["system"] != FINESS
        || finess.map(|f| format!("1{f}")).as_deref() != Some(struct_idnat)
    {
        problems.push(format!(
            "HealthcareService.providedBy.identifier: the FINESS ET of the structure ({FINESS})"
        ));
    }
    if card["name"].as_str().is_none_or(|n| n.trim().is_empty()) {
        problems.push("HealthcareService.name: required".into());
    }
    if card["telecom"].as_array().is_none_or(Vec::is_empty) {
        problems.push("HealthcareService.telecom: how to reach the CRT is required".into());
    }
    problems
}

/// What publishing the card did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOutcome {
    Created,
    Updated,
    Unchanged,
}

/// Writes the structure's card unless ViaTrajectoire holds the same; `dry_run` only reads.
pub async fn publish(
    client: &ViatrajectoireClient,
    card: &Value,
    struct_idnat: &str,
    dry_run: bool,
) -> Result<CardOutcome, ClientError> {
    let outcome = match client.card(struct_idnat).await? {
        Some(held) if same(&held, card) => return Ok(CardOutcome::Unchanged),
        Some(_) => CardOutcome::Updated,
        None => CardOutcome::Created,
    };
    if !dry_run {
        client.put_card(card, struct_idnat).await?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> Value {
        json!({
            "resourceType": "HealthcareService",
            "id": "x",
            "meta": {"profile": ["https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-healthcareservice"]},
            "providedBy": {"reference": "urn:uuid:1"},
            "location": [{"reference": "urn:uuid:2"}],
            "name": "CRT du Perche, accompagnement renforcé à domicile",
            "telecom": [{"system": "phone", "value": "02 43 00 00 00"}],
        })
    }

    #[test]
    fn a_card_names_its_structure_and_passes_the_contract() {
        let card = card(&offer(), "720003011", "CRT du Perche");
        assert_eq!(structure_of(&card), Some("1720003011"));
        assert!(card.get("location").is_none() && card.get("meta").is_none());
        assert_eq!(check_card(&card, "1720003011"), Vec::<String>::new());
        let mut held = card.clone();
        held["meta"] = json!({"versionId": "3"});
        held["id"] = json!("9");
        assert!(same(&held, &card));
    }

    #[test]
    fn each_breach_is_named() {
        let card = card(&offer(), "720003011", "CRT du Perche");
        assert!(check_card(&card, "1110008430")[0].contains("struct_idnat"));
        let mut silent = card.clone();
        silent["telecom"] = json!([]);
        assert!(check_card(&silent, "1720003011")[0].contains("telecom"));
        let mut unknown = card;
        unknown["colour"] = json!("red");
        assert!(!check_card(&unknown, "1720003011").is_empty());
    }
}
