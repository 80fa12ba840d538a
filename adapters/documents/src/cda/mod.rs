//! CDA R2: the header common to every document, and the pieces each body uses.

mod dlu;
mod plan;
mod write;

use chrono::{DateTime, FixedOffset, NaiveDate};
use crt_core::CrtRecord;
use crt_core::identity::QualifiedIdentity;
use crt_core::record::{DocumentKind, Ins, Placement, PorteurKind, Professional, Timestamp};
use sha2::Digest;
use uuid::Uuid;

pub use write::Cda;

/// Which CDA model a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CdaModel {
    /// DLU-EHPAD-DLU 2022.01: a resident in a temporary or emergency place of the EHPAD.
    DluEhpad,
    /// DLU-DOM: a beneficiary at home.
    DluDom,
    /// The personalised support plan (CI-SIS minimal structuring).
    Plan,
}

/// A code and the system it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub display: &'static str,
    pub system: &'static str,
}

pub const LOINC: &str = "2.16.840.1.113883.6.1";
pub const SNOMED: &str = "2.16.840.1.113883.6.96";
/// TA_ASIP, the code system of the DLU checklist (JDV_ChecklistDLU_CISIS).
pub const CHECKLIST: &str = "1.2.250.1.213.1.1.4.322";
/// TRE_A06 formatCode system.
pub const FORMAT_CODE_SYSTEM: &str = "1.2.250.1.213.1.1.4.2.282";
/// TRE_A01 CadreExercice (practiceSettingCode).
pub const PRACTICE_SETTING_SYSTEM: &str = "1.2.250.1.213.1.1.4.9";
/// TRE_R02 SecteurActivite (healthcareFacilityTypeCode).
pub const FACILITY_TYPE_SYSTEM: &str = "1.2.250.1.71.4.2.4";
pub const OID_RPPS: &str = "1.2.250.1.71.4.2.1";
pub const OID_ID_NAT_STRUCT: &str = "1.2.250.1.71.4.2.2";

impl CdaModel {
    /// The model for a document kind and a placement.
    pub fn for_record(kind: DocumentKind, placement: Placement) -> CdaModel {
        match (kind, placement) {
            (DocumentKind::Plan, _) => CdaModel::Plan,
            (DocumentKind::Dlu, Placement::Home) => CdaModel::DluDom,
            (DocumentKind::Dlu, _) => CdaModel::DluEhpad,
        }
    }

    pub fn kind(self) -> DocumentKind {
        match self {
            CdaModel::DluEhpad | CdaModel::DluDom => DocumentKind::Dlu,
            CdaModel::Plan => DocumentKind::Plan,
        }
    }

    /// The model's templateId (root, extension), which structuration minimale requires
    /// beside the two header templates. The plan has no CI-SIS model: it declares the IHE
    /// PCC *Medical Document* template, the generic structured document its sections
    /// follow (see `docs/documents.md`).
    pub fn template(self) -> (&'static str, Option<&'static str>) {
        match self {
            CdaModel::DluEhpad => ("1.2.250.1.213.1.1.1.22", Some("2022.01")),
            CdaModel::DluDom => ("1.2.250.1.213.1.1.1.48", None),
            CdaModel::Plan => ("1.3.6.1.4.1.19376.1.5.3.1.1.1", None),
        }
    }

    /// Document type (LOINC), which is also the XDS typeCode.
    pub fn type_code(self) -> Code {
        match self {
            CdaModel::DluEhpad | CdaModel::DluDom => Code {
                code: "74207-2",
                display: "Dossier de liaison d'urgence",
                system: LOINC,
            },
            CdaModel::Plan => Code {
                code: "80788-3",
                display: "Projet personnalisé d'accompagnement",
                system: LOINC,
            },
        }
    }

    pub fn format_code(self) -> Code {
        let code = match self {
            CdaModel::DluEhpad => "urn:asip:ci-sis:dlu:2015",
            CdaModel::DluDom => "urn:asip:ci-sis:dlu-dlu-dom:2022",
            // No CI-SIS model exists for the plan: JDV_J10's code for a document no IHE or
            // CI-SIS profile references.
            CdaModel::Plan => "urn:asipSante:modelesHorsProfils:2011",
        };
        Code {
            code,
            display: match self {
                CdaModel::DluEhpad => "Document de liaison d'urgence",
                CdaModel::DluDom => "Document de liaison d'urgence DOM",
                CdaModel::Plan => "Document non référencé IHE ou CI-SIS",
            },
            system: FORMAT_CODE_SYSTEM,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            CdaModel::DluEhpad | CdaModel::DluDom => "DOCUMENT DE LIAISON D'URGENCE",
            CdaModel::Plan => "PLAN PERSONNALISÉ D'ACCOMPAGNEMENT",
        }
    }

    /// The model's name in messages and receipts.
    pub fn name(self) -> &'static str {
        match self {
            CdaModel::DluEhpad => "DLU-EHPAD",
            CdaModel::DluDom => "DLU-DOM",
            CdaModel::Plan => "personalised plan",
        }
    }

    /// Short name in file names and options.
    pub fn slug(self) -> &'static str {
        match self {
            CdaModel::DluEhpad => "dlu-ehpad",
            CdaModel::DluDom => "dlu-dom",
            CdaModel::Plan => "plan",
        }
    }
}

/// An instance identifier: an OID, and an extension when the OID names a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceId {
    pub root: String,
    pub extension: Option<String>,
}

impl InstanceId {
    /// A document identifier: a unique OID under the structure's root, derived from what
    /// names the document (`kind`, its subject, its version) so that the same document has
    /// the same id on every attempt. Arc 1 holds documents, arc 2 their sets.
    pub fn derived(context: &RenderContext, arc: u8, name: &str) -> InstanceId {
        InstanceId {
            root: derived_oid(&context.oid_root, arc, name),
            extension: None,
        }
    }

    /// The XDS form: the OID, or `root^extension`.
    pub fn xds(&self) -> String {
        match &self.extension {
            Some(extension) => format!("{}^{extension}", self.root),
            None => self.root.clone(),
        }
    }
}

/// Longest structure OID root: XDS limits unique ids to 64 characters, and a derived id
/// adds `.<arc>.` and up to 16 digits.
pub const MAX_OID_ROOT_LEN: usize = 45;

/// A unique OID under `root`, arc `arc`, derived from `name`: the first 53 bits of its
/// SHA-256 (at most 16 digits). The same name gives the same OID on every attempt.
pub fn derived_oid(root: &str, arc: u8, name: &str) -> String {
    let digest = sha2::Sha256::digest(name.as_bytes());
    let mut number = [0u8; 8];
    number.copy_from_slice(&digest[..8]);
    format!("{root}.{arc}.{}", u64::from_be_bytes(number) >> 11)
}

/// What rendering needs beyond the record.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// OID under which this structure's documents are identified.
    pub oid_root: String,
}

impl RenderContext {
    /// A context with the structure's OID: the configured one, or a UUID-derived OID
    /// (`2.25.<uuid>`, ITU-T X.667) computed from its FINESS, unique without registration.
    pub fn for_record(record: &CrtRecord, configured: Option<&str>) -> RenderContext {
        let oid_root = match configured {
            Some(root) => root.to_string(),
            None => {
                let uuid = Uuid::new_v5(
                    &Uuid::NAMESPACE_OID,
                    format!("finess:{}", record.crt.finess_et).as_bytes(),
                );
                format!("2.25.{}", uuid.as_u128())
            }
        };
        RenderContext { oid_root }
    }

    /// The DUI's identifier of the beneficiary, qualified by arc 3 of the root.
    pub fn patient_id(&self, local_id: &str) -> InstanceId {
        InstanceId {
            root: format!("{}.3", self.oid_root),
            extension: Some(local_id.to_string()),
        }
    }
}

/// A rendered document and what its metadata needs.
#[derive(Debug, Clone)]
pub struct RenderedDocument {
    pub model: CdaModel,
    pub id: InstanceId,
    pub set_id: InstanceId,
    pub version: u32,
    /// The previous version this one replaces (XDS `RPLC`).
    pub replaces: Option<InstanceId>,
    pub effective_time: Timestamp,
    pub service_start: Timestamp,
    pub service_stop: Option<Timestamp>,
    pub title: String,
    pub author: Professional,
    pub structure_name: String,
    pub structure_id_nat: String,
    pub practice_setting: Code,
    pub facility_type: Code,
    pub ins: Ins,
    /// The DUI's identifier of the beneficiary, and the OID that qualifies it.
    pub local_patient_id: InstanceId,
    pub patient: PatientInfo,
    pub xml: Vec<u8>,
}

/// The patient as XDS `sourcePatientInfo` describes them: the reference traits of the
/// qualified identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientInfo {
    pub birth_name: String,
    pub first_given_name: String,
    /// HL7 TS at the precision known (`YYYY`, `YYYYMM` or `YYYYMMDD`).
    pub birth_time: String,
    /// `M`, `F` or `U`.
    pub sex: &'static str,
}

impl PatientInfo {
    pub fn of(identity: &QualifiedIdentity) -> PatientInfo {
        let traits = &identity.traits;
        PatientInfo {
            birth_name: traits.birth_name.clone(),
            first_given_name: traits.first_given_name.clone(),
            birth_time: birth_time(&traits.birth_date),
            sex: match traits.sex() {
                crt_core::record::Sex::Male => "M",
                crt_core::record::Sex::Female => "F",
                crt_core::record::Sex::Undetermined => "U",
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the record has no {0} part")]
    Missing(&'static str),
    #[error("the author {0:?} is not in the care circle")]
    UnknownAuthor(String),
    #[error("the author {0:?} has no RPPS number; documents name their author by RPPS")]
    AuthorWithoutRpps(String),
    #[error("a DLU names the general practitioner; the care circle has none")]
    NoGeneralPractitioner,
}

/// The versions of one document of a record: what names the document's set, and its
/// current version. Ids of every version derive from them, so the id of any earlier
/// version is known without having kept it (a replacement names the version it replaces;
/// a DMP lookup searches for every version of the set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSet {
    name: String,
    pub version: u32,
}

impl DocumentSet {
    /// The record's `kind` document set.
    pub fn of(record: &CrtRecord, kind: DocumentKind) -> Result<DocumentSet, RenderError> {
        let local = &record.beneficiary.local_id;
        match kind {
            DocumentKind::Dlu => {
                let dlu = record.dlu.as_ref().ok_or(RenderError::Missing("dlu"))?;
                Ok(DocumentSet {
                    name: format!("dlu:{local}"),
                    version: dlu.version,
                })
            }
            DocumentKind::Plan => {
                let plan = record.plan.as_ref().ok_or(RenderError::Missing("plan"))?;
                Ok(DocumentSet {
                    name: format!("plan:{local}:{}", plan.id),
                    version: plan.version,
                })
            }
        }
    }

    /// The set's id (arc 2).
    pub fn set_id(&self, context: &RenderContext) -> InstanceId {
        InstanceId::derived(context, 2, &self.name)
    }

    /// The id of `version` (arc 1).
    pub fn version_id(&self, context: &RenderContext, version: u32) -> InstanceId {
        InstanceId::derived(context, 1, &format!("{}:{version}", self.name))
    }

    /// The id of each version up to the current one, newest first.
    pub fn version_ids(&self, context: &RenderContext) -> Vec<(u32, InstanceId)> {
        (1..=self.version)
            .rev()
            .map(|v| (v, self.version_id(context, v)))
            .collect()
    }
}

/// Renders a document of `model` from `record`, for the qualified `identity` (its INS
/// and reference traits stand for the beneficiary's in the header and the metadata).
pub fn render(
    record: &CrtRecord,
    model: CdaModel,
    identity: &QualifiedIdentity,
    context: &RenderContext,
) -> Result<RenderedDocument, RenderError> {
    match model {
        CdaModel::DluEhpad | CdaModel::DluDom => dlu::render(record, model, identity, context),
        CdaModel::Plan => plan::render(record, identity, context),
    }
}

pub(crate) fn author<'a>(record: &'a CrtRecord, id: &str) -> Result<&'a Professional, RenderError> {
    let author = record
        .professional(id)
        .ok_or_else(|| RenderError::UnknownAuthor(id.to_string()))?;
    if author.rpps.is_none() {
        return Err(RenderError::AuthorWithoutRpps(id.to_string()));
    }
    Ok(author)
}

/// Where the structure works: the CRT is a social and medico-social service.
pub(crate) fn practice_setting() -> Code {
    Code {
        code: "ESSMS",
        display: "Etablissement et service social et médico-social",
        system: PRACTICE_SETTING_SYSTEM,
    }
}

/// The porteur's kind of facility (TRE_R02).
pub fn facility_type(porteur: PorteurKind) -> Code {
    match porteur {
        PorteurKind::Ehpad => Code {
            code: "SA17",
            display: "Etablissement pour personnes âgées",
            system: FACILITY_TYPE_SYSTEM,
        },
        PorteurKind::HomeCareService => Code {
            code: "SA41",
            display: "Autre établissement du domaine social ou médico-social",
            system: FACILITY_TYPE_SYSTEM,
        },
    }
}

/// `YYYYMMDDHHMMSS+ZZZZ`.
pub fn ts(value: &DateTime<FixedOffset>) -> String {
    value.format("%Y%m%d%H%M%S%z").to_string()
}

/// `YYYYMMDD`.
pub fn date(value: &NaiveDate) -> String {
    value.format("%Y%m%d").to_string()
}

/// An INS birth date (`00` for unknown parts) at the precision it has.
pub fn birth_time(value: &str) -> String {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    match (digits.get(4..6), digits.get(6..8)) {
        (Some("00"), _) => digits[..4].to_string(),
        (_, Some("00")) => digits[..6].to_string(),
        _ => digits,
    }
}

#[cfg(test)]
pub(crate) mod tests;
