//! XDS metadata: what registries and recipients read to file and find a document.
//!
//! One [`Entry`] per document (and one for a submission-set signature), gathered in a
//! [`Submission`], written as an ebRIM 3.0 `SubmitObjectsRequest`. The DMP upload (ITI-41)
//! wraps it in its SOAP request; MSSanté's XDM archive stores it as `METADATA.XML`. The
//! codes follow the CI-SIS value sets (see `docs/documents.md` for the choices).

use chrono::{DateTime, Utc};
use crt_core::record::DmpMasking;
use crt_core::xml::XmlWriter;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::cda::{CdaModel, Code, RenderedDocument};
use crate::terminology::Official;

pub const RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
pub const LCM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";

/// IHE ITI TF-3 identifiers of the metadata attributes.
pub mod scheme {
    pub const DOCUMENT_ENTRY: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
    pub const AUTHOR: &str = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d";
    pub const CLASS_CODE: &str = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a";
    pub const CONFIDENTIALITY: &str = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f";
    pub const EVENT_CODE: &str = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4";
    pub const FORMAT_CODE: &str = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d";
    pub const FACILITY_TYPE: &str = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1";
    pub const PRACTICE_SETTING: &str = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead";
    pub const TYPE_CODE: &str = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983";
    pub const PATIENT_ID: &str = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427";
    pub const UNIQUE_ID: &str = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab";
    pub const SUBMISSION_SET: &str = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd";
    pub const SUBMISSION_AUTHOR: &str = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d";
    pub const CONTENT_TYPE: &str = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500";
    pub const SUBMISSION_UNIQUE_ID: &str = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8";
    pub const SOURCE_ID: &str = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832";
    pub const SUBMISSION_PATIENT_ID: &str = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446";
    pub const HAS_MEMBER: &str = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember";
    pub const REPLACES: &str = "urn:ihe:iti:2007:AssociationType:RPLC";
    pub const SIGNS: &str = "urn:ihe:iti:2007:AssociationType:signs";
    pub const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
}

/// A code with its coding scheme, as XDS classifications carry them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coded {
    pub code: String,
    pub scheme: String,
    pub display: String,
}

impl Coded {
    pub fn new(code: &str, scheme: &str, display: &str) -> Coded {
        Coded {
            code: code.into(),
            scheme: scheme.into(),
            display: display.into(),
        }
    }
}

impl From<&Code> for Coded {
    fn from(code: &Code) -> Coded {
        Coded::new(code.code, code.system, code.display)
    }
}

/// The value set each coded metadata attribute draws from: the DMP's own (JDV_J57 class,
/// J59 content type, J60 format, J61 facility type, J66 type), the CI-SIS ones the DMP
/// binds (J01 author specialty, J04 practice setting, J08 confidentiality). The gateway
/// checks what it builds against them before sending, and the DMP simulator what it
/// receives: one table, one set of files.
pub fn value_set(attribute: &str) -> Option<Official> {
    Some(match attribute {
        "typeCode" => Official::TypeCode,
        "classCode" => Official::ClassCode,
        "formatCode" => Official::FormatCode,
        "healthcareFacilityTypeCode" => Official::HealthcareFacilityType,
        "practiceSettingCode" => Official::PracticeSetting,
        "confidentialityCode" => Official::Confidentiality,
        "contentTypeCode" => Official::ContentType,
        "authorSpecialty" => Official::AuthorSpecialty,
        _ => return None,
    })
}

/// HL7 Confidentiality (N, R, V): the first confidentialityCode of an entry.
pub const CONFIDENTIALITY_SYSTEM: &str = "2.16.840.1.113883.5.25";
/// TRE_A07 StatutVisibiliteDocument: the DMP's masking codes, after the first.
pub const VISIBILITY_SYSTEM: &str = "1.2.250.1.213.1.1.4.13";

/// Why the codes of an attribute are not what the DMP takes, if they are not: each code
/// in the attribute's value set and, for the confidentiality, exactly one HL7 level first,
/// then only visibility codes.
pub fn code_problem(attribute: &str, codes: &[(&str, &str)]) -> Option<String> {
    let set = value_set(attribute)?.set();
    if let Some((scheme, code)) = codes
        .iter()
        .find(|(scheme, code)| !set.contains(scheme, code))
    {
        return Some(format!(
            "{attribute} {scheme}|{code} is not in {}",
            set.name
        ));
    }
    if attribute == "confidentialityCode" {
        let levels = codes
            .iter()
            .filter(|(scheme, _)| *scheme == CONFIDENTIALITY_SYSTEM)
            .count();
        if codes
            .first()
            .is_none_or(|(scheme, _)| *scheme != CONFIDENTIALITY_SYSTEM)
            || levels != 1
        {
            return Some(format!(
                "confidentialityCode: one level of {CONFIDENTIALITY_SYSTEM} (N, R, V) first, then only masking codes of {VISIBILITY_SYSTEM}"
            ));
        }
    }
    None
}

/// Who wrote: person and structure, in the HL7 v2 forms XDS uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// XCN: `8<RPPS>^FAMILY^GIVEN^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS`.
    pub person: String,
    /// XON: `NAME^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<idNat_Struct>`.
    pub institution: String,
    /// `code^display^OID`, from JDV_J01.
    pub specialty: String,
}

impl Author {
    pub fn of(document: &RenderedDocument) -> Author {
        let author = &document.author;
        let rpps = author.rpps.as_deref().unwrap_or_default();
        Author {
            person: format!(
                "8{rpps}^{}^{}^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS",
                hl7_escape(&author.family_name.to_uppercase()),
                hl7_escape(&author.given_name)
            ),
            institution: format!(
                "{}^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^{}",
                hl7_escape(&document.structure_name),
                document.structure_id_nat
            ),
            specialty: {
                let specialty = author.profession.author_specialty();
                format!(
                    "{}^{}^{}",
                    specialty.code,
                    hl7_escape(specialty.display),
                    specialty.system
                )
            },
        }
    }
}

/// HL7 v2 escapes for the delimiters `^ & | ~ \`.
fn hl7_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '|' => out.push_str("\\F\\"),
            '~' => out.push_str("\\R\\"),
            c => out.push(c),
        }
    }
    out
}

/// A DocumentEntry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `urn:uuid:...`, derived from the unique id so that the same document always has the
    /// same entry and a later version can point at it.
    pub entry_uuid: String,
    pub unique_id: String,
    pub mime_type: String,
    pub title: String,
    pub creation_time: String,
    pub service_start: Option<String>,
    pub service_stop: Option<String>,
    pub hash_sha1: String,
    pub size: usize,
    pub language: String,
    pub patient_id: String,
    pub source_patient_id: String,
    pub source_patient_info: Vec<String>,
    pub author: Author,
    pub legal_authenticator: Option<String>,
    pub class_code: Coded,
    pub type_code: Coded,
    pub format_code: Coded,
    pub facility_type: Coded,
    pub practice_setting: Coded,
    pub confidentiality: Vec<Coded>,
    pub event_codes: Vec<Coded>,
    /// File name in an XDM archive.
    pub uri: Option<String>,
    /// The entry UUID of the version this one replaces.
    pub replaces: Option<String>,
    /// For a metadata update (ITI-57): the logical id of the entry whose metadata this new
    /// version replaces, and the version it replaces.
    pub update_of: Option<MetadataUpdate>,
}

/// What an ITI-57 metadata update names of the entry it supersedes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataUpdate {
    /// The entry's logical id (`lid`), the same for every version of its metadata.
    pub logical_id: String,
    /// The version (`rim:VersionInfo/@versionName`) being superseded.
    pub previous_version: String,
}

/// An ITI-57 change of a document's availability (archive, unpublish), as the DMP's TD3.3
/// transactions make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The entry UUID of the document's current metadata.
    pub entry_uuid: String,
    pub original: String,
    pub new: String,
}

/// The DMP's availability statuses (TRE_R270, JDV_J52): archived, and unpublished.
pub const ARCHIVED: &str = "urn:asip:ci-sis:2010:StatusType:Archived";
pub const DELETED: &str = "urn:asip:ci-sis:2010:StatusType:Deleted";
pub const UPDATE_AVAILABILITY_STATUS: &str =
    "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus";

/// The entry UUID of a document, from its unique id.
pub fn entry_uuid(unique_id: &str) -> String {
    format!(
        "urn:uuid:{}",
        Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("xds-entry:{unique_id}").as_bytes()
        )
    )
}

/// `YYYYMMDDHHMMSS` in UTC, as XDS times are.
pub fn xds_time<Tz: chrono::TimeZone>(time: &DateTime<Tz>) -> String {
    time.with_timezone(&Utc).format("%Y%m%d%H%M%S").to_string()
}

/// SHA-1 in lower-case hex, as XDS `hash` is.
pub fn sha1_hex(bytes: &[u8]) -> String {
    sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The XDS classCode of each model (TRE_A03).
pub fn class_code(model: CdaModel) -> Coded {
    match model {
        CdaModel::DluEhpad | CdaModel::DluDom => {
            Coded::new("11", "1.2.250.1.213.1.1.4.1", "Synthèse")
        }
        CdaModel::Plan => Coded::new(
            "44",
            "1.2.250.1.213.1.1.4.1",
            "Plan de soins, protocole de soins",
        ),
    }
}

/// Confidentiality: normal, plus the DMP visibility options asked for.
pub fn confidentiality(masking: &[DmpMasking]) -> Vec<Coded> {
    let mut codes = vec![Coded::new("N", "2.16.840.1.113883.5.25", "Normal")];
    for option in masking {
        let display = match option {
            DmpMasking::HiddenFromProfessionals => "Masqué aux professionnels de santé",
            DmpMasking::InvisibleToPatient => "Non visible par le patient",
            DmpMasking::InvisibleToLegalRepresentatives => {
                "Non visible par les représentants légaux du patient"
            }
        };
        codes.push(Coded::new(option.code(), "1.2.250.1.213.1.1.4.13", display));
    }
    codes
}

impl Entry {
    /// The entry of a rendered CDA document.
    pub fn for_document(document: &RenderedDocument, masking: &[DmpMasking]) -> Entry {
        let ins = &document.ins;
        let patient_id = format!("{}^^^&{}&ISO^NH", ins.number, ins.oid.as_str());
        let patient = &document.patient;
        let author = Author::of(document);
        Entry {
            entry_uuid: entry_uuid(&document.id.xds()),
            unique_id: document.id.xds(),
            mime_type: "text/xml".into(),
            title: document.title.clone(),
            creation_time: xds_time(&document.effective_time),
            service_start: Some(xds_time(&document.service_start)),
            service_stop: document.service_stop.as_ref().map(xds_time),
            hash_sha1: sha1_hex(&document.xml),
            size: document.xml.len(),
            language: "fr-FR".into(),
            patient_id: patient_id.clone(),
            source_patient_id: format!(
                "{}^^^&{}&ISO^PI",
                document
                    .local_patient_id
                    .extension
                    .as_deref()
                    .unwrap_or_default(),
                document.local_patient_id.root
            ),
            source_patient_info: vec![
                format!("PID-3|{patient_id}"),
                format!(
                    "PID-5|{}^{}^^^^^L",
                    hl7_escape(&patient.birth_name.to_uppercase()),
                    hl7_escape(&patient.first_given_name.to_uppercase())
                ),
                format!("PID-7|{}", patient.birth_time),
                format!("PID-8|{}", patient.sex),
            ],
            legal_authenticator: Some(author.person.clone()),
            author,
            class_code: class_code(document.model),
            type_code: (&document.model.type_code()).into(),
            format_code: (&document.model.format_code()).into(),
            facility_type: (&document.facility_type).into(),
            practice_setting: (&document.practice_setting).into(),
            confidentiality: confidentiality(masking),
            event_codes: Vec::new(),
            uri: None,
            replaces: document
                .replaces
                .as_ref()
                .map(|previous| entry_uuid(&previous.xds())),
            update_of: None,
        }
    }
}

/// A submission set and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub unique_id: String,
    /// OID of the sending system (the structure's).
    pub source_id: String,
    pub submission_time: String,
    pub patient_id: String,
    pub author: Author,
    pub content_type: Coded,
    pub title: String,
    pub entries: Vec<Entry>,
    /// Entry UUID of a signature entry that signs this submission set.
    pub signature: Option<String>,
    /// Availability changes (ITI-57) the submission carries.
    pub status_updates: Vec<StatusUpdate>,
}

impl Submission {
    /// A submission set for `entries`, named after `key` (stable across attempts: the
    /// delivery id) under `oid_root`.
    pub fn new(
        key: Uuid,
        oid_root: &str,
        time: DateTime<Utc>,
        first: &RenderedDocument,
        entries: Vec<Entry>,
    ) -> Submission {
        Submission {
            unique_id: crate::cda::derived_oid(oid_root, 4, &format!("submission:{key}")),
            source_id: oid_root.to_string(),
            submission_time: xds_time(&time),
            patient_id: entries
                .first()
                .map(|e| e.patient_id.clone())
                .unwrap_or_default(),
            author: Author::of(first),
            // JDV_J59 takes the activity (TRE_R209) or the sector (TRE_R02) of the
            // submitting structure, not the document's type.
            content_type: (&first.facility_type).into(),
            title: first.title.clone(),
            entries,
            signature: None,
            status_updates: Vec::new(),
        }
    }

    /// The submission set's symbolic id.
    pub const ID: &'static str = "SubmissionSet01";

    /// Every coded value of the set and its entries outside the value set the DMP binds it
    /// to: what the gateway refuses to send.
    pub fn code_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |attribute: &str, codes: &[(&str, &str)]| {
            if let Some(problem) = code_problem(attribute, codes) {
                problems.push(problem);
            }
        };
        fn pair(c: &Coded) -> (&str, &str) {
            (c.scheme.as_str(), c.code.as_str())
        }
        check("contentTypeCode", &[pair(&self.content_type)]);
        for entry in &self.entries {
            check("typeCode", &[pair(&entry.type_code)]);
            check("classCode", &[pair(&entry.class_code)]);
            check("formatCode", &[pair(&entry.format_code)]);
            check("healthcareFacilityTypeCode", &[pair(&entry.facility_type)]);
            check("practiceSettingCode", &[pair(&entry.practice_setting)]);
            let levels: Vec<(&str, &str)> = entry.confidentiality.iter().map(pair).collect();
            check("confidentialityCode", &levels);
        }
        problems
    }

    /// The `lcm:SubmitObjectsRequest` element (namespaces declared on it).
    pub fn write(&self, w: &mut XmlWriter) {
        w.open(
            "lcm:SubmitObjectsRequest",
            &[("xmlns:lcm", LCM), ("xmlns:rim", RIM)],
        )
        .open("rim:RegistryObjectList", &[]);
        for entry in &self.entries {
            write_entry(w, entry);
        }
        self.write_set(w);
        for (i, entry) in self.entries.iter().enumerate() {
            let id = format!("HasMember{:02}", i + 1);
            w.open(
                "rim:Association",
                &[
                    ("id", &id),
                    ("associationType", scheme::HAS_MEMBER),
                    ("sourceObject", Self::ID),
                    ("targetObject", &entry.entry_uuid),
                ],
            );
            slot(w, "SubmissionSetStatus", &["Original"]);
            if let Some(update) = &entry.update_of {
                slot(w, "PreviousVersion", &[&update.previous_version]);
            }
            w.close("rim:Association");
            if let Some(previous) = &entry.replaces {
                let id = format!("Replaces{:02}", i + 1);
                w.empty(
                    "rim:Association",
                    &[
                        ("id", &id),
                        ("associationType", scheme::REPLACES),
                        ("sourceObject", &entry.entry_uuid),
                        ("targetObject", previous),
                    ],
                );
            }
        }
        for (i, update) in self.status_updates.iter().enumerate() {
            w.open(
                "rim:Association",
                &[
                    ("id", &format!("StatusUpdate{:02}", i + 1)),
                    ("associationType", UPDATE_AVAILABILITY_STATUS),
                    ("sourceObject", Self::ID),
                    ("targetObject", &update.entry_uuid),
                ],
            );
            slot(w, "OriginalStatus", &[&update.original]);
            slot(w, "NewStatus", &[&update.new]);
            w.close("rim:Association");
        }
        if let Some(signature) = &self.signature {
            w.empty(
                "rim:Association",
                &[
                    ("id", "Signs01"),
                    ("associationType", scheme::SIGNS),
                    ("sourceObject", signature),
                    ("targetObject", Self::ID),
                ],
            );
        }
        w.close("rim:RegistryObjectList")
            .close("lcm:SubmitObjectsRequest");
    }

    fn write_set(&self, w: &mut XmlWriter) {
        w.open(
            "rim:RegistryPackage",
            &[
                ("id", Self::ID),
                (
                    "objectType",
                    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage",
                ),
            ],
        );
        slot(w, "submissionTime", &[&self.submission_time]);
        name(w, &self.title);
        classification(w, scheme::SUBMISSION_AUTHOR, Self::ID, "a", "", |w| {
            slot(w, "authorInstitution", &[&self.author.institution]);
            slot(w, "authorPerson", &[&self.author.person]);
        });
        coded(w, scheme::CONTENT_TYPE, Self::ID, "ct", &self.content_type);
        external_id(
            w,
            scheme::SUBMISSION_UNIQUE_ID,
            Self::ID,
            "XDSSubmissionSet.uniqueId",
            &self.unique_id,
        );
        external_id(
            w,
            scheme::SOURCE_ID,
            Self::ID,
            "XDSSubmissionSet.sourceId",
            &self.source_id,
        );
        external_id(
            w,
            scheme::SUBMISSION_PATIENT_ID,
            Self::ID,
            "XDSSubmissionSet.patientId",
            &self.patient_id,
        );
        w.close("rim:RegistryPackage");
        w.empty(
            "rim:Classification",
            &[
                ("id", "SubmissionSetClassification"),
                ("classifiedObject", Self::ID),
                ("classificationNode", scheme::SUBMISSION_SET),
            ],
        );
    }
}

fn write_entry(w: &mut XmlWriter, entry: &Entry) {
    let id = entry.entry_uuid.as_str();
    let mut attributes = vec![
        ("id", id),
        ("mimeType", entry.mime_type.as_str()),
        ("objectType", scheme::DOCUMENT_ENTRY),
        ("status", scheme::APPROVED),
    ];
    if let Some(update) = &entry.update_of {
        attributes.push(("lid", &update.logical_id));
    }
    w.open("rim:ExtrinsicObject", &attributes);
    slot(w, "creationTime", &[&entry.creation_time]);
    slot(w, "hash", &[&entry.hash_sha1]);
    slot(w, "languageCode", &[&entry.language]);
    if let Some(authenticator) = &entry.legal_authenticator {
        slot(w, "legalAuthenticator", &[authenticator]);
    }
    if let Some(start) = &entry.service_start {
        slot(w, "serviceStartTime", &[start]);
    }
    if let Some(stop) = &entry.service_stop {
        slot(w, "serviceStopTime", &[stop]);
    }
    slot(w, "size", &[&entry.size.to_string()]);
    slot(w, "sourcePatientId", &[&entry.source_patient_id]);
    let info: Vec<&str> = entry
        .source_patient_info
        .iter()
        .map(String::as_str)
        .collect();
    slot(w, "sourcePatientInfo", &info);
    if let Some(uri) = &entry.uri {
        slot(w, "URI", &[uri]);
    }
    name(w, &entry.title);
    classification(w, scheme::AUTHOR, id, "author", "", |w| {
        slot(w, "authorInstitution", &[&entry.author.institution]);
        slot(w, "authorPerson", &[&entry.author.person]);
        slot(w, "authorSpecialty", &[&entry.author.specialty]);
    });
    coded(w, scheme::CLASS_CODE, id, "class", &entry.class_code);
    for (i, code) in entry.confidentiality.iter().enumerate() {
        coded(w, scheme::CONFIDENTIALITY, id, &format!("conf{i}"), code);
    }
    for (i, code) in entry.event_codes.iter().enumerate() {
        coded(w, scheme::EVENT_CODE, id, &format!("event{i}"), code);
    }
    coded(w, scheme::FORMAT_CODE, id, "format", &entry.format_code);
    coded(
        w,
        scheme::FACILITY_TYPE,
        id,
        "facility",
        &entry.facility_type,
    );
    coded(
        w,
        scheme::PRACTICE_SETTING,
        id,
        "practice",
        &entry.practice_setting,
    );
    coded(w, scheme::TYPE_CODE, id, "type", &entry.type_code);
    external_id(
        w,
        scheme::PATIENT_ID,
        id,
        "XDSDocumentEntry.patientId",
        &entry.patient_id,
    );
    external_id(
        w,
        scheme::UNIQUE_ID,
        id,
        "XDSDocumentEntry.uniqueId",
        &entry.unique_id,
    );
    w.close("rim:ExtrinsicObject");
}

fn slot(w: &mut XmlWriter, name: &str, values: &[&str]) {
    w.open("rim:Slot", &[("name", name)])
        .open("rim:ValueList", &[]);
    for value in values {
        w.leaf("rim:Value", &[], value);
    }
    w.close("rim:ValueList").close("rim:Slot");
}

fn name(w: &mut XmlWriter, value: &str) {
    w.open("rim:Name", &[])
        .empty("rim:LocalizedString", &[("value", value)])
        .close("rim:Name");
}

/// Ids of classifications and external identifiers: unique within the request, derived
/// from the object and the attribute so that the same metadata is the same bytes.
fn local_id(object: &str, part: &str) -> String {
    let digest = Sha256::digest(format!("{object}/{part}").as_bytes());
    let uuid = Uuid::from_slice(&digest[..16]).unwrap_or_default();
    format!("urn:uuid:{}", uuid.hyphenated())
}

fn classification(
    w: &mut XmlWriter,
    scheme: &str,
    object: &str,
    part: &str,
    representation: &str,
    body: impl FnOnce(&mut XmlWriter),
) {
    let id = local_id(object, part);
    w.open(
        "rim:Classification",
        &[
            ("id", &id),
            ("classificationScheme", scheme),
            ("classifiedObject", object),
            ("nodeRepresentation", representation),
        ],
    );
    body(w);
    w.close("rim:Classification");
}

fn coded(w: &mut XmlWriter, scheme: &str, object: &str, part: &str, code: &Coded) {
    classification(w, scheme, object, part, &code.code, |w| {
        slot(w, "codingScheme", &[&code.scheme]);
        name(w, &code.display);
    });
}

fn external_id(w: &mut XmlWriter, scheme: &str, object: &str, label: &str, value: &str) {
    let id = local_id(object, label);
    w.open(
        "rim:ExternalIdentifier",
        &[
            ("id", &id),
            ("identificationScheme", scheme),
            ("registryObject", object),
            ("value", value),
        ],
    );
    name(w, label);
    w.close("rim:ExternalIdentifier");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cda::tests::{example, identity};
    use crate::{CdaModel, RenderContext, render};

    #[test]
    fn sha1_of_known_inputs() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(&[b'a'; 1000]),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }

    #[test]
    fn every_code_the_gateway_sends_is_in_its_official_value_set() {
        let masking = [
            DmpMasking::HiddenFromProfessionals,
            DmpMasking::InvisibleToPatient,
            DmpMasking::InvisibleToLegalRepresentatives,
        ];
        for (name, document) in crate::cda::tests::example_documents() {
            let entry = Entry::for_document(&document, &masking);
            let submission = Submission::new(
                Uuid::nil(),
                "1.2.250.1.999",
                Utc::now(),
                &document,
                vec![entry],
            );
            assert_eq!(submission.code_problems(), Vec::<String>::new(), "{name}");
        }
    }

    #[test]
    fn a_code_outside_its_set_or_a_second_level_is_named() {
        assert!(code_problem("typeCode", &[("2.16.840.1.113883.6.1", "74207-2")]).is_none());
        assert!(
            code_problem("typeCode", &[("2.16.840.1.113883.6.1", "00000-0")])
                .is_some_and(|p| p.contains("JDV_J66"))
        );
        let masked = [
            (CONFIDENTIALITY_SYSTEM, "N"),
            (VISIBILITY_SYSTEM, "MASQUE_PS"),
            (VISIBILITY_SYSTEM, "INVISIBLE_REPRESENTANTS_LEGAUX"),
        ];
        assert!(code_problem("confidentialityCode", &masked).is_none());
        let two_levels = [(CONFIDENTIALITY_SYSTEM, "N"), (CONFIDENTIALITY_SYSTEM, "R")];
        assert!(code_problem("confidentialityCode", &two_levels).is_some());
        let mask_first = [
            (VISIBILITY_SYSTEM, "MASQUE_PS"),
            (CONFIDENTIALITY_SYSTEM, "N"),
        ];
        assert!(code_problem("confidentialityCode", &mask_first).is_some());
        assert!(
            code_problem(
                "confidentialityCode",
                &[(VISIBILITY_SYSTEM, "INVISIBLE_REP_LEGAUX")]
            )
            .is_some()
        );
    }

    #[test]
    fn entry_carries_the_document_and_the_patient() {
        let record = example("home-volet2-pays-de-la-loire.json");
        let context = RenderContext::for_record(&record, Some("1.2.250.1.999"));
        let document = render(&record, CdaModel::Plan, &identity(&record), &context).unwrap();
        let entry = Entry::for_document(&document, &[DmpMasking::HiddenFromProfessionals]);
        assert_eq!(
            entry.patient_id,
            "238047218104592^^^&1.2.250.1.213.1.4.10&ISO^NH"
        );
        assert_eq!(entry.unique_id, document.id.root);
        assert!(entry.unique_id.starts_with("1.2.250.1.999.1."));
        assert_eq!(entry.size, document.xml.len());
        assert_eq!(entry.confidentiality.len(), 2);
        assert_eq!(
            entry.author.person,
            "810003456786^PETIT^Sophie^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
        );
        assert_eq!(
            entry.replaces,
            Some(entry_uuid(&document.replaces.as_ref().unwrap().xds()))
        );
        assert!(
            entry
                .source_patient_info
                .contains(&"PID-5|DUPONT^MARIE-THERESE^^^^^L".to_string())
        );

        let submission = Submission::new(
            Uuid::nil(),
            &context.oid_root,
            Utc::now(),
            &document,
            vec![entry],
        );
        let mut w = XmlWriter::new();
        submission.write(&mut w);
        let xml = String::from_utf8(w.finish()).unwrap();
        let parsed =
            crt_core::xml::parse(xml.as_bytes(), crt_core::xml::Limits::default()).unwrap();
        assert!(parsed.is(LCM, "SubmitObjectsRequest"));
        assert!(xml.contains(scheme::REPLACES));
        assert_eq!(xml.matches("<rim:ExtrinsicObject").count(), 1);
    }
}
