//! A volet 2 admission request as ViaTrajectoire receives it: a FHIR R4 `transaction`
//! Bundle with the person (`Patient`), the two parts of the national EHPAD admission file
//! (Cerfa 14732*03) as `QuestionnaireResponse`s, and the request itself as a `Task`.
//!
//! The medical part is for the coordinating physician only: it carries the
//! confidentiality label `R` (restricted) and the contract forbids reading it through the
//! API (the simulator refuses). The administrative part carries `N`.
//!
//! The Task's identifier is the delivery id, and the entry is a conditional create on it:
//! sending the same request again finds the first one instead of making a second.

use chrono::{DateTime, Utc};
use crt_core::CrtRecord;
use crt_core::record::{CareRole, ContactRole, Ins, Sex};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::status::PARAMETER;

/// The Task's `code` system and code (contract of crt-gateway).
pub const TASK_CODE_SYSTEM: &str = "urn:crt-gateway:fhir:CodeSystem:viatrajectoire-demande";
pub const TASK_CODE: &str = "admission-volet2-crt";
/// Canonical names of the two parts of the admission file.
pub const ADMINISTRATIVE: &str = "urn:crt-gateway:fhir:Questionnaire:cerfa-14732-03-administratif";
pub const MEDICAL: &str = "urn:crt-gateway:fhir:Questionnaire:cerfa-14732-03-medical";
pub const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
/// idNat_Struct, as the SdO guide's Task input carries it.
pub const SDO_INPUT: &str =
    "https://interop.esante.gouv.fr/ig/fhir/sdo/CodeSystem/input-task-sdo-codesystem";
pub const ID_NAT_STRUCT: &str = "urn:oid:1.2.250.1.71.4.2.2";
pub const TASK_IDENTIFIER_SYSTEM: &str = "urn:ietf:rfc:3986";

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the record has no volet 2 part to request an admission for")]
    NoVolet2,
    #[error("the request does not read as FHIR R4: {0}")]
    Model(String),
}

/// The Task identifier for a delivery.
pub fn task_identifier(delivery_id: Uuid) -> String {
    format!("urn:uuid:{delivery_id}")
}

/// `1` + FINESS of the CRT's establishment.
pub fn structure_reference(record: &CrtRecord) -> Value {
    json!({
        "identifier": {"system": ID_NAT_STRUCT, "value": record.crt.id_nat_struct()},
        "display": record.crt.name,
    })
}

fn text(link: &str, label: &str, value: impl Into<String>) -> Value {
    json!({"linkId": link, "text": label, "answer": [{"valueString": value.into()}]})
}

fn boolean(link: &str, label: &str, value: bool) -> Value {
    json!({"linkId": link, "text": label, "answer": [{"valueBoolean": value}]})
}

fn group(link: &str, label: &str, items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then(|| json!({"linkId": link, "text": label, "item": items}))
}

fn list(link: &str, label: &str, values: Vec<String>) -> Option<Value> {
    (!values.is_empty()).then(|| {
        let answers: Vec<Value> = values
            .into_iter()
            .map(|v| json!({"valueString": v}))
            .collect();
        json!({"linkId": link, "text": label, "answer": answers})
    })
}

/// The administrative part: civil status, address, contacts, GP, the stay asked for.
fn administrative(record: &CrtRecord, ins: Option<&Ins>) -> Vec<Value> {
    let b = &record.beneficiary;
    let t = &b.identity;
    let mut civil = vec![
        text(
            "etat-civil.nom-naissance",
            "Nom de naissance",
            &t.birth_name,
        ),
        text(
            "etat-civil.prenoms",
            "Prénoms de naissance",
            t.birth_given_names.join(" "),
        ),
        text(
            "etat-civil.sexe",
            "Sexe",
            match t.sex {
                Sex::Male => "M",
                Sex::Female => "F",
                Sex::Undetermined => "I",
            },
        ),
        text(
            "etat-civil.date-naissance",
            "Date de naissance",
            &t.birth_date,
        ),
    ];
    if let Some(used) = &t.used_name {
        civil.push(text("etat-civil.nom-usage", "Nom d'usage", used));
    }
    if let Some(place) = &t.birth_place_code {
        civil.push(text(
            "etat-civil.lieu-naissance",
            "Lieu de naissance (code INSEE)",
            place,
        ));
    }
    if let Some(ins) = ins {
        civil.push(text(
            "etat-civil.ins",
            "INS",
            format!("{} ({})", ins.number, ins.oid.as_str()),
        ));
    }
    let mut items: Vec<Value> = group("etat-civil", "État civil", civil)
        .into_iter()
        .collect();
    if let Some(address) = &b.address {
        items.extend(group(
            "adresse",
            "Adresse",
            vec![
                text("adresse.lignes", "Voie", address.lines.join(", ")),
                text("adresse.code-postal", "Code postal", &address.postal_code),
                text("adresse.commune", "Commune", &address.city),
            ],
        ));
    }
    let contact = |role: ContactRole| {
        b.contacts
            .iter()
            .filter(|c| c.has_role(role))
            .map(|c| {
                let phone = c
                    .phones
                    .first()
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default();
                format!("{} {}{phone}", c.given_name, c.family_name)
            })
            .collect::<Vec<_>>()
    };
    items.extend(list(
        "personne-confiance",
        "Personne de confiance",
        contact(ContactRole::TrustedPerson),
    ));
    items.extend(list(
        "protection-juridique",
        "Représentant légal",
        contact(ContactRole::LegalRepresentative),
    ));
    items.extend(list("aidants", "Aidants", contact(ContactRole::Caregiver)));
    if let Some(gp) = record.general_practitioner() {
        let rpps = gp
            .rpps
            .as_deref()
            .map(|r| format!(" (RPPS {r})"))
            .unwrap_or_default();
        items.push(text(
            "medecin-traitant",
            "Médecin traitant",
            format!("{} {}{rpps}", gp.given_name, gp.family_name),
        ));
    }
    let mut stay = vec![text(
        "demande.type",
        "Type d'accompagnement demandé",
        "Accompagnement renforcé à domicile (volet 2 du centre de ressources territorial)",
    )];
    if let Some(volet2) = &record.volet2 {
        stay.push(boolean(
            "demande.urgence",
            "Demande urgente",
            volet2.referral.emergency,
        ));
        stay.push(text(
            "demande.date-orientation",
            "Date de l'orientation",
            volet2.referral.received_on.to_string(),
        ));
        if let Some(start) = volet2.start_on {
            stay.push(text(
                "demande.date-souhaitee",
                "Date d'entrée souhaitée",
                start.to_string(),
            ));
        }
    }
    items.extend(group("demande", "Demande", stay));
    items
}

/// The medical part, for the coordinating physician.
fn medical(record: &CrtRecord) -> Vec<Value> {
    let mut items = Vec::new();
    if let Some(volet2) = &record.volet2 {
        items.push(boolean(
            "contexte.sortie-hospitalisation",
            "Demande faite à la sortie d'une hospitalisation",
            volet2.referral.after_hospital_discharge,
        ));
    }
    if let Some(gir) = &record.beneficiary.gir {
        items.push(json!({
            "linkId": "aggir.gir",
            "text": "GIR (grille AGGIR)",
            "answer": [{"valueInteger": gir.level}]
        }));
        items.push(text(
            "aggir.date",
            "Date de l'évaluation AGGIR",
            gir.assessed_on.to_string(),
        ));
    }
    if let Some(dlu) = &record.dlu {
        let labels = |conditions: &[crt_core::record::Condition]| {
            conditions
                .iter()
                .map(|c| c.label.clone())
                .collect::<Vec<_>>()
        };
        items.extend(list(
            "problemes-actifs",
            "Problèmes de santé en cours",
            labels(&dlu.active_problems),
        ));
        items.extend(list(
            "antecedents-medicaux",
            "Antécédents médicaux",
            labels(&dlu.medical_history),
        ));
        items.extend(list(
            "antecedents-chirurgicaux",
            "Antécédents chirurgicaux",
            labels(&dlu.surgical_history),
        ));
        items.extend(list(
            "traitements",
            "Traitements en cours",
            dlu.treatments
                .iter()
                .map(|t| format!("{} — {}", t.medication, t.dosage))
                .collect(),
        ));
        items.extend(list(
            "allergies",
            "Allergies",
            dlu.allergies.iter().map(|a| a.substance.clone()).collect(),
        ));
        items.extend(list(
            "deficiences",
            "Déficiences sensorielles et motrices",
            dlu.impairments.iter().map(|i| i.label.clone()).collect(),
        ));
        if let Some(directives) = &dlu.advance_directives {
            items.push(boolean(
                "directives-anticipees",
                "Directives anticipées rédigées",
                directives.exist,
            ));
        }
        if let Some(palliative) = dlu.palliative_care {
            items.push(boolean("soins-palliatifs", "Soins palliatifs", palliative));
        }
        if let Some(bmr) = dlu.multiresistant_bacteria {
            items.push(boolean("bmr", "Porteur de BMR/BHRe", bmr));
        }
    }
    items
}

fn questionnaire_response(
    canonical: &str,
    confidentiality: &str,
    items: Vec<Value>,
    patient: &str,
    author: &Value,
    now: &str,
) -> Value {
    let mut response = json!({
        "resourceType": "QuestionnaireResponse",
        "meta": {"security": [{"system": CONFIDENTIALITY, "code": confidentiality}]},
        "questionnaire": canonical,
        "status": "completed",
        "subject": {"reference": patient},
        "authored": now,
        "author": author,
    });
    if !items.is_empty() {
        response["item"] = Value::Array(items);
    }
    response
}

/// The admission request for a record. `ins` is the INS the request may carry (qualified),
/// `None` otherwise: the person is then described by the traits only.
pub fn admission_bundle(
    record: &CrtRecord,
    delivery_id: Uuid,
    ins: Option<&Ins>,
    now: DateTime<Utc>,
) -> Result<Value, RequestError> {
    let volet2 = record.volet2.as_ref().ok_or(RequestError::NoVolet2)?;
    let now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let urn = |name: &str| format!("urn:uuid:{}", Uuid::new_v5(&delivery_id, name.as_bytes()));
    let (patient_url, admin_url, medical_url, task_url) = (
        urn("patient"),
        urn("administratif"),
        urn("medical"),
        urn("task"),
    );
    let structure = structure_reference(record);
    let coordinating_physician = record.care_circle.iter().find(|p| {
        matches!(
            p.role,
            CareRole::CrtPhysician | CareRole::CoordinatingPhysician
        )
    });
    let mut task = json!({
        "resourceType": "Task",
        "identifier": [{"system": TASK_IDENTIFIER_SYSTEM, "value": task_identifier(delivery_id)}],
        "status": "requested",
        "intent": "order",
        "priority": if volet2.referral.emergency { "urgent" } else { "routine" },
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": TASK_CODE,
                             "display": "Demande d'admission en accompagnement renforcé à domicile (CRT volet 2)"}]},
        "for": {"reference": patient_url},
        "authoredOn": now,
        "requester": structure,
        "owner": structure,
        "input": [
            {"type": {"coding": [{"system": SDO_INPUT, "code": "idNat_Struct"}]},
             "valueIdentifier": {"system": ID_NAT_STRUCT, "value": record.crt.id_nat_struct()}},
            {"type": {"coding": [{"system": PARAMETER, "code": "volet-administratif"}]},
             "valueReference": {"reference": admin_url}},
            {"type": {"coding": [{"system": PARAMETER, "code": "volet-medical"}]},
             "valueReference": {"reference": medical_url}},
        ],
    });
    // The one who may read the medical part, by RPPS (IDNPS `8` + RPPS).
    if let Some(physician) = coordinating_physician
        && let Some(rpps) = &physician.rpps
        && let Some(inputs) = task["input"].as_array_mut()
    {
        inputs.push(json!({
            "type": {"coding": [{"system": PARAMETER, "code": "medecin-coordonnateur"}]},
            "valueIdentifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": format!("8{rpps}")},
        }));
    }
    let entries = vec![
        json!({"fullUrl": patient_url, "resource": crt_core::fhir_patient::patient(record, ins),
               "request": {"method": "POST", "url": "Patient"}}),
        json!({"fullUrl": admin_url,
               "resource": questionnaire_response(ADMINISTRATIVE, "N", administrative(record, ins), &patient_url, &structure, &now),
               "request": {"method": "POST", "url": "QuestionnaireResponse"}}),
        json!({"fullUrl": medical_url,
               "resource": questionnaire_response(MEDICAL, "R", medical(record), &patient_url, &structure, &now),
               "request": {"method": "POST", "url": "QuestionnaireResponse"}}),
        json!({"fullUrl": task_url, "resource": task,
               "request": {"method": "POST", "url": "Task",
                           "ifNoneExist": format!("identifier={TASK_IDENTIFIER_SYSTEM}|{}", task_identifier(delivery_id))}}),
    ];
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    crt_core::fhir_json::read_strictly::<fhir_sdk::r4b::resources::Resource>(&bundle, "Bundle")
        .map_err(|refused| {
            RequestError::Model(
                refused
                    .iter()
                    .map(|r| format!("{}: {}", r.path, r.problem))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn example() -> CrtRecord {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/examples/home-volet2-pays-de-la-loire.json");
        serde_json::from_slice(&std::fs::read(path).expect("example")).expect("record")
    }

    #[test]
    fn the_request_is_a_transaction_with_both_parts_of_the_file() {
        let record = example();
        let id = Uuid::nil();
        let bundle =
            admission_bundle(&record, id, record.beneficiary.ins.as_ref(), Utc::now()).unwrap();
        let types: Vec<&str> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "Patient",
                "QuestionnaireResponse",
                "QuestionnaireResponse",
                "Task"
            ]
        );
        let medical = &bundle["entry"][2]["resource"];
        assert_eq!(medical["meta"]["security"][0]["code"], "R");
        assert_eq!(medical["questionnaire"], MEDICAL);
        let task = &bundle["entry"][3];
        assert_eq!(
            task["request"]["ifNoneExist"],
            format!("identifier=urn:ietf:rfc:3986|urn:uuid:{id}")
        );
        assert_eq!(
            task["resource"]["requester"]["identifier"]["value"],
            record.crt.id_nat_struct()
        );
    }

    /// The contract's examples (`schemas/viatrajectoire/examples/`) are what the code
    /// produces; `UPDATE_SCHEMAS=1 cargo test -p crt-viatrajectoire published` rewrites them.
    #[test]
    fn published_examples_are_what_the_code_produces() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let record: CrtRecord = serde_json::from_slice(
            &std::fs::read(root.join("schemas/examples/home-admission-occitanie.json")).unwrap(),
        )
        .unwrap();
        let delivery = Uuid::parse_str("01a2140b-1481-7504-a76a-9f2d938b39b3").unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00+01:00")
            .unwrap()
            .with_timezone(&Utc);
        let bundle =
            admission_bundle(&record, delivery, record.beneficiary.ins.as_ref(), at).unwrap();
        let mut task = bundle["entry"][3]["resource"].clone();
        task["id"] = json!("4");
        task["for"] = json!({"reference": "Patient/1"});
        task["meta"] = json!({"versionId": "3", "lastUpdated": "2026-03-09T14:12:00.000Z"});
        crate::status::Standing {
            status: crate::status::Status::WaitingList,
            rank: Some(3),
            reason: None,
        }
        .apply_to(&mut task);
        for (name, value) in [
            ("admission-request.json", &bundle),
            ("task-waiting-list.json", &task),
        ] {
            let path = root.join("schemas/viatrajectoire/examples").join(name);
            let text = serde_json::to_string_pretty(value).unwrap() + "\n";
            if std::env::var_os("UPDATE_SCHEMAS").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            assert_eq!(
                std::fs::read_to_string(&path).unwrap_or_default(),
                text,
                "{name} is out of date: run `UPDATE_SCHEMAS=1 cargo test -p crt-viatrajectoire published`"
            );
        }
    }

    #[test]
    fn a_record_without_volet_2_has_nothing_to_request() {
        let mut record = example();
        record.volet2 = None;
        assert!(matches!(
            admission_bundle(&record, Uuid::nil(), None, Utc::now()),
            Err(RequestError::NoVolet2)
        ));
    }
}
