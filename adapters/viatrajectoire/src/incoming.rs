//! Admission requests as they reach the CRT: in ViaTrajectoire Grand Âge the CRT is a
//! receiving service, and a request for a volet 2 admission (made by a hospital, a GP, the
//! family) waits there for its answer.
//!
//! The *Suivi des décisions d'orientation* guide (flux 1) has the structure's software
//! list what is new (`GET DocumentReference?type=57830-2&_lastUpdated=gt…&_elements=id`)
//! and read each one (`GET DocumentReference/<id>`), scoped to the structure by the
//! `struct_idnat` header. What the DocumentReference carries for a Grand Âge request is
//! crt-gateway's contract (`schemas/viatrajectoire/README.md`), modelled on the guide's:
//! ViaTrajectoire's national identifier of the request (`use` official, as idNat_Decision)
//! and its own (`use` usual, as idDecision), the person as a contained `Patient`, the
//! structure asked as `custodian`, the requester as `author`, the wished start as
//! `context.period.start`, the request file as the attachment.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// LOINC 57830-2, the document type of the guide's flux 1 search.
pub const REQUEST_TYPE: &str = "57830-2";
pub const LOINC: &str = "http://loinc.org";
/// ViaTrajectoire's OID, the system of its national identifiers of a request.
pub const VIATRAJECTOIRE_OID: &str = "urn:oid:1.2.250.1.213.8.1";
/// idNat_Struct (`1` + FINESS).
pub const ID_NAT_STRUCT: &str = "urn:oid:1.2.250.1.71.4.2.2";
/// The INS (NIR of the person), when ViaTrajectoire has it qualified.
pub const INS_NIR: &str = "urn:oid:1.2.250.1.213.1.4.8";

/// The person a request is for, as the request names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub family: String,
    pub given: String,
    pub birth_date: String,
    pub gender: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ins: Option<String>,
}

/// An admission request as the CRT receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionRequest {
    /// `DocumentReference/<id>` in ViaTrajectoire.
    pub remote_id: String,
    /// ViaTrajectoire's national identifier of the request (idNat_Decision's place).
    pub request_id: String,
    /// ViaTrajectoire's own number of the request (idDecision's place), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_id: Option<String>,
    /// The structure asked (`1` + FINESS ET).
    pub structure: String,
    pub person: Person,
    /// When the request was made.
    pub requested_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wished_start: Option<String>,
    /// Who made it, as ViaTrajectoire names them.
    pub requester: String,
    /// ViaTrajectoire's last change of the request.
    pub changed_at: String,
    /// `entered-in-error` when ViaTrajectoire withdrew it.
    pub withdrawn: bool,
}

/// One rule of the contract a request breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{element}: {rule}")]
pub struct RequestProblem {
    pub element: String,
    pub rule: String,
}

fn problem(element: &str, rule: impl Into<String>) -> RequestProblem {
    RequestProblem {
        element: format!("DocumentReference.{element}"),
        rule: rule.into(),
    }
}

fn text<'a>(value: &'a Value, element: &str) -> Result<&'a str, RequestProblem> {
    value
        .as_str()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| problem(element, "required"))
}

/// The identifier with this `use`.
fn identifier<'a>(document: &'a Value, usage: &str) -> Option<&'a Value> {
    document["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["use"] == usage)
}

/// Reads a DocumentReference of the contract; each rule it breaks is named with its
/// element, and a request that breaks one is not applied at all.
pub fn read(document: &Value) -> Result<AdmissionRequest, RequestProblem> {
    if document["resourceType"] != "DocumentReference" {
        return Err(problem("resourceType", "expected DocumentReference"));
    }
    let id = text(&document["id"], "id")?;
    let typed = document["type"]["coding"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["system"] == LOINC && c["code"] == REQUEST_TYPE)
    });
    if !typed {
        return Err(problem("type", format!("expected {LOINC}|{REQUEST_TYPE}")));
    }
    let official = identifier(document, "official")
        .filter(|i| i["system"] == VIATRAJECTOIRE_OID)
        .ok_or_else(|| {
            problem(
                "identifier",
                format!("one identifier with use official and system {VIATRAJECTOIRE_OID}"),
            )
        })?;
    let request_id = text(&official["value"], "identifier.value")?.to_string();
    let local_id = identifier(document, "usual")
        .and_then(|i| i["value"].as_str())
        .map(str::to_string);
    let custodian = &document["custodian"]["identifier"];
    if custodian["system"] != ID_NAT_STRUCT {
        return Err(problem(
            "custodian.identifier.system",
            format!("expected {ID_NAT_STRUCT} (the structure asked)"),
        ));
    }
    let structure = text(&custodian["value"], "custodian.identifier.value")?.to_string();
    let subject = text(&document["subject"]["reference"], "subject.reference")?;
    let contained = subject
        .strip_prefix('#')
        .and_then(|local| {
            document["contained"]
                .as_array()?
                .iter()
                .find(|r| r["resourceType"] == "Patient" && r["id"] == local)
        })
        .ok_or_else(|| problem("subject", "a reference to the contained Patient"))?;
    let name = contained["name"]
        .as_array()
        .and_then(|names| {
            names
                .iter()
                .find(|n| n["use"] == "official")
                .or(names.first())
        })
        .ok_or_else(|| problem("contained.name", "required"))?;
    let given = name["given"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|g| !g.is_empty())
        .ok_or_else(|| problem("contained.name.given", "required"))?;
    let gender = text(&contained["gender"], "contained.gender")?;
    if !["male", "female", "other", "unknown"].contains(&gender) {
        return Err(problem(
            "contained.gender",
            "male | female | other | unknown",
        ));
    }
    let birth_date = text(&contained["birthDate"], "contained.birthDate")?;
    if chrono::NaiveDate::parse_from_str(birth_date, "%Y-%m-%d").is_err()
        && chrono::NaiveDate::parse_from_str(&format!("{birth_date}-01"), "%Y-%m-%d").is_err()
        && !(birth_date.len() == 4 && birth_date.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(problem(
            "contained.birthDate",
            "a date (YYYY, YYYY-MM or YYYY-MM-DD)",
        ));
    }
    let ins = contained["identifier"]
        .as_array()
        .and_then(|ids| ids.iter().find(|i| i["system"] == INS_NIR))
        .and_then(|i| i["value"].as_str())
        .map(str::to_string);
    let status = text(&document["status"], "status")?;
    if !["current", "entered-in-error", "superseded"].contains(&status) {
        return Err(problem("status", "current | superseded | entered-in-error"));
    }
    let requested_at = text(&document["date"], "date")?;
    if chrono::DateTime::parse_from_rfc3339(requested_at).is_err() {
        return Err(problem("date", "an instant"));
    }
    let wished_start = document["context"]["period"]["start"]
        .as_str()
        .map(str::to_string);
    let requester = document["author"][0]["display"]
        .as_str()
        .or(document["author"][0]["reference"].as_str())
        .ok_or_else(|| problem("author", "who made the request"))?;
    let changed_at = text(&document["meta"]["lastUpdated"], "meta.lastUpdated")?;
    Ok(AdmissionRequest {
        remote_id: format!("DocumentReference/{id}"),
        request_id,
        local_id,
        structure,
        person: Person {
            family: text(&name["family"], "contained.name.family")?.to_string(),
            given,
            birth_date: birth_date.to_string(),
            gender: gender.to_string(),
            ins,
        },
        requested_at: requested_at.to_string(),
        wished_start,
        requester: requester.to_string(),
        changed_at: changed_at.to_string(),
        withdrawn: status == "entered-in-error",
    })
}

/// What makes a request, before ViaTrajectoire gives it its ids (the simulator, the
/// examples).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    pub structure: String,
    pub person: Person,
    pub requester: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wished_start: Option<String>,
    /// A summary of the request file, in French.
    pub summary: String,
}

/// The DocumentReference of a request, as ViaTrajectoire serves it.
pub fn document(
    id: &str,
    request_id: &str,
    local_id: &str,
    request: &NewRequest,
    requested_at: &str,
) -> Value {
    use base64::Engine;
    let person = &request.person;
    let mut patient = json!({
        "resourceType": "Patient",
        "id": "patient",
        "name": [{"use": "official", "family": person.family, "given": person.given.split(' ').collect::<Vec<_>>()}],
        "gender": person.gender,
        "birthDate": person.birth_date,
    });
    if let Some(ins) = &person.ins {
        patient["identifier"] = json!([{"system": INS_NIR, "value": ins}]);
    }
    let mut document = json!({
        "resourceType": "DocumentReference",
        "id": id,
        "contained": [patient],
        "identifier": [
            {"use": "official", "system": VIATRAJECTOIRE_OID, "value": request_id},
            {"use": "usual", "value": local_id},
        ],
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": REQUEST_TYPE, "display": "Admission request Document"}]},
        "subject": {"reference": "#patient"},
        "date": requested_at,
        "author": [{"display": request.requester}],
        "custodian": {"identifier": {"system": ID_NAT_STRUCT, "value": request.structure}},
        "description": "Demande d'accompagnement renforcé à domicile (volet 2 du CRT)",
        "content": [{"attachment": {
            "contentType": "text/plain; charset=utf-8",
            "language": "fr",
            "title": "Dossier de demande",
            "data": base64::engine::general_purpose::STANDARD.encode(request.summary.as_bytes()),
        }}],
    });
    if let Some(start) = &request.wished_start {
        document["context"] = json!({"period": {"start": start}});
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn new_request() -> NewRequest {
        NewRequest {
            structure: "1720003011".into(),
            person: Person {
                family: "MARTIN".into(),
                given: "Jeanne Louise".into(),
                birth_date: "1936-05-12".into(),
                gender: "female".into(),
                ins: None,
            },
            requester: "Centre hospitalier de Mamers, court séjour gériatrique".into(),
            wished_start: Some("2026-12-15".into()),
            summary: "Retour à domicile après hospitalisation ; aidante épuisée.".into(),
        }
    }

    #[test]
    fn a_request_reads_back() {
        let mut document = document(
            "17",
            "VT-GA-00000017",
            "D-17",
            &new_request(),
            "2026-12-01T09:30:00+01:00",
        );
        document["meta"] = json!({"lastUpdated": "2026-12-01T08:30:00.000Z"});
        let read = read(&document).unwrap();
        assert_eq!(read.request_id, "VT-GA-00000017");
        assert_eq!(read.structure, "1720003011");
        assert_eq!(read.person.given, "Jeanne Louise");
        assert_eq!(read.wished_start.as_deref(), Some("2026-12-15"));
        assert!(!read.withdrawn);
    }

    #[test]
    fn each_broken_rule_is_named() {
        let mut document = document("17", "VT-1", "D-1", &new_request(), "2026-12-01T09:30:00Z");
        document["meta"] = json!({"lastUpdated": "2026-12-01T08:30:00.000Z"});
        let cases: [(&str, Value, &str); 4] = [
            (
                "/type/coding/0/code",
                json!("18825-0"),
                "DocumentReference.type",
            ),
            (
                "/custodian/identifier/system",
                json!("urn:x"),
                "custodian.identifier.system",
            ),
            ("/contained/0/gender", json!("f"), "contained.gender"),
            ("/date", json!("yesterday"), "DocumentReference.date"),
        ];
        for (pointer, value, element) in cases {
            let mut broken = document.clone();
            *broken.pointer_mut(pointer).unwrap() = value;
            let problem = read(&broken).unwrap_err();
            assert!(problem.to_string().contains(element), "{problem}");
        }
    }
}
