//! What the DMP checks in a submission: the message, the VIHF, the metadata against the
//! value sets, each document against its metadata. The simulator refuses with these rules;
//! `crt-gateway validate` reports them.

use std::collections::HashMap;
use std::path::Path;

use sha2::Digest;

use crt_core::identifiers::is_oid;
use crt_core::multipart::{self, Part};
use crt_core::record::InsOid;
use crt_core::soap::{SOAP12, WSA};
use crt_core::xml::{self, Element, Limits};
use crt_documents::metadata::{RIM, scheme};
use x509_parser::prelude::FromDer;

use crate::ebrim::{classifications, external_id, slot};
use crate::encode::{ACTION_PROVIDE, WSSE, XDSB, XOP};
use crate::vihf::{SAML, attribute};
use crate::{dsig, xades};

pub const LCM: &str = crt_documents::metadata::LCM;

/// Record rules the DMP brings: a care-circle member's specialty is a concept of JDV_J65 in
/// the table of its profession, and the physician or pharmacist who authors a document sent
/// to the DMP has one, since the VIHF states it.
pub struct DmpRecordRule;

impl crt_core::validation::RecordRule for DmpRecordRule {
    fn check(&self, record: &crt_core::CrtRecord, out: &mut crt_core::validation::Violations) {
        use crt_core::record::{Action, Channel, DocumentKind, Profession};
        for (i, professional) in record.care_circle.iter().enumerate() {
            let Some(specialty) = &professional.specialty else {
                continue;
            };
            let pointer = format!("/care_circle/{i}/specialty");
            let system = match professional.profession {
                Profession::Physician => crate::vihf::SPECIALTY_OID,
                Profession::Pharmacist => crate::vihf::PHARMACIST_SECTION_OID,
                _ => {
                    out.push(
                        pointer,
                        "specialty",
                        "only a physician (TRE_R01) or a pharmacist (TRE_G05) has a specialty",
                    );
                    continue;
                }
            };
            if !crt_documents::terminology::Official::SubjectRole
                .set()
                .contains(system, specialty)
            {
                out.push(
                    pointer,
                    "specialty",
                    format!("{specialty:?} is not a code of {system} in JDV_J65 SubjectRole-DMP"),
                );
            }
        }
        for (i, action) in record.actions.iter().enumerate() {
            let Action::SendDocument { document, to } = action else {
                continue;
            };
            if !to.contains(&Channel::Dmp) {
                continue;
            }
            let author = match document {
                DocumentKind::Dlu => record
                    .dlu
                    .as_ref()
                    .map(|d| (d.author.as_str(), "/dlu/author")),
                DocumentKind::Plan => record
                    .plan
                    .as_ref()
                    .map(|p| (p.author.as_str(), "/plan/author")),
            };
            if let Some((id, pointer)) = author
                && let Some(professional) = record.professional(id)
                && matches!(
                    professional.profession,
                    Profession::Physician | Profession::Pharmacist
                )
                && professional.specialty.is_none()
            {
                out.push(
                    pointer,
                    "author-specialty",
                    format!(
                        "the DMP's VIHF names a physician's specialty or a pharmacist's section beside the profession: {id:?} has none (actions/{i})"
                    ),
                );
            }
        }
    }
}
const HL7: &str = "urn:hl7-org:v3";
/// Submissions larger than this are refused.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// Why a request is refused: a SOAP fault (message or VIHF), or registry errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Fault {
        code: &'static str,
        subcode: &'static str,
        reason: String,
    },
    Registry(Vec<Problem>),
}

/// One registry error: an XDS error code and the context (which attribute, which rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub context: String,
}

fn fault(subcode: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal::Fault {
        code: "Sender",
        subcode,
        reason: reason.into(),
    }
}

/// The `rim:RegistryObjectList` of the `lcm:SubmitObjectsRequest` under `parent`, the
/// same place in ITI-41 (inside the provide request) and ITI-57 (directly in the Body).
fn registry_object_list(parent: &Element) -> Result<&Element, Refusal> {
    parent
        .child(LCM, "SubmitObjectsRequest")
        .and_then(|s| s.child(RIM, "RegistryObjectList"))
        .ok_or_else(|| {
            fault(
                "sim_body",
                "no lcm:SubmitObjectsRequest/rim:RegistryObjectList",
            )
        })
}

/// The CA certificates signatures must chain to.
pub struct Trust {
    certificates: Vec<Vec<u8>>,
    /// Signing certificates whose chain was verified, by SHA-256 of their DER, with the
    /// window in which the whole chain is valid (Unix seconds). A structure signs every
    /// VIHF and submission with the same certificate: its chain's signatures are checked
    /// once, its validity every time, as a service that sees the same signers all day does.
    verified: std::sync::Mutex<HashMap<[u8; 32], (i64, i64)>>,
}

/// Signing certificates remembered at most; past it, the memory starts again.
const MAX_VERIFIED: usize = 1024;

impl Trust {
    pub fn from_pem(path: &Path) -> Result<Trust, crt_core::tls::TlsError> {
        Ok(Trust {
            certificates: crt_core::tls::load_certificates(path)?
                .into_iter()
                .map(|c| c.to_vec())
                .collect(),
            verified: std::sync::Mutex::default(),
        })
    }

    /// Checks that `leaf` is valid now and chains, by signatures, to a self-signed
    /// certificate of the bundle.
    pub fn verify(&self, leaf: &[u8]) -> Result<(), String> {
        let key: [u8; 32] = sha2::Sha256::digest(leaf).into();
        let now = chrono::Utc::now().timestamp();
        let remembered = self.remembered().get(&key).copied();
        if let Some((not_before, not_after)) = remembered {
            return if (not_before..=not_after).contains(&now) {
                Ok(())
            } else {
                Err("the certificate or its chain is outside its validity period".into())
            };
        }
        let window = self.verify_chain(leaf)?;
        let mut remembered = self.remembered();
        if remembered.len() >= MAX_VERIFIED {
            remembered.clear();
        }
        remembered.insert(key, window);
        Ok(())
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (i64, i64)>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Verifies the chain of `leaf`'s signatures, each certificate valid now; the window
    /// in which all of them are.
    fn verify_chain(&self, leaf: &[u8]) -> Result<(i64, i64), String> {
        let mut window = (i64::MIN, i64::MAX);
        let mut current = leaf.to_vec();
        for _ in 0..6 {
            let (_, certificate) = x509_parser::certificate::X509Certificate::from_der(&current)
                .map_err(|e| format!("unreadable certificate: {e}"))?;
            let validity = certificate.validity();
            if !validity.is_valid() {
                return Err(format!(
                    "certificate {} is outside its validity period",
                    certificate.subject()
                ));
            }
            window = (
                window.0.max(validity.not_before.timestamp()),
                window.1.min(validity.not_after.timestamp()),
            );
            let issuer_der = self
                .certificates
                .iter()
                .find(|der| {
                    x509_parser::certificate::X509Certificate::from_der(der)
                        .is_ok_and(|(_, candidate)| candidate.subject() == certificate.issuer())
                })
                .cloned()
                .ok_or_else(|| format!("no trusted issuer for {}", certificate.subject()))?;
            let (_, issuer) = x509_parser::certificate::X509Certificate::from_der(&issuer_der)
                .map_err(|e| format!("unreadable CA certificate: {e}"))?;
            certificate
                .verify_signature(Some(issuer.public_key()))
                .map_err(|_| {
                    format!(
                        "the signature of {} does not verify with its issuer",
                        certificate.subject()
                    )
                })?;
            if issuer_der == current {
                return Ok(window);
            }
            if issuer.subject() == issuer.issuer() {
                issuer
                    .verify_signature(None)
                    .map_err(|_| "the root does not verify itself".to_string())?;
                let root = issuer.validity();
                return Ok((
                    window.0.max(root.not_before.timestamp()),
                    window.1.min(root.not_after.timestamp()),
                ));
            }
            current = issuer_der;
        }
        Err("certificate chain too long".into())
    }
}

/// A document entry of a submission, with its document.
#[derive(Debug, Clone)]
pub struct SubmittedEntry {
    pub entry_uuid: String,
    pub unique_id: String,
    pub mime_type: String,
    pub hash: String,
    pub size: String,
    pub patient_id: String,
    pub type_code: String,
    pub format_code: String,
    /// The confidentiality codes: the level, then the masking codes.
    pub confidentiality: Vec<String>,
    pub document: Vec<u8>,
}

/// The coded metadata of an entry the registry keeps.
struct EntryCodes {
    type_code: String,
    format_code: String,
    confidentiality: Vec<String>,
}

/// Each coded attribute of `entry` against the official value set the DMP binds it to;
/// the confidentiality takes one level then the masking codes, the others one code.
fn entry_codes(
    entry: &Element,
    id: &str,
    problem: &mut impl FnMut(&'static str, String),
) -> EntryCodes {
    let mut coded = |set: &'static str, class_scheme: &str, many: bool| -> Vec<String> {
        let found: Vec<&Element> = classifications(entry, class_scheme).collect();
        if found.is_empty() || (!many && found.len() > 1) {
            problem(
                "XDSRegistryMetadataError",
                format!("{set} of {id} is missing or repeated"),
            );
            return Vec::new();
        }
        let codes: Vec<(&str, &str)> = found
            .iter()
            .map(|classification| {
                let scheme = slot(classification, "codingScheme");
                (
                    scheme.first().copied().unwrap_or(""),
                    classification.attribute("nodeRepresentation").unwrap_or(""),
                )
            })
            .collect();
        if let Some(refused) = crt_documents::metadata::code_problem(set, &codes) {
            problem(
                "XDSRegistryMetadataError",
                format!("{refused} (entry {id})"),
            );
        }
        codes.iter().map(|(_, code)| code.to_string()).collect()
    };
    let first = |codes: Vec<String>| codes.into_iter().next().unwrap_or_default();
    let type_code = first(coded("typeCode", scheme::TYPE_CODE, false));
    coded("classCode", scheme::CLASS_CODE, false);
    let format_code = first(coded("formatCode", scheme::FORMAT_CODE, false));
    coded("healthcareFacilityTypeCode", scheme::FACILITY_TYPE, false);
    coded("practiceSettingCode", scheme::PRACTICE_SETTING, false);
    let confidentiality = coded("confidentialityCode", scheme::CONFIDENTIALITY, true);
    EntryCodes {
        type_code,
        format_code,
        confidentiality,
    }
}

/// What an ITI-57 request asks (the DMP's TD3.3): new metadata for entries the registry
/// holds, and changes of their availability.
#[derive(Debug, Clone)]
pub struct Update {
    pub patient_id: String,
    pub metadata: Vec<MetadataChange>,
    pub statuses: Vec<StatusChange>,
}

#[derive(Debug, Clone)]
pub struct MetadataChange {
    /// The new version's entry UUID.
    pub entry_uuid: String,
    pub logical_id: String,
    pub previous_version: String,
    pub unique_id: String,
    /// The document's hash and size: an update describes the same document, so they stay.
    pub hash: String,
    pub size: String,
    pub confidentiality: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StatusChange {
    pub entry_uuid: String,
    pub original: String,
    pub new: String,
}

/// Reads and checks an ITI-57 request: the submission set, each new version of an entry's
/// metadata (its logical id, the version it supersedes, its codes in the official value
/// sets) and each availability change (Approved to Archived or Deleted, and back from
/// Archived).
pub fn read_update(envelope: &Element) -> Result<Update, Refusal> {
    use crt_documents::metadata::{ARCHIVED, DELETED, UPDATE_AVAILABILITY_STATUS};
    if action(envelope) != Some(crate::encode::ACTION_UPDATE) {
        return Err(fault(
            "sim_action",
            format!("wsa:Action must be {}", crate::encode::ACTION_UPDATE),
        ));
    }
    let list = envelope
        .child(SOAP12, "Body")
        .ok_or_else(|| fault("sim_body", "no soap:Body"))
        .and_then(registry_object_list)?;
    let mut problems = Vec::new();
    let mut problem =
        |code: &'static str, context: String| problems.push(Problem { code, context });
    let set = list.child(RIM, "RegistryPackage");
    let patient_id = set
        .and_then(|s| external_id(s, scheme::SUBMISSION_PATIENT_ID))
        .unwrap_or("")
        .to_string();
    if !valid_patient_id(&patient_id) {
        problem(
            "XDSRegistryMetadataError",
            "XDSSubmissionSet.patientId is not an INS in CX form".into(),
        );
    }
    let mut metadata = Vec::new();
    for entry in list.children(RIM, "ExtrinsicObject") {
        let id = entry.attribute("id").unwrap_or("").to_string();
        let codes = entry_codes(entry, &id, &mut problem);
        let logical_id = entry.attribute("lid").unwrap_or("").to_string();
        let previous_version = list
            .children(RIM, "Association")
            .find(|a| {
                a.attribute("associationType") == Some(scheme::HAS_MEMBER)
                    && a.attribute("targetObject") == Some(id.as_str())
            })
            .and_then(|a| slot(a, "PreviousVersion").first().map(|v| v.to_string()));
        let Some(previous_version) = previous_version.filter(|_| !logical_id.is_empty()) else {
            problem(
                "XDSMetadataUpdateError",
                format!("{id}: a metadata update names the entry's lid and its PreviousVersion"),
            );
            continue;
        };
        metadata.push(MetadataChange {
            entry_uuid: id,
            logical_id,
            previous_version,
            unique_id: external_id(entry, scheme::UNIQUE_ID)
                .unwrap_or("")
                .to_string(),
            hash: slot(entry, "hash")
                .first()
                .map(|h| h.to_ascii_lowercase())
                .unwrap_or_default(),
            size: slot(entry, "size")
                .first()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            confidentiality: codes.confidentiality,
        });
    }
    let mut statuses = Vec::new();
    for association in list
        .children(RIM, "Association")
        .filter(|a| a.attribute("associationType") == Some(UPDATE_AVAILABILITY_STATUS))
    {
        let value = |name: &str| slot(association, name).first().map(|v| v.to_string());
        let (Some(original), Some(new)) = (value("OriginalStatus"), value("NewStatus")) else {
            problem(
                "XDSMetadataUpdateError",
                "an availability change names OriginalStatus and NewStatus".into(),
            );
            continue;
        };
        let allowed = matches!(
            (original.as_str(), new.as_str()),
            (scheme::APPROVED, ARCHIVED | DELETED) | (ARCHIVED, scheme::APPROVED)
        );
        if !allowed {
            problem(
                "XDSMetadataUpdateError",
                format!("{original} to {new} is not an availability change the DMP makes"),
            );
        }
        statuses.push(StatusChange {
            entry_uuid: association
                .attribute("targetObject")
                .unwrap_or("")
                .to_string(),
            original,
            new,
        });
    }
    if metadata.is_empty() && statuses.is_empty() {
        problem(
            "XDSMetadataUpdateError",
            "the update changes nothing".into(),
        );
    }
    if !problems.is_empty() {
        return Err(Refusal::Registry(problems));
    }
    Ok(Update {
        patient_id,
        metadata,
        statuses,
    })
}

#[derive(Debug, Clone)]
pub struct Submitted {
    pub patient_id: String,
    pub entries: Vec<SubmittedEntry>,
    /// RPLC associations: (new entry, replaced entry).
    pub replaces: Vec<(String, String)>,
    /// The entry of the submission-set signature, when a `signs` association names it.
    pub signature: Option<String>,
}

/// What the VIHF says, once verified.
#[derive(Debug, Clone)]
pub struct Claims {
    pub structure: String,
    pub resource_id: String,
    pub signer: Vec<u8>,
    /// The access mode (`purposeofuse`).
    pub mode: crate::vihf::AccessMode,
    /// Whether the professional was authenticated strongly (`INDIRECTE_RENFORCEE`), which
    /// consulting documents requires.
    pub reinforced: bool,
    /// The professional named (`NameID`, `8` + RPPS).
    pub professional: String,
}

/// The SOAP envelope of a request (plain or MTOM) and its MIME parts.
pub fn read_message(
    content_type: &str,
    body: &[u8],
) -> Result<(Vec<u8>, Element, Vec<Part>), Refusal> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(fault("sim_size", "message too large"));
    }
    let lower = content_type.to_ascii_lowercase();
    let (root, parts) = if lower.starts_with("multipart/related") {
        if !lower.contains("application/xop+xml") {
            return Err(fault(
                "sim_mtom",
                "an MTOM request is multipart/related with type application/xop+xml",
            ));
        }
        let parts = multipart::parse(content_type, body, 64)
            .map_err(|e| fault("sim_mtom", e.to_string()))?;
        let start = multipart::parameter(content_type, "start").map(|s| s.trim_matches(['<', '>']));
        let root = match start {
            Some(id) => parts.iter().find(|p| p.content_id() == Some(id)),
            None => parts.first(),
        }
        .ok_or_else(|| fault("sim_mtom", "the root part named by start is missing"))?;
        (root.body.clone(), parts)
    } else if lower.starts_with("application/soap+xml") {
        (body.to_vec(), Vec::new())
    } else {
        return Err(Refusal::Fault {
            code: "VersionMismatch",
            subcode: "sim_content_type",
            reason: "a SOAP 1.2 request is application/soap+xml or MTOM".into(),
        });
    };
    let limits = Limits {
        max_bytes: MAX_MESSAGE_BYTES,
        max_depth: 48,
        max_elements: 200_000,
    };
    let envelope = xml::parse(&root, limits)
        .map_err(|e| fault("sim_xml", format!("unreadable envelope: {e}")))?;
    if !envelope.is(SOAP12, "Envelope") {
        return Err(Refusal::Fault {
            code: "VersionMismatch",
            subcode: "sim_soap",
            reason: "the envelope is not SOAP 1.2".into(),
        });
    }
    Ok((root, envelope, parts))
}

/// The WS-Addressing action.
pub fn action(envelope: &Element) -> Option<&str> {
    envelope
        .child(SOAP12, "Header")
        .and_then(|h| h.child_text(WSA, "Action"))
}

/// Verifies the VIHF: signature, signer certificate chain, attributes. `client_structure`
/// is the idNat_Struct of the TLS client certificate, which the VIHF must name.
pub fn check_vihf(
    root: &[u8],
    envelope: &Element,
    trust: &Trust,
    client_structure: Option<&str>,
) -> Result<Claims, Refusal> {
    let header = envelope
        .child(SOAP12, "Header")
        .ok_or_else(|| fault("sim_header", "SOAP Header missing"))?;
    if header
        .child_text(WSA, "MessageID")
        .is_none_or(str::is_empty)
    {
        return Err(fault("sim_header", "wsa:MessageID missing"));
    }
    let assertion = header
        .child(WSSE, "Security")
        .and_then(|s| s.child(SAML, "Assertion"))
        .ok_or_else(|| fault("sim_vihf", "no VIHF: wsse:Security/saml2:Assertion missing"))?;
    let id = assertion
        .attribute("ID")
        .ok_or_else(|| fault("sim_vihf", "the assertion has no ID"))?;
    let verified = dsig::verify_enveloped_in(root, envelope, id)
        .map_err(|e| fault("sim_vihf_signature", format!("VIHF signature: {e}")))?;
    trust.verify(&verified.certificate).map_err(|e| {
        fault(
            "sim_vihf_certificate",
            format!("VIHF signing certificate: {e}"),
        )
    })?;
    if let Some(conditions) = assertion.child(SAML, "Conditions") {
        let now = chrono::Utc::now();
        let parse = |name: &str| {
            conditions
                .attribute(name)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        };
        if parse("NotBefore").is_some_and(|t| t > now)
            || parse("NotOnOrAfter").is_some_and(|t| t <= now)
        {
            return Err(fault("sim_vihf", "the VIHF is outside its validity period"));
        }
    }
    // A user by her identifier, or an automated processing by the identifier of the person
    // responsible for it: someone is always named.
    if assertion
        .child(SAML, "Subject")
        .and_then(|s| s.child_text(SAML, "NameID"))
        .is_none_or(|id| id.trim().is_empty())
    {
        return Err(fault("sim_vihf", "Subject/NameID missing"));
    }
    let class = assertion
        .child(SAML, "AuthnStatement")
        .and_then(|s| s.child(SAML, "AuthnContext"))
        .and_then(|c| c.child_text(SAML, "AuthnContextClassRef"))
        .unwrap_or_default();
    if !class.starts_with("urn:oasis:names:tc:SAML:2.0:ac:classes:") {
        return Err(fault(
            "sim_vihf",
            "AuthnContextClassRef must be a SAML 2.0 authentication context class",
        ));
    }
    let statement = assertion
        .child(SAML, "AttributeStatement")
        .ok_or_else(|| fault("sim_vihf", "AttributeStatement missing"))?;
    let value = |name: &str| {
        statement
            .children(SAML, "Attribute")
            .find(|a| a.attribute("Name") == Some(name))
            .and_then(|a| a.child(SAML, "AttributeValue"))
    };
    let text = |name: &'static str| -> Result<String, Refusal> {
        value(name)
            .map(|v| v.text.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                fault(
                    "sim_vihf_attribute",
                    format!("VIHF attribute {name} missing"),
                )
            })
    };
    let version = text(attribute::VERSION)?;
    if version != "3.0" && version != "4.0" {
        return Err(fault(
            "sim_vihf_attribute",
            format!("VIHF_Version {version} is not 3.0 or 4.0"),
        ));
    }
    let structure = text(attribute::STRUCTURE)?;
    if let Some(client) = client_structure
        && client != structure
    {
        return Err(fault(
            "sim_vihf_attribute",
            "Identifiant_Structure is not the structure of the TLS client certificate",
        ));
    }
    let sector = text(attribute::SECTOR)?;
    if !sector.ends_with("^1.2.250.1.71.4.2.4") {
        return Err(fault(
            "sim_vihf_attribute",
            "Secteur_Activite must be code^1.2.250.1.71.4.2.4",
        ));
    }
    check_roles(assertion)?;
    text(attribute::SUBJECT)?;
    let purpose = value(attribute::PURPOSE)
        .and_then(|v| v.child(HL7, "PurposeOfUse"))
        .filter(|p| p.attribute("codeSystem") == Some(crate::vihf::ACCESS_MODE_OID))
        .and_then(|p| p.attribute("code"))
        .and_then(crate::vihf::AccessMode::from_code);
    let Some(mode) = purpose else {
        return Err(fault(
            "sim_vihf_attribute",
            "purposeofuse carries no PurposeOfUse of TRE_R248 (normal, bris_de_glace, centre_15)",
        ));
    };
    let resource_id = text(attribute::RESOURCE)?;
    if text(attribute::RESOURCE_URN)? != "urn:dmp" {
        return Err(fault("sim_vihf_attribute", "Ressource_URN must be urn:dmp"));
    }
    let reinforced = match text(attribute::AUTHENTICATION)?.as_str() {
        "INDIRECTE" => false,
        "INDIRECTE_RENFORCEE" => true,
        other => {
            return Err(fault(
                "sim_vihf_attribute",
                format!(
                    "Authentification_Mode {other}: a structure's software states INDIRECTE or INDIRECTE_RENFORCEE"
                ),
            ));
        }
    };
    // The rights matrix: the emergency modes open a DMP to a person who authenticated
    // strongly, never on a structure's word alone.
    if mode != crate::vihf::AccessMode::Normal && !reinforced {
        return Err(fault(
            "sim_vihf_attribute",
            "bris de glace and centre 15 need Authentification_Mode INDIRECTE_RENFORCEE",
        ));
    }
    let professional = assertion
        .child(SAML, "Subject")
        .and_then(|s| s.child_text(SAML, "NameID"))
        .unwrap_or_default()
        .to_string();
    for name in [
        attribute::LPS_NAME,
        attribute::LPS_VERSION,
        attribute::LPS_ID,
        attribute::HOMOLOGATION,
    ] {
        text(name)?;
    }
    Ok(Claims {
        structure,
        resource_id,
        signer: verified.certificate,
        mode,
        reinforced,
        professional,
    })
}

/// The VIHF's role attribute as the ANS mapping states it: every value a concept of JDV_J65;
/// the first a profession (TRE_G15, TRE_G16, TRE_R95, TRE_R94, TRE_R291, or TRE_A00 such
/// as `AUTOMATE`); a physician's specialty (TRE_R01) or a pharmacist's section (TRE_G05)
/// second, and the role (TRE_R85) of staff TRE_R291 characterises by their role.
fn check_roles(assertion: &Element) -> Result<(), Refusal> {
    use crate::vihf::{
        OTHER_OID, PHARMACIST_SECTION_OID, PRODUCER_OID, PROFESSION_OID, ROLE_OID, SOCIAL_OID,
        SPECIALTY_OID, TITLE_OID,
    };
    const TRAINEE_OID: &str = "1.2.250.1.71.1.2.8";
    let roles: Vec<(&str, &str)> = assertion
        .children(SAML, "AttributeStatement")
        .flat_map(|s| s.children(SAML, "Attribute"))
        .filter(|a| a.attribute("Name") == Some(attribute::ROLE))
        .flat_map(|a| a.children(SAML, "AttributeValue"))
        .filter_map(|v| v.child(HL7, "Role"))
        .map(|r| {
            (
                r.attribute("codeSystem").unwrap_or(""),
                r.attribute("code").unwrap_or(""),
            )
        })
        .collect();
    let refuse = |reason: String| Err(fault("sim_vihf_role", reason));
    let Some(&(first_system, first_code)) = roles.first() else {
        return refuse("the role attribute carries no Role".into());
    };
    let set = crt_documents::terminology::Official::SubjectRole.set();
    if let Some((system, code)) = roles
        .iter()
        .find(|(system, code)| !set.contains(system, code))
    {
        return refuse(format!(
            "role {system}|{code} is not in JDV_J65 SubjectRole-DMP"
        ));
    }
    let professions = [
        PROFESSION_OID,
        TRAINEE_OID,
        TITLE_OID,
        SOCIAL_OID,
        OTHER_OID,
        PRODUCER_OID,
    ];
    if !professions.contains(&first_system) {
        return refuse(format!(
            "the first role {first_system}|{first_code} is not a profession"
        ));
    }
    let second = match (first_system, first_code) {
        (PROFESSION_OID | TRAINEE_OID, "10") => Some((SPECIALTY_OID, "a physician's specialty")),
        (PROFESSION_OID | TRAINEE_OID, "21") => {
            Some((PHARMACIST_SECTION_OID, "a pharmacist's section"))
        }
        (OTHER_OID, _) => Some((ROLE_OID, "the role of staff characterised by it")),
        _ => None,
    };
    if let Some((system, what)) = second
        && !roles[1..].iter().any(|(s, _)| *s == system)
    {
        return refuse(format!("the roles lack {what} ({system})"));
    }
    Ok(())
}

/// Reads and checks the submission of an ITI-41 request.
pub fn read_submission(envelope: &Element, parts: &[Part]) -> Result<Submitted, Refusal> {
    if action(envelope) != Some(ACTION_PROVIDE) {
        return Err(fault(
            "sim_action",
            format!("wsa:Action must be {ACTION_PROVIDE}"),
        ));
    }
    let request = envelope
        .child(SOAP12, "Body")
        .and_then(|b| b.child(XDSB, "ProvideAndRegisterDocumentSetRequest"))
        .ok_or_else(|| {
            fault(
                "sim_body",
                "no xdsb:ProvideAndRegisterDocumentSetRequest in the Body",
            )
        })?;
    let list = registry_object_list(request)?;
    let mut problems = Vec::new();
    let mut problem =
        |code: &'static str, context: String| problems.push(Problem { code, context });

    // The submission set.
    let packages: Vec<&Element> = list.children(RIM, "RegistryPackage").collect();
    let [set] = packages.as_slice() else {
        return Err(Refusal::Registry(vec![Problem {
            code: "XDSRegistryMetadataError",
            context: format!(
                "expected one RegistryPackage (the submission set), found {}",
                packages.len()
            ),
        }]));
    };
    let set_id = set.attribute("id").unwrap_or("");
    let classified = list.children(RIM, "Classification").any(|c| {
        c.attribute("classifiedObject") == Some(set_id)
            && c.attribute("classificationNode") == Some(scheme::SUBMISSION_SET)
    });
    if !classified {
        problem(
            "XDSRegistryMetadataError",
            "the RegistryPackage is not classified as a submission set".into(),
        );
    }
    let set_patient = external_id(set, scheme::SUBMISSION_PATIENT_ID)
        .unwrap_or("")
        .to_string();
    for (label, present) in [
        (
            "XDSSubmissionSet.uniqueId",
            external_id(set, scheme::SUBMISSION_UNIQUE_ID).is_some(),
        ),
        (
            "XDSSubmissionSet.sourceId",
            external_id(set, scheme::SOURCE_ID).is_some(),
        ),
        (
            "XDSSubmissionSet.submissionTime",
            slot(set, "submissionTime").len() == 1,
        ),
        (
            "XDSSubmissionSet.contentTypeCode",
            classifications(set, scheme::CONTENT_TYPE).count() == 1,
        ),
        (
            "XDSSubmissionSet.author",
            classifications(set, scheme::SUBMISSION_AUTHOR).count() >= 1,
        ),
    ] {
        if !present {
            problem("XDSRegistryMetadataError", format!("{label} is missing"));
        }
    }
    if !valid_patient_id(&set_patient) {
        problem(
            "XDSRegistryMetadataError",
            "XDSSubmissionSet.patientId is not an INS in CX form".into(),
        );
    }
    if let Some(content_type) = classifications(set, scheme::CONTENT_TYPE).next() {
        let scheme = slot(content_type, "codingScheme");
        let code = (
            scheme.first().copied().unwrap_or(""),
            content_type.attribute("nodeRepresentation").unwrap_or(""),
        );
        if let Some(refused) = crt_documents::metadata::code_problem("contentTypeCode", &[code]) {
            problem(
                "XDSRegistryMetadataError",
                format!("XDSSubmissionSet.{refused}"),
            );
        }
    }

    // The documents.
    let mut entries = Vec::new();
    for entry in list.children(RIM, "ExtrinsicObject") {
        let id = entry.attribute("id").unwrap_or("").to_string();
        let at = |what: &str| format!("{what} of {id}");
        if entry.attribute("objectType") != Some(scheme::DOCUMENT_ENTRY) {
            problem("XDSRegistryMetadataError", at("objectType"));
        }
        for name in [
            "creationTime",
            "hash",
            "size",
            "languageCode",
            "sourcePatientId",
            "sourcePatientInfo",
        ] {
            if slot(entry, name).is_empty() {
                problem(
                    "XDSRegistryMetadataError",
                    format!("{} is missing", at(name)),
                );
            }
        }
        if let [time] = slot(entry, "creationTime").as_slice()
            && (time.len() < 8 || !time.bytes().all(|b| b.is_ascii_digit()))
        {
            problem(
                "XDSRegistryMetadataError",
                format!("{} is not an HL7 DTM in UTC", at("creationTime")),
            );
        }
        let author = classifications(entry, scheme::AUTHOR).next();
        if author.is_none_or(|a| {
            slot(a, "authorPerson").is_empty() || slot(a, "authorInstitution").is_empty()
        }) {
            problem(
                "XDSRegistryMetadataError",
                format!("{} needs authorPerson and authorInstitution", at("author")),
            );
        }
        let codes = entry_codes(entry, &id, &mut problem);
        let patient_id = external_id(entry, scheme::PATIENT_ID)
            .unwrap_or("")
            .to_string();
        let unique_id = external_id(entry, scheme::UNIQUE_ID)
            .unwrap_or("")
            .to_string();
        if !valid_patient_id(&patient_id) {
            problem(
                "XDSRegistryMetadataError",
                format!("{} is not an INS in CX form", at("patientId")),
            );
        } else if patient_id != set_patient {
            problem(
                "XDSPatientIdDoesNotMatch",
                format!("{} differs from the submission set's", at("patientId")),
            );
        }
        if unique_id.is_empty() || !unique_id.split('^').next().is_some_and(is_oid) {
            problem(
                "XDSRegistryMetadataError",
                format!("{} is not an OID", at("uniqueId")),
            );
        }
        // The document itself, attached by XOP.
        let document = request
            .children(XDSB, "Document")
            .find(|d| d.attribute("id") == Some(id.as_str()))
            .and_then(|d| d.child(XOP, "Include"))
            .and_then(|i| i.attribute("href"))
            .and_then(|href| {
                parts
                    .iter()
                    .find(|p| p.content_id() == Some(href.trim_start_matches("cid:")))
            });
        let Some(document) = document else {
            problem(
                "XDSMissingDocument",
                format!("no document attached for {id}"),
            );
            continue;
        };
        let hash = slot(entry, "hash")
            .first()
            .map(|h| h.to_ascii_lowercase())
            .unwrap_or_default();
        let size = slot(entry, "size")
            .first()
            .map(|s| s.to_string())
            .unwrap_or_default();
        if hash != crt_documents::metadata::sha1_hex(&document.body) {
            problem(
                "XDSRepositoryMetadataError",
                format!("{} does not match the document", at("hash")),
            );
        }
        if size != document.body.len().to_string() {
            problem(
                "XDSRepositoryMetadataError",
                format!("{} does not match the document", at("size")),
            );
        }
        entries.push(SubmittedEntry {
            entry_uuid: id,
            unique_id,
            mime_type: entry.attribute("mimeType").unwrap_or("").to_string(),
            hash,
            size,
            patient_id,
            type_code: codes.type_code,
            format_code: codes.format_code,
            confidentiality: codes.confidentiality,
            document: document.body.clone(),
        });
    }
    if entries.is_empty() {
        problem(
            "XDSRegistryMetadataError",
            "the submission holds no document".into(),
        );
    }
    let mut replaces = Vec::new();
    let mut signature = None;
    for association in list.children(RIM, "Association") {
        let kind = association.attribute("associationType").unwrap_or("");
        let source = association
            .attribute("sourceObject")
            .unwrap_or("")
            .to_string();
        let target = association
            .attribute("targetObject")
            .unwrap_or("")
            .to_string();
        match kind {
            scheme::HAS_MEMBER => {}
            scheme::REPLACES => replaces.push((source, target)),
            scheme::SIGNS if target == set_id => signature = Some(source),
            scheme::SIGNS => problem(
                "XDSRegistryMetadataError",
                "a signs association must target the submission set".into(),
            ),
            other => problem(
                "XDSRegistryMetadataError",
                format!("association type {other} is not supported"),
            ),
        }
    }
    for entry in &entries {
        let is_member = list.children(RIM, "Association").any(|a| {
            a.attribute("associationType") == Some(scheme::HAS_MEMBER)
                && a.attribute("sourceObject") == Some(set_id)
                && a.attribute("targetObject") == Some(entry.entry_uuid.as_str())
        });
        if !is_member {
            problem(
                "XDSRegistryMetadataError",
                format!("{} is not a member of the submission set", entry.entry_uuid),
            );
        }
        if entry.format_code != "http://www.w3.org/2000/09/xmldsig#"
            && entry.mime_type == "text/xml"
        {
            check_cda(entry, &mut problem);
        }
    }
    if !problems.is_empty() {
        return Err(Refusal::Registry(problems));
    }
    Ok(Submitted {
        patient_id: set_patient,
        entries,
        replaces,
        signature,
    })
}

/// A CDA document agrees with its entry: id, patient, type.
fn check_cda(entry: &SubmittedEntry, problem: &mut impl FnMut(&'static str, String)) {
    let limits = Limits {
        max_bytes: MAX_MESSAGE_BYTES,
        max_depth: 64,
        max_elements: 200_000,
    };
    let Ok(cda) = xml::parse(&entry.document, limits) else {
        problem(
            "XDSRepositoryMetadataError",
            format!("document {} is not well-formed XML", entry.unique_id),
        );
        return;
    };
    if !cda.is(HL7, "ClinicalDocument") {
        problem(
            "XDSRepositoryMetadataError",
            format!("document {} is not a CDA ClinicalDocument", entry.unique_id),
        );
        return;
    }
    let id = cda
        .child(HL7, "id")
        .map(|i| match i.attribute("extension") {
            Some(extension) => format!("{}^{extension}", i.attribute("root").unwrap_or("")),
            None => i.attribute("root").unwrap_or("").to_string(),
        });
    if id.as_deref() != Some(entry.unique_id.as_str()) {
        problem(
            "XDSRegistryMetadataError",
            format!(
                "uniqueId of {} is not the CDA ClinicalDocument/id",
                entry.entry_uuid
            ),
        );
    }
    let patient = cda
        .child(HL7, "recordTarget")
        .and_then(|r| r.child(HL7, "patientRole"))
        .and_then(|p| {
            p.children(HL7, "id").find(|i| {
                i.attribute("root")
                    .is_some_and(|root| InsOid::from_oid(root).is_some())
            })
        })
        .map(|i| {
            format!(
                "{}^^^&{}&ISO^NH",
                i.attribute("extension").unwrap_or(""),
                i.attribute("root").unwrap_or("")
            )
        });
    if patient.as_deref() != Some(entry.patient_id.as_str()) {
        problem(
            "XDSPatientIdDoesNotMatch",
            format!(
                "patientId of {} is not the INS of the CDA recordTarget",
                entry.entry_uuid
            ),
        );
    }
    let code = cda.child(HL7, "code").and_then(|c| c.attribute("code"));
    if code != Some(entry.type_code.as_str()) {
        problem(
            "XDSRegistryMetadataError",
            format!("typeCode of {} is not the CDA code", entry.entry_uuid),
        );
    }
}

/// `<INS>^^^&<INS OID>&ISO^NH`.
fn valid_patient_id(value: &str) -> bool {
    let Some((number, rest)) = value.split_once("^^^&") else {
        return false;
    };
    let Some((oid, tail)) = rest.split_once("&ISO") else {
        return false;
    };
    number.len() == 15 && InsOid::from_oid(oid).is_some() && tail == "^NH"
}

/// Verifies the submission-set signature entry against the other documents.
pub fn check_signature(submitted: &Submitted, trust: &Trust) -> Result<(), Problem> {
    let Some(signature_id) = &submitted.signature else {
        return Ok(());
    };
    let signature = submitted
        .entries
        .iter()
        .find(|e| &e.entry_uuid == signature_id)
        .ok_or_else(|| Problem {
            code: "XDSRegistryMetadataError",
            context: "the signs association names no document of the submission".into(),
        })?;
    let documents: Vec<(&str, &[u8])> = submitted
        .entries
        .iter()
        .filter(|e| &e.entry_uuid != signature_id)
        .map(|e| (e.unique_id.as_str(), e.document.as_slice()))
        .collect();
    let certificate =
        xades::verify_submission(&signature.document, &documents).map_err(|e| Problem {
            code: "XDSRegistryMetadataError",
            context: format!("submission-set signature: {e}"),
        })?;
    trust.verify(&certificate).map_err(|e| Problem {
        code: "XDSRegistryMetadataError",
        context: format!("submission-set signature certificate: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signing_chain_is_verified_once_and_its_validity_every_time() {
        let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../certs-example");
        let trust = Trust::from_pem(&pki.join("ca/chain.pem")).expect("trust");
        let der = |name: &str| {
            crt_core::tls::load_certificates(&pki.join(name)).expect("certificate")[0].to_vec()
        };
        let signer = der("crt/sign.pem");
        for _ in 0..2 {
            assert_eq!(trust.verify(&signer), Ok(()));
        }
        assert_eq!(trust.remembered().len(), 1);
        // Certificates that fail are not remembered, and fail again.
        for name in ["invalid/other-client.pem", "invalid/expired.pem"] {
            for _ in 0..2 {
                assert!(trust.verify(&der(name)).is_err(), "{name}");
            }
        }
        assert_eq!(trust.remembered().len(), 1);
        // A remembered chain whose window has passed is refused without a new check.
        let key: [u8; 32] = sha2::Sha256::digest(&signer).into();
        trust.remembered().insert(key, (0, 1));
        assert!(trust.verify(&signer).is_err());
    }

    fn assertion(roles: &[(&str, &str)]) -> Element {
        let values: String = roles
            .iter()
            .map(|(system, code)| {
                format!(
                    r#"<saml2:AttributeValue><Role xmlns="{HL7}" code="{code}" codeSystem="{system}"/></saml2:AttributeValue>"#
                )
            })
            .collect();
        let xml = format!(
            r#"<saml2:Assertion xmlns:saml2="{SAML}"><saml2:AttributeStatement><saml2:Attribute Name="{}">{values}</saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>"#,
            attribute::ROLE
        );
        xml::parse(
            xml.as_bytes(),
            Limits {
                max_bytes: 1 << 16,
                max_depth: 16,
                max_elements: 1000,
            },
        )
        .expect("XML")
    }

    #[test]
    fn the_simulator_refuses_roles_the_dmp_would() {
        use crate::vihf::{OTHER_OID, PROFESSION_OID, ROLE_OID, SPECIALTY_OID, TITLE_OID};
        let ok = |roles: &[(&str, &str)]| check_roles(&assertion(roles)).is_ok();
        assert!(ok(&[(PROFESSION_OID, "60")]));
        assert!(ok(&[(PROFESSION_OID, "10"), (SPECIALTY_OID, "SM26")]));
        assert!(ok(&[(TITLE_OID, "93")]));
        assert!(ok(&[(OTHER_OID, "99"), (ROLE_OID, "350")]));
        assert!(ok(&[("1.2.250.1.213.1.1.4.6", "AUTOMATE")]));
        // No role; a physician without specialty; a psychologist coded in TRE_G15; a role
        // of TRE_R85 first; staff of TRE_R291 without their role.
        assert!(!ok(&[]));
        assert!(!ok(&[(PROFESSION_OID, "10")]));
        assert!(!ok(&[(PROFESSION_OID, "93")]));
        assert!(!ok(&[(ROLE_OID, "350")]));
        assert!(!ok(&[(OTHER_OID, "99")]));
    }
}
