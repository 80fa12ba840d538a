//! What the directory says of one practitioner, read from the searchset Bundle of a
//! Practitioner search with its PractitionerRoles included.
//!
//! The answer is untrusted: elements this reader does not use are ignored, what it uses is
//! checked for type and size, and a Bundle it cannot make sense of is an error rather than
//! a guess (the caller then reports the member as not checked).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codes::{
    EMAIL_TYPE_EXTENSION, ID_NAT_PS_SYSTEM, MAILBOX_KIND_SYSTEM, MAILBOX_METADATA_EXTENSION,
    MESSAGING_TYPE_SYSTEM, MSSANTE, PERSONAL_MAILBOX, PROFESSION_SYSTEM, RPPS_SYSTEM,
};

/// Bundle entries read; a practitioner has a role per place of practice, far fewer.
const MAX_ENTRIES: usize = 500;
/// Elements of one list read (identifiers, telecoms, qualifications, codings).
const MAX_ITEMS: usize = 50;
/// Professions and mailboxes kept for one practitioner.
const MAX_KEPT: usize = 20;
/// The longest address RFC 5321 allows in a path.
const MAX_ADDRESS: usize = 254;
const MAX_CODE: usize = 16;

/// One practitioner as the directory lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PractitionerEntry {
    pub id_nat_ps: String,
    /// `false`: the directory keeps the practitioner only to tell clients they left.
    pub active: bool,
    /// TRE_G15 codes of `Practitioner.qualification`.
    pub professions: Vec<String>,
    /// MSSanté mailboxes of the practitioner and of their active roles, in the
    /// directory's order of preference (`telecom.rank`), each address once.
    pub mailboxes: Vec<Mailbox>,
}

impl PractitionerEntry {
    /// The mailbox to write to: a personal one (`PER`) first, else the first listed.
    pub fn preferred_mailbox(&self) -> Option<&Mailbox> {
        self.mailboxes
            .iter()
            .find(|m| m.kind.as_deref() == Some(PERSONAL_MAILBOX))
            .or_else(|| self.mailboxes.first())
    }
}

/// An MSSanté mailbox (*boîte aux lettres*, BAL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub address: String,
    /// TRE_R257 code: `PER`, `ORG`, `APP`, `CAB`.
    pub kind: Option<String>,
}

/// Reads the practitioner with idNat_PS `id_nat_ps` from a Practitioner search's Bundle:
/// `None` when the Bundle holds no practitioner. The error says what is wrong with the
/// answer, without quoting it.
pub fn read_bundle(body: &[u8], id_nat_ps: &str) -> Result<Option<PractitionerEntry>, String> {
    let bundle: Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    if bundle["resourceType"] != "Bundle" {
        return Err("the answer is not a FHIR Bundle".into());
    }
    let resources: Vec<&Value> = match &bundle["entry"] {
        Value::Null => Vec::new(),
        Value::Array(entries) => entries
            .iter()
            .take(MAX_ENTRIES)
            .map(|e| &e["resource"])
            .collect(),
        _ => return Err("Bundle.entry is not a list".into()),
    };
    let of_type = |kind: &'static str| {
        resources
            .iter()
            .copied()
            .filter(move |r| r["resourceType"] == kind)
    };
    if of_type("Practitioner").next().is_none() {
        return Ok(None);
    }
    let mut matching = of_type("Practitioner").filter(|p| has_identifier(p, id_nat_ps));
    let practitioner = matching
        .next()
        .ok_or("the Bundle holds practitioners but none with the idNat_PS asked for")?;
    if matching.next().is_some() {
        return Err("the Bundle holds several practitioners with the idNat_PS asked for".into());
    }
    let active = is_active(practitioner, "Practitioner")?;
    let mut mailboxes = Vec::new();
    mailboxes_of(practitioner, &mut mailboxes);
    if let Some(id) = practitioner["id"].as_str() {
        for role in of_type("PractitionerRole") {
            if refers_to(&role["practitioner"], id) && is_active(role, "PractitionerRole")? {
                mailboxes_of(role, &mut mailboxes);
            }
        }
    }
    // A stable sort: mailboxes of equal rank keep the practitioner's first.
    mailboxes.sort_by_key(|(rank, _)| *rank);
    let mut kept: Vec<Mailbox> = Vec::new();
    for (_, mailbox) in mailboxes {
        if kept.len() < MAX_KEPT
            && !kept
                .iter()
                .any(|k| k.address.eq_ignore_ascii_case(&mailbox.address))
        {
            kept.push(mailbox);
        }
    }
    Ok(Some(PractitionerEntry {
        id_nat_ps: id_nat_ps.to_string(),
        active,
        professions: professions(practitioner),
        mailboxes: kept,
    }))
}

/// Whether the practitioner carries the idNat_PS, as such or as the RPPS it is made of.
fn has_identifier(practitioner: &Value, id_nat_ps: &str) -> bool {
    let rpps = id_nat_ps.strip_prefix('8');
    items(&practitioner["identifier"]).any(|identifier| {
        let value = identifier["value"].as_str();
        match identifier["system"].as_str() {
            Some(ID_NAT_PS_SYSTEM) => value == Some(id_nat_ps),
            Some(RPPS_SYSTEM) => rpps.is_some() && value == rpps,
            _ => false,
        }
    })
}

/// `active`, which the public data always gives; FHIR takes a resource without it as
/// active.
fn is_active(resource: &Value, kind: &str) -> Result<bool, String> {
    match &resource["active"] {
        Value::Null => Ok(true),
        Value::Bool(active) => Ok(*active),
        _ => Err(format!("{kind}.active is not a boolean")),
    }
}

/// Whether a Reference points to `Practitioner/<id>`, relative or absolute, with or
/// without a version.
fn refers_to(reference: &Value, id: &str) -> bool {
    let Some(text) = reference["reference"].as_str() else {
        return false;
    };
    let text = text.split("/_history/").next().unwrap_or_default();
    let wanted = format!("Practitioner/{id}");
    text == wanted || text.ends_with(&format!("/{wanted}"))
}

fn professions(practitioner: &Value) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for qualification in items(&practitioner["qualification"]) {
        for coding in items(&qualification["code"]["coding"]) {
            if coding["system"] == PROFESSION_SYSTEM
                && let Some(code) = code(&coding["code"])
                && codes.len() < MAX_KEPT
                && !codes.iter().any(|c| c == code)
            {
                codes.push(code.to_string());
            }
        }
    }
    codes
}

/// The MSSanté mailboxes among a resource's `telecom`, each with its rank (unranked last).
fn mailboxes_of(resource: &Value, out: &mut Vec<(u64, Mailbox)>) {
    for telecom in items(&resource["telecom"]) {
        if telecom["system"] != "email" || !is_mssante(telecom) || red_listed(telecom) {
            continue;
        }
        let Some(address) = telecom["value"].as_str().filter(|a| is_address(a)) else {
            continue;
        };
        let rank = telecom["rank"].as_u64().unwrap_or(u64::MAX);
        out.push((
            rank,
            Mailbox {
                address: address.to_string(),
                kind: kind(telecom),
            },
        ));
    }
}

/// The email-type extension says MSSanté (TRE_R256).
fn is_mssante(telecom: &Value) -> bool {
    extensions(telecom, EMAIL_TYPE_EXTENSION).any(|e| {
        let coding = &e["valueCoding"];
        coding["code"] == MSSANTE
            && (coding["system"].is_null() || coding["system"] == MESSAGING_TYPE_SYSTEM)
    })
}

/// A mailbox its owner asked to keep off the public directory (`listeRouge`) is not
/// offered to others, should an answer still carry it.
fn red_listed(telecom: &Value) -> bool {
    extensions(telecom, MAILBOX_METADATA_EXTENSION).any(|metadata| {
        items(&metadata["extension"])
            .any(|sub| sub["url"] == "listeRouge" && sub["valueBoolean"] == true)
    })
}

/// The TRE_R257 kind from the mailbox's metadata.
fn kind(telecom: &Value) -> Option<String> {
    extensions(telecom, MAILBOX_METADATA_EXTENSION)
        .flat_map(|metadata| items(&metadata["extension"]))
        .filter(|sub| sub["url"] == "type")
        .flat_map(|sub| items(&sub["valueCodeableConcept"]["coding"]))
        .filter(|coding| coding["system"] == MAILBOX_KIND_SYSTEM)
        .find_map(|coding| code(&coding["code"]))
        .map(str::to_string)
}

fn extensions<'a>(element: &'a Value, url: &'a str) -> impl Iterator<Item = &'a Value> {
    items(&element["extension"]).filter(move |e| e["url"] == url)
}

/// The first items of a list; nothing when the element is absent or not a list.
fn items(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten().take(MAX_ITEMS)
}

/// A short code of letters, digits and dashes.
fn code(value: &Value) -> Option<&str> {
    value.as_str().filter(|c| {
        !c.is_empty()
            && c.len() <= MAX_CODE
            && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// An address of the form the record accepts for `mssante_address`: a local part of
/// letters, digits and `._%+-`, then a domain of two labels or more.
pub fn is_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    text.len() <= MAX_ADDRESS
        && !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        && domain.split('.').count() >= 2
        && domain.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ID: &str = "810102727017";

    fn mailbox(address: &str, kind: Option<&str>, rank: Option<u64>) -> Value {
        let mut metadata = vec![];
        if let Some(kind) = kind {
            metadata.push(json!({
                "url": "type",
                "valueCodeableConcept": {"coding": [{"system": MAILBOX_KIND_SYSTEM, "code": kind}]}
            }));
        }
        metadata.push(json!({"url": "digitization", "valueBoolean": true}));
        let mut telecom = json!({
            "extension": [
                {"url": EMAIL_TYPE_EXTENSION,
                 "valueCoding": {"system": MESSAGING_TYPE_SYSTEM, "code": MSSANTE}},
                {"url": MAILBOX_METADATA_EXTENSION, "extension": metadata}
            ],
            "system": "email",
            "value": address
        });
        if let Some(rank) = rank {
            telecom["rank"] = json!(rank);
        }
        telecom
    }

    fn bundle(resources: Vec<Value>) -> Vec<u8> {
        let entry: Vec<Value> = resources
            .into_iter()
            .map(|r| json!({"resource": r}))
            .collect();
        json!({"resourceType": "Bundle", "type": "searchset", "entry": entry})
            .to_string()
            .into_bytes()
    }

    fn practitioner(telecom: Vec<Value>) -> Value {
        json!({
            "resourceType": "Practitioner",
            "id": "003-1",
            "identifier": [
                {"system": ID_NAT_PS_SYSTEM, "value": ID},
                {"system": RPPS_SYSTEM, "value": "10102727017"}
            ],
            "active": true,
            "telecom": telecom,
            "qualification": [
                {"code": {"coding": [
                    {"system": "https://mos.esante.gouv.fr/NOS/TRE_R48-DiplomeEtatFrancais/FHIR/TRE-R48-DiplomeEtatFrancais", "code": "DE01"}
                ]}},
                {"code": {"coding": [
                    {"system": PROFESSION_SYSTEM, "code": "21"},
                    {"system": "https://mos.esante.gouv.fr/NOS/TRE_R09-CategorieProfessionnelle/FHIR/TRE-R09-CategorieProfessionnelle", "code": "C"}
                ]}}
            ]
        })
    }

    fn role(id: &str, reference: &str, active: bool, telecom: Vec<Value>) -> Value {
        json!({
            "resourceType": "PractitionerRole",
            "id": id,
            "active": active,
            "practitioner": {"reference": reference},
            "telecom": telecom
        })
    }

    #[test]
    fn reads_the_ig_example_shape() {
        let body = bundle(vec![practitioner(vec![
            json!({"system": "phone", "value": "0102030405"}),
            json!({"extension": [{"url": EMAIL_TYPE_EXTENSION,
                                  "valueCoding": {"system": MESSAGING_TYPE_SYSTEM, "code": MSSANTE}}],
                   "system": "email", "value": "davidchatelier@xxx.mssante.fr", "rank": 1}),
            json!({"system": "email", "value": "plain@example.fr"}),
        ])]);
        let entry = read_bundle(&body, ID).expect("readable").expect("found");
        assert!(entry.active);
        assert_eq!(entry.professions, ["21"]);
        assert_eq!(
            entry.mailboxes,
            [Mailbox {
                address: "davidchatelier@xxx.mssante.fr".into(),
                kind: None
            }]
        );
    }

    #[test]
    fn mailboxes_of_active_roles_come_in_rank_order_and_personal_ones_are_preferred() {
        let body = bundle(vec![
            practitioner(vec![mailbox("cab@cabinet.mssante.fr", Some("CAB"), None)]),
            role(
                "005-1",
                "Practitioner/003-1",
                true,
                vec![
                    mailbox("me@site.mssante.fr", Some("PER"), Some(2)),
                    mailbox("CAB@cabinet.mssante.fr", Some("CAB"), Some(1)),
                    mailbox("not an address", Some("PER"), Some(1)),
                ],
            ),
            role(
                "005-2",
                "https://gateway.api.esante.gouv.fr/fhir/v2/Practitioner/003-1/_history/3",
                false,
                vec![mailbox("old@ended.mssante.fr", Some("PER"), Some(1))],
            ),
            role(
                "005-3",
                "Practitioner/003-10",
                true,
                vec![mailbox("other@someone.mssante.fr", Some("PER"), Some(1))],
            ),
        ]);
        let entry = read_bundle(&body, ID).expect("readable").expect("found");
        let addresses: Vec<&str> = entry.mailboxes.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(addresses, ["CAB@cabinet.mssante.fr", "me@site.mssante.fr"]);
        assert_eq!(
            entry.preferred_mailbox().map(|m| m.address.as_str()),
            Some("me@site.mssante.fr")
        );
    }

    #[test]
    fn red_listed_mailboxes_are_left_out() {
        let mut hidden = mailbox("hidden@site.mssante.fr", Some("PER"), None);
        hidden["extension"][1]["extension"]
            .as_array_mut()
            .expect("metadata")
            .push(json!({"url": "listeRouge", "valueBoolean": true}));
        let body = bundle(vec![practitioner(vec![hidden])]);
        let entry = read_bundle(&body, ID).expect("readable").expect("found");
        assert!(entry.mailboxes.is_empty());
    }

    #[test]
    fn an_inactive_practitioner_carries_little() {
        let body = bundle(vec![json!({
            "resourceType": "Practitioner", "id": "003-1",
            "identifier": [{"system": RPPS_SYSTEM, "value": "10102727017"}],
            "active": false
        })]);
        let entry = read_bundle(&body, ID).expect("readable").expect("found");
        assert!(!entry.active);
        assert!(entry.professions.is_empty());
    }

    #[test]
    fn empty_and_unreadable_answers() {
        let empty = json!({"resourceType": "Bundle", "type": "searchset", "total": 0});
        assert_eq!(read_bundle(empty.to_string().as_bytes(), ID), Ok(None));
        assert!(read_bundle(b"<html>busy</html>", ID).is_err());
        assert!(read_bundle(br#"{"resourceType": "OperationOutcome"}"#, ID).is_err());
        assert!(read_bundle(br#"{"resourceType": "Bundle", "entry": {}}"#, ID).is_err());
        let someone_else = bundle(vec![practitioner(vec![])]);
        assert!(read_bundle(&someone_else, "810000000000").is_err());
        let twice = bundle(vec![practitioner(vec![]), practitioner(vec![])]);
        assert!(read_bundle(&twice, ID).is_err());
        let mut odd = practitioner(vec![]);
        odd["active"] = json!("yes");
        assert!(read_bundle(&bundle(vec![odd]), ID).is_err());
    }

    #[test]
    fn addresses() {
        assert!(is_address("julien.roux@infirmier.mssante.fr"));
        assert!(!is_address("julien.roux@localhost"));
        assert!(!is_address("a b@x.fr"));
        assert!(!is_address("@x.fr"));
        assert!(!is_address("a@x..fr"));
        assert!(!is_address("a@b@x.fr"));
        assert!(!is_address(&format!("{}@x.fr", "a".repeat(260))));
    }
}
