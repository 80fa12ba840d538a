//! A record as the regional platforms receive it: the mapping onto the ANS Cercle de
//! soins guide written down in `schemas/regions/README.md`.
//!
//! Three FHIR R4 `transaction` Bundles, one per platform operation:
//! - the care circle: `Patient`, the CRT's `Organization`, each professional as
//!   `Practitioner` + `PractitionerRole`, each relative as `RelatedPerson`, and the
//!   `CareTeam` (profile `cds-ihe-careteam`);
//! - the summary: an `EpisodeOfCare` for the CRT's accompaniment and one
//!   `DocumentReference` per document produced from the record (the CDA inline);
//!
//! Every entry is a conditional update on a business identifier derived from the record
//! (`PUT CareTeam?identifier=…`), so a repeated share replaces instead of adding. The
//! identifiers live under the structure's OID root, the one its documents use: arc 3 is
//! the beneficiary (as in the documents), arcs 4 to 9 the resources below.
//!
//! The liaison book follows the ANS *Cahier de liaison* guide (`ans.fhir.fr.cdl` 3.0.0):
//! each entry is a note, `cdl-document-reference`, sent in its own
//! `cdl-bundle-creation-note` transaction (flux 1c, one note per Bundle) as a conditional
//! create on its `masterIdentifier` (`ifNoneExist`), so that a repeated share does not add
//! it twice.

use std::sync::Arc;

use base64::Engine;
use chrono::SecondsFormat;
use crt_core::CrtRecord;
use crt_core::identity::QualifiedIdentity;
use crt_core::oauth::encode;
use crt_core::record::{
    CareRole, Contact, ContactRole, DocumentKind, Ins, LiaisonEntry, LiaisonKind, LiaisonTopic,
    Professional,
};
use crt_documents::{CdaModel, RenderContext, RenderedDocument, render};
use serde_json::{Value, json};
use uuid::Uuid;

/// idNat_Struct: `1` + FINESS for the CRT's establishment.
pub const ID_NAT_STRUCT: &str = "urn:oid:1.2.250.1.71.4.2.2";
/// idNat_PS: `8` + RPPS.
pub const ID_NAT_PS: &str = "urn:oid:1.2.250.1.71.4.2.1";
pub const CARETEAM_PROFILE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam";
pub const RELATED_PERSON_PROFILE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-fr-related-person";
pub const CARETEAM_ROLES: &str =
    "https://interop.esante.gouv.fr/ig/fhir/cds/CodeSystem/careteam-roles-cs";
pub const ROLE_CLASS: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass";
pub const ROLE_CODE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R216-HL7RoleCode/FHIR/TRE-R216-HL7RoleCode";
pub const PROFESSION: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante";
pub const LOINC: &str = "http://loinc.org";
/// The Cahier de liaison guide's note profile, its Bundle and its urgency extension.
pub const CDL_NOTE_PROFILE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/cdl/StructureDefinition/cdl-document-reference";
pub const CDL_CREATION_BUNDLE_PROFILE: &str =
    "https://interop.esante.gouv.fr/ig/fhir/cdl/StructureDefinition/cdl-bundle-creation-note";
pub const CDL_IS_EMERGENCY: &str =
    "https://interop.esante.gouv.fr/ig/fhir/cdl/StructureDefinition/cdl-ext-is-emergency";
/// Note types (TRE_R234, drawn on by JDV_J23).
pub const NOTE_TYPE: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R234-TypeNote/FHIR/TRE-R234-TypeNote";
/// Code systems of the contract where no national one exists.
pub const CRT_ACCOMPANIMENT: &str = "urn:crt-gateway:fhir:CodeSystem:crt-accompaniment";

/// Arcs under the structure's OID root. Arc 3 is the documents' patient identifier.
pub(crate) mod arc {
    pub const PATIENT: u8 = 3;
    pub const PRACTITIONER: u8 = 4;
    pub const PRACTITIONER_ROLE: u8 = 5;
    pub const RELATED_PERSON: u8 = 6;
    pub const CARE_TEAM: u8 = 7;
    pub const EPISODE: u8 = 8;
    pub const NOTE: u8 = 9;
    pub const APPOINTMENT: u8 = 10;
    pub const SCHEDULE: u8 = 11;
}

#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("rendering the {document} document: {message}")]
    Render {
        document: &'static str,
        message: String,
    },
}

/// What one share sends, with the documents already rendered.
pub struct Share {
    pub record: Arc<CrtRecord>,
    /// The INS, when qualified: the beneficiary's identifier, and the condition for
    /// documents (which name the patient by it).
    pub ins: Option<Ins>,
    pub documents: Vec<RenderedDocument>,
    root: String,
    bundles: std::sync::OnceLock<Bundles>,
}

struct Bundles {
    care_circle: Value,
    summary: Value,
    entries: Vec<Value>,
    planning: Option<Value>,
}

/// One identifier of the contract: `system|value`, and the JSON of it.
pub(crate) struct Business {
    system: String,
    value: String,
}

impl Business {
    pub(crate) fn json(&self) -> Value {
        json!({"system": self.system, "value": self.value})
    }

    /// The search that finds it: the conditional update URL and reference.
    pub(crate) fn search(&self, kind: &str) -> String {
        format!(
            "{kind}?identifier={}",
            encode(&format!("{}|{}", self.system, self.value))
        )
    }

    /// A stable `urn:uuid:` for the entry's fullUrl within a transaction.
    fn full_url(&self) -> String {
        let name = format!("{}|{}", self.system, self.value);
        format!(
            "urn:uuid:{}",
            Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
        )
    }
}

pub(crate) fn entry(kind: &str, id: &Business, resource: Value) -> Value {
    json!({
        "fullUrl": id.full_url(),
        "resource": resource,
        "request": {"method": "PUT", "url": id.search(kind)},
    })
}

pub(crate) fn transaction(entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

impl Share {
    /// The share of `record`; documents are rendered when the identity is qualified.
    pub fn new(
        record: Arc<CrtRecord>,
        identity: Option<QualifiedIdentity>,
    ) -> Result<Share, ShareError> {
        let context = RenderContext::for_record(&record, None);
        let mut documents = Vec::new();
        if let Some(identity) = &identity {
            let wanted = [
                (DocumentKind::Dlu, record.dlu.is_some()),
                (DocumentKind::Plan, record.plan.is_some()),
            ];
            for (kind, present) in wanted {
                if !present {
                    continue;
                }
                let model = CdaModel::for_record(kind, record.beneficiary.placement);
                let document =
                    render(&record, model, identity, &context).map_err(|e| ShareError::Render {
                        document: kind.as_str(),
                        message: e.to_string(),
                    })?;
                documents.push(document);
            }
        }
        Ok(Share {
            root: context.oid_root,
            record,
            ins: identity.map(|identity| identity.ins),
            documents,
            bundles: std::sync::OnceLock::new(),
        })
    }

    pub(crate) fn business(&self, arc: u8, value: impl Into<String>) -> Business {
        Business {
            system: format!("urn:oid:{}.{arc}", self.root),
            value: value.into(),
        }
    }

    pub(crate) fn local(&self) -> &str {
        &self.record.beneficiary.local_id
    }

    /// The system of the beneficiary's identifier on the platform (the documents' own).
    pub fn patient_system(&self) -> String {
        self.patient_id().system
    }

    pub(crate) fn patient_id(&self) -> Business {
        self.business(arc::PATIENT, self.local())
    }

    pub(crate) fn organization_id(&self) -> Business {
        Business {
            system: ID_NAT_STRUCT.into(),
            value: self.record.crt.id_nat_struct(),
        }
    }

    pub(crate) fn member_value(&self, member: &str) -> String {
        format!("{}/{member}", self.local())
    }

    pub(crate) fn practitioner_id(&self, professional: &Professional) -> Business {
        match &professional.rpps {
            Some(rpps) => Business {
                system: ID_NAT_PS.into(),
                value: format!("8{rpps}"),
            },
            None => self.business(arc::PRACTITIONER, self.member_value(&professional.id)),
        }
    }

    pub(crate) fn role_id(&self, professional_id: &str) -> Business {
        self.business(arc::PRACTITIONER_ROLE, self.member_value(professional_id))
    }

    fn care_team_id(&self) -> Business {
        self.business(arc::CARE_TEAM, self.local())
    }

    /// When the CRT's accompaniment began: the volet 2 referral, or the record's date.
    fn start(&self) -> String {
        match &self.record.volet2 {
            Some(volet2) => volet2.referral.received_on.to_string(),
            None => self.record.source.updated_at.date_naive().to_string(),
        }
    }

    fn patient(&self) -> Value {
        let mut patient = crt_core::fhir_patient::patient(&self.record, self.ins.as_ref());
        let local = json!({"use": "usual", "system": self.patient_system(), "value": self.local()});
        match patient["identifier"].as_array_mut() {
            Some(identifiers) => identifiers.push(local),
            None => patient["identifier"] = json!([local]),
        }
        patient
    }

    fn organization(&self) -> Value {
        let crt = &self.record.crt;
        let mut organization = json!({
            "resourceType": "Organization",
            "identifier": [self.organization_id().json()],
            "name": crt.name,
        });
        if let Some(phone) = &crt.phone {
            organization["telecom"] = json!([{"system": "phone", "value": phone}]);
        }
        organization
    }

    fn practitioner(&self, professional: &Professional) -> Value {
        json!({
            "resourceType": "Practitioner",
            "identifier": [self.practitioner_id(professional).json()],
            "name": [{"family": professional.family_name, "given": [professional.given_name]}],
        })
    }

    fn practitioner_role(&self, professional: &Professional) -> Value {
        let mut role = json!({
            "resourceType": "PractitionerRole",
            "identifier": [self.role_id(&professional.id).json()],
            "active": true,
            "practitioner": {"reference": self.practitioner_id(professional).full_url()},
        });
        role["organization"] = match &professional.organisation {
            Some(name) => json!({"display": name}),
            None => json!({"reference": self.organization_id().full_url()}),
        };
        let mut code = json!({"text": care_role_label(professional.role)});
        if let Some((g15, display)) = professional.profession.g15_code() {
            code["coding"] = json!([{"system": PROFESSION, "code": g15, "display": display}]);
        }
        role["code"] = json!([code]);
        let mut telecom = Vec::new();
        if let Some(phone) = &professional.phone {
            telecom.push(json!({"system": "phone", "value": phone}));
        }
        if let Some(address) = &professional.mssante_address {
            telecom.push(json!({"system": "email", "value": address}));
        }
        if !telecom.is_empty() {
            role["telecom"] = Value::Array(telecom);
        }
        role
    }

    fn related_person(&self, contact: &Contact) -> Value {
        let mut relationship: Vec<Value> = contact
            .roles
            .iter()
            .map(|role| {
                let (code, display) = role_class(*role);
                json!({"coding": [{"system": ROLE_CLASS, "code": code, "display": display}]})
            })
            .collect();
        if let Some((code, display)) = contact.relationship.role_code() {
            relationship
                .push(json!({"coding": [{"system": ROLE_CODE, "code": code, "display": display}]}));
        }
        let mut telecom: Vec<Value> = contact
            .phones
            .iter()
            .map(|p| json!({"system": "phone", "value": p}))
            .collect();
        if let Some(email) = &contact.email {
            telecom.push(json!({"system": "email", "value": email}));
        }
        let mut person = json!({
            "resourceType": "RelatedPerson",
            "meta": {"profile": [RELATED_PERSON_PROFILE]},
            "identifier": [self.business(arc::RELATED_PERSON, self.member_value(&contact.id)).json()],
            "active": true,
            "patient": {"reference": self.patient_id().full_url()},
            "relationship": relationship,
            "name": [{"use": "official", "family": contact.family_name, "given": [contact.given_name]}],
        });
        if !telecom.is_empty() {
            person["telecom"] = Value::Array(telecom);
        }
        person
    }

    /// The contacts the care circle can name: the guide asks a way to reach each one.
    fn reachable_contacts(&self) -> impl Iterator<Item = &Contact> {
        self.record
            .beneficiary
            .contacts
            .iter()
            .filter(|c| !c.phones.is_empty() || c.email.is_some())
    }

    fn care_team(&self) -> Value {
        let start = self.start();
        let mut participants: Vec<Value> = self
            .record
            .care_circle
            .iter()
            .map(|p| {
                let mut role = json!({"text": care_role_label(p.role)});
                if p.role == CareRole::GeneralPractitioner {
                    role["coding"] = json!([{"system": CARETEAM_ROLES, "code": "MT", "display": "Médecin Traitant"}]);
                }
                json!({
                    "role": [role],
                    "member": {"reference": self.role_id(&p.id).full_url()},
                    "period": {"start": start},
                })
            })
            .collect();
        for contact in self.reachable_contacts() {
            let roles: Vec<Value> = contact
                .roles
                .iter()
                .filter_map(|role| careteam_role(*role))
                .map(|(code, display)| {
                    json!({"coding": [{"system": CARETEAM_ROLES, "code": code, "display": display}]})
                })
                .collect();
            let mut participant = json!({
                "member": {"reference": self.business(arc::RELATED_PERSON, self.member_value(&contact.id)).full_url()},
                "period": {"start": start},
            });
            if !roles.is_empty() {
                participant["role"] = Value::Array(roles);
            }
            participants.push(participant);
        }
        let status = match self.record.volet2.as_ref().and_then(|v| v.exit.as_ref()) {
            Some(_) => "inactive",
            None => "active",
        };
        let mut period = json!({"start": start});
        if let Some(exit) = self.record.volet2.as_ref().and_then(|v| v.exit.as_ref()) {
            period["end"] = json!(exit.date.to_string());
        }
        let mut team = json!({
            "resourceType": "CareTeam",
            "meta": {"profile": [CARETEAM_PROFILE]},
            "identifier": [self.care_team_id().json()],
            "status": status,
            "name": format!("Cercle de soins ({})", self.record.crt.name),
            "subject": {"reference": self.patient_id().full_url()},
            "period": period,
            "managingOrganization": [{"reference": self.organization_id().full_url()}],
        });
        if !participants.is_empty() {
            team["participant"] = Value::Array(participants);
        }
        team
    }

    /// How many members the CareTeam names: the professionals and the reachable contacts.
    pub fn care_team_size(&self) -> usize {
        self.record.care_circle.len() + self.reachable_contacts().count()
    }

    /// The care-circle transaction.
    pub fn care_circle(&self) -> &Value {
        &self.bundles().care_circle
    }

    /// The summary transaction: the accompaniment and the documents.
    pub fn summary(&self) -> &Value {
        &self.bundles().summary
    }

    /// The liaison book: one `cdl-bundle-creation-note` transaction per entry.
    pub fn entries(&self) -> &[Value] {
        &self.bundles().entries
    }

    /// The planning transaction (`Schedule`s and `Appointment`s), when the record plans
    /// interventions.
    pub fn planning(&self) -> Option<&Value> {
        self.bundles().planning.as_ref()
    }

    /// The transactions, built on first use: the platform sends them and the sink
    /// keeps them, from the same build (the summary carries the documents inline).
    fn bundles(&self) -> &Bundles {
        self.bundles.get_or_init(|| Bundles {
            care_circle: self.build_care_circle(),
            summary: self.build_summary(),
            entries: self.build_entries(),
            planning: self.build_planning(),
        })
    }

    /// The care-circle transaction, built again (benchmarks).
    pub fn build_care_circle(&self) -> Value {
        let mut entries = vec![
            entry("Patient", &self.patient_id(), self.patient()),
            entry("Organization", &self.organization_id(), self.organization()),
        ];
        for professional in &self.record.care_circle {
            entries.push(entry(
                "Practitioner",
                &self.practitioner_id(professional),
                self.practitioner(professional),
            ));
            entries.push(entry(
                "PractitionerRole",
                &self.role_id(&professional.id),
                self.practitioner_role(professional),
            ));
        }
        for contact in self.reachable_contacts() {
            entries.push(entry(
                "RelatedPerson",
                &self.business(arc::RELATED_PERSON, self.member_value(&contact.id)),
                self.related_person(contact),
            ));
        }
        entries.push(entry("CareTeam", &self.care_team_id(), self.care_team()));
        transaction(entries)
    }

    fn episode(&self) -> Value {
        let record = &self.record;
        let (code, display) = match &record.volet2 {
            Some(_) => ("volet-2", "Accompagnement renforcé à domicile (volet 2)"),
            None => (
                "volet-1",
                "Mission d'appui aux professionnels du territoire (volet 1)",
            ),
        };
        let exit = record.volet2.as_ref().and_then(|v| v.exit.as_ref());
        let mut period = json!({"start": self.start()});
        if let Some(exit) = exit {
            period["end"] = json!(exit.date.to_string());
        }
        json!({
            "resourceType": "EpisodeOfCare",
            "identifier": [self.business(arc::EPISODE, self.local()).json()],
            "status": if exit.is_some() { "finished" } else { "active" },
            "type": [{"coding": [{"system": CRT_ACCOMPANIMENT, "code": code, "display": display}]}],
            "patient": {"reference": self.patient_id().search("Patient")},
            "managingOrganization": {"reference": self.organization_id().search("Organization")},
            "period": period,
            "team": [{"reference": self.care_team_id().search("CareTeam")}],
        })
    }

    fn document_reference(&self, document: &RenderedDocument) -> (Business, Value) {
        let unique_id = match &document.id.extension {
            Some(extension) => format!("{}^{extension}", document.id.root),
            None => document.id.root.clone(),
        };
        let id = Business {
            system: "urn:ietf:rfc:3986".into(),
            value: format!("urn:oid:{}", document.set_id.root),
        };
        let type_code = document.model.type_code();
        let format = document.model.format_code();
        let resource = json!({
            "resourceType": "DocumentReference",
            "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{unique_id}")},
            "identifier": [id.json()],
            "status": "current",
            "type": {"coding": [{"system": LOINC, "code": type_code.code, "display": type_code.display}]},
            "subject": {"reference": self.patient_id().search("Patient")},
            "date": document.effective_time.to_rfc3339_opts(SecondsFormat::Secs, true),
            "author": [{"reference": self.organization_id().search("Organization")}],
            "description": document.title,
            "content": [{
                "attachment": {
                    "contentType": "text/xml",
                    "language": "fr-FR",
                    "data": base64::engine::general_purpose::STANDARD.encode(&document.xml),
                    "title": document.title,
                },
                "format": {"system": format.system, "code": format.code, "display": format.display},
            }],
        });
        (id, resource)
    }

    fn build_summary(&self) -> Value {
        let mut entries = vec![entry(
            "EpisodeOfCare",
            &self.business(arc::EPISODE, self.local()),
            self.episode(),
        )];
        for document in &self.documents {
            let (id, resource) = self.document_reference(document);
            entries.push(entry("DocumentReference", &id, resource));
        }
        transaction(entries)
    }

    /// A liaison entry as a Cahier de liaison note: its type (J23), the urgency flag that
    /// makes it an alert, the beneficiary, the professional who wrote it (the guide
    /// prefers the PractitionerRole), its topic as the note's title, and the text as a
    /// UTF-8 `text/plain` attachment.
    fn note(&self, liaison: &LiaisonEntry) -> Value {
        let (code, display) = note_type(liaison.topic);
        let written = liaison
            .written_at
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        json!({
            "resourceType": "DocumentReference",
            "meta": {"profile": [CDL_NOTE_PROFILE]},
            "extension": [{
                "url": CDL_IS_EMERGENCY,
                "valueBoolean": liaison.kind == LiaisonKind::Alert,
            }],
            "masterIdentifier": self.business(arc::NOTE, self.member_value(&liaison.id)).json(),
            "status": "current",
            "type": {"coding": [{"system": NOTE_TYPE, "code": code, "display": display}]},
            "subject": {"reference": self.patient_id().search("Patient")},
            "date": written,
            "author": [{"reference": self.role_id(&liaison.author).search("PractitionerRole")}],
            "description": liaison.topic.label(),
            "content": [{"attachment": {
                "contentType": NOTE_TEXT,
                "language": "fr",
                "data": base64::engine::general_purpose::STANDARD.encode(liaison.text.as_bytes()),
                "creation": written,
            }}],
        })
    }

    fn build_entries(&self) -> Vec<Value> {
        self.record
            .liaison_book
            .iter()
            .map(|liaison| {
                let id = self.business(arc::NOTE, self.member_value(&liaison.id));
                note_bundle(&id, self.note(liaison))
            })
            .collect()
    }
}

/// How a note's text is carried.
pub const NOTE_TEXT: &str = "text/plain; charset=utf-8";

/// A note's creation transaction (`cdl-bundle-creation-note`): the note alone, created
/// unless the platform already holds its `masterIdentifier`.
fn note_bundle(id: &Business, note: Value) -> Value {
    json!({
        "resourceType": "Bundle",
        "meta": {"profile": [CDL_CREATION_BUNDLE_PROFILE]},
        "type": "transaction",
        "entry": [{
            "fullUrl": id.full_url(),
            "resource": note,
            "request": {
                "method": "POST",
                "url": "DocumentReference",
                "ifNoneExist": format!("identifier={}", encode(&format!("{}|{}", id.system, id.value))),
            },
        }],
    })
}

/// The J23 note type of an entry: an instruction for what coordinates the care circle, an
/// observation for what the CRT's team saw at home.
fn note_type(topic: LiaisonTopic) -> (&'static str, &'static str) {
    match topic {
        LiaisonTopic::Coordination => ("INST", "Instruction"),
        _ => ("OBS", "Note d'observation"),
    }
}

/// The system of a CRT's own liaison entries, given the system of its patients: an entry
/// under it was posted by the gateway, not by a partner.
pub fn own_entry_system(patient_system: &str) -> Option<String> {
    let root = patient_system.strip_suffix(&format!(".{}", arc::PATIENT))?;
    Some(format!("{root}.{}", arc::NOTE))
}

/// The guide's participant roles for the relatives it names.
fn careteam_role(role: ContactRole) -> Option<(&'static str, &'static str)> {
    match role {
        ContactRole::TrustedPerson => Some(("PC", "Personne de Confiance")),
        ContactRole::Caregiver => Some(("AID", "Aidant")),
        ContactRole::LegalRepresentative => Some(("RL", "Responsable légal")),
        ContactRole::EmergencyContact => None,
    }
}

/// The person's role (TRE_R260, HL7 RoleClass), as the documents use it.
fn role_class(role: ContactRole) -> (&'static str, &'static str) {
    match role {
        ContactRole::EmergencyContact => ("ECON", "Personne à prévenir en cas d'urgence"),
        ContactRole::TrustedPerson => ("NOK", "Personne de confiance"),
        ContactRole::Caregiver => ("CAREGIVER", "Aidant"),
        ContactRole::LegalRepresentative => ("GUARD", "Responsable légal"),
    }
}

fn care_role_label(role: CareRole) -> &'static str {
    match role {
        CareRole::GeneralPractitioner => "Médecin traitant",
        CareRole::CrtPhysician => "Médecin du dispositif CRT",
        CareRole::CoordinatingPhysician => "Médecin coordonnateur",
        CareRole::NurseCoordinator => "Infirmier coordinateur",
        CareRole::Nurse => "Infirmier",
        CareRole::CareAssistant => "Aide-soignant",
        CareRole::HomeHelp => "Aide à domicile",
        CareRole::SocialWorker => "Travailleur social",
        CareRole::Psychologist => "Psychologue",
        CareRole::Therapist => "Rééducateur",
        CareRole::Pharmacist => "Pharmacien",
        CareRole::DacCoordinator => "Coordinateur DAC",
        CareRole::HospitalPhysician => "Médecin hospitalier",
        CareRole::Other => "Autre intervenant",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::check_transaction;

    fn example() -> Share {
        example_of("home-admission-occitanie.json")
    }

    fn example_of(name: &str) -> Share {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let record: CrtRecord = serde_json::from_slice(
            &std::fs::read(root.join("schemas/examples").join(name)).unwrap(),
        )
        .unwrap();
        let identity = QualifiedIdentity::of_record(&record);
        Share::new(Arc::new(record), identity).unwrap()
    }

    #[test]
    fn what_the_gateway_sends_keeps_the_rules() {
        let share = example();
        assert!(!share.entries().is_empty());
        for bundle in [share.care_circle(), share.summary()]
            .into_iter()
            .chain(share.entries())
        {
            assert_eq!(check_transaction(bundle), Vec::<String>::new());
        }
        let planned = example_of("home-volet2-pays-de-la-loire.json");
        let planning = planned
            .planning()
            .expect("the record plans two interventions");
        assert_eq!(check_transaction(planning), Vec::<String>::new());
    }

    #[test]
    fn the_same_record_gives_the_same_identifiers() {
        assert_eq!(example().care_circle(), example().care_circle());
    }

    #[test]
    fn own_entries_are_told_from_the_patient_system() {
        let share = example();
        let own = own_entry_system(&share.patient_system()).unwrap();
        let entries = share.entries();
        assert_eq!(
            entries[0]["entry"][0]["resource"]["masterIdentifier"]["system"],
            own.as_str()
        );
        assert_eq!(own_entry_system("urn:oid:1.2.250.1.213.1.4.8"), None);
    }

    /// The contract's examples (`schemas/regions/examples/`) are what the code produces;
    /// `UPDATE_SCHEMAS=1 cargo test -p crt-regions published` rewrites them.
    #[test]
    fn published_examples_are_what_the_code_produces() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let share = example();
        let patient_system = share.patient_system();
        let partner = crate::simulator::partner_entry_bundle(
            &patient_system,
            &share.record.beneficiary.local_id,
            "visite-2026-02-14",
            LiaisonKind::Alert,
            "Chute dans la nuit, relevée par l'aidante ; hanche droite douloureuse.",
        );
        let mut partner = partner;
        partner["entry"][0]["resource"]["date"] = json!("2026-02-14T21:40:00.000Z");
        partner["entry"][0]["resource"]["content"][0]["attachment"]["creation"] =
            json!("2026-02-14T21:40:00.000Z");
        let entries = Value::Array(share.entries().to_vec());
        for (name, value) in [
            ("care-circle.json", share.care_circle().clone()),
            ("summary.json", share.summary().clone()),
            ("liaison-book.json", entries),
            ("partner-entry.json", partner),
            (
                "planning.json",
                example_of("home-volet2-pays-de-la-loire.json")
                    .planning()
                    .cloned()
                    .unwrap_or_default(),
            ),
        ] {
            let path = root.join("schemas/regions/examples").join(name);
            let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
            if std::env::var_os("UPDATE_SCHEMAS").is_some() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
            }
            assert_eq!(
                std::fs::read_to_string(&path).unwrap_or_default(),
                text,
                "{name} is out of date: run `UPDATE_SCHEMAS=1 cargo test -p crt-regions published`"
            );
        }
    }
}
