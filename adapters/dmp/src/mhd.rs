//! FHIR MHD ITI-65 *Provide Document Bundle* as the ANS profiles it (PDSm, *Partage de
//! documents de santé en mobilité*): the same submission as ITI-41, for recipients that
//! take FHIR. A `transaction` Bundle holds the submission set (a `List`), one
//! `DocumentReference` per document with the XDS metadata, and the document itself (a
//! `Binary`).
//!
//! The JSON is written from the same [`Entry`] and [`Submission`] as the ebRIM request, so
//! both transports carry the same metadata, and read back into fhir-sdk's R4B model
//! ([`read_bundle`]) before it leaves and when the simulator receives it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crt_documents::RenderedDocument;
use crt_documents::cda::{LOINC, RenderContext};
use crt_documents::metadata::{Coded, Entry, Submission};
use fhir_sdk::r4b::resources::Bundle;
use serde_json::{Value, json};

pub const PDSM: &str = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition";
pub const PROFILE_BUNDLE: &str = "PDSmComprehensiveProvideDocumentBundle";
pub const PROFILE_SUBMISSION_SET: &str = "PDSmSubmissionSetComprehensive";
pub const PROFILE_DOCUMENT_REFERENCE: &str = "pdsm-comprehensive-document-reference";
const MHD: &str = "https://profiles.ihe.net/ITI/MHD";
/// Largest bundle read (a 16 MiB document in base64, and its metadata).
pub const MAX_BUNDLE_BYTES: usize = 24 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MhdError {
    #[error("bundle larger than {MAX_BUNDLE_BYTES} bytes")]
    TooLarge,
    #[error("not an R4 Bundle: {0}")]
    Model(String),
}

/// A FHIR system URI for an XDS coding scheme.
fn system(scheme: &str) -> String {
    match scheme {
        LOINC => "http://loinc.org".into(),
        "2.16.840.1.113883.5.25" => {
            "http://terminology.hl7.org/CodeSystem/v3-Confidentiality".into()
        }
        oid if oid.chars().all(|c| c.is_ascii_digit() || c == '.') => format!("urn:oid:{oid}"),
        other => format!("urn:{}", other.to_ascii_lowercase()),
    }
}

/// The XDS scheme of a FHIR system URI: the inverse of [`system`].
pub fn scheme(system: &str) -> String {
    match system {
        "http://loinc.org" => LOINC.into(),
        "http://terminology.hl7.org/CodeSystem/v3-Confidentiality" => {
            "2.16.840.1.113883.5.25".into()
        }
        other => other.strip_prefix("urn:oid:").unwrap_or(other).to_string(),
    }
}

fn coding(coded: &Coded) -> Value {
    json!({ "system": system(&coded.scheme), "code": coded.code, "display": coded.display })
}

fn concept(coded: &Coded) -> Value {
    json!({ "coding": [coding(coded)] })
}

fn profile(name: &str) -> Value {
    json!({ "profile": [format!("{PDSM}/{name}")] })
}

/// `YYYYMMDDHHMMSS` (UTC) → FHIR `instant`.
fn instant(xds: &str) -> String {
    if xds.len() < 14 {
        return xds.to_string();
    }
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &xds[0..4],
        &xds[4..6],
        &xds[6..8],
        &xds[8..10],
        &xds[10..12],
        &xds[12..14]
    )
}

/// The resources that stand for the patient, the author and the structure, contained in
/// the resource that points at them (PDSm forbids a Patient entry in the bundle).
fn contained(document: &RenderedDocument) -> Value {
    let patient = &document.patient;
    let mut author = json!({
        "resourceType": "Practitioner",
        "id": "author",
        "name": [{ "family": document.author.family_name, "given": [document.author.given_name] }],
    });
    if let Some(rpps) = &document.author.rpps {
        author["identifier"] =
            json!([{ "system": "urn:oid:1.2.250.1.71.4.2.1", "value": format!("8{rpps}") }]);
    }
    json!([
        {
            "resourceType": "Patient",
            "id": "patient",
            "identifier": [{
                "use": "official",
                "system": format!("urn:oid:{}", document.ins.oid.as_str()),
                "value": document.ins.number,
            }],
            "name": [{ "use": "official", "family": patient.birth_name, "given": [patient.first_given_name] }],
            "gender": match patient.sex { "M" => "male", "F" => "female", _ => "unknown" },
        },
        author,
        {
            "resourceType": "Organization",
            "id": "structure",
            "identifier": [{ "system": "urn:oid:1.2.250.1.71.4.2.2", "value": document.structure_id_nat }],
            "name": document.structure_name,
        }
    ])
}

fn document_reference(document: &RenderedDocument, entry: &Entry) -> Value {
    let confidentiality: Vec<Value> = entry.confidentiality.iter().map(coding).collect();
    let mut reference = json!({
        "resourceType": "DocumentReference",
        "meta": profile(PROFILE_DOCUMENT_REFERENCE),
        "contained": contained(document),
        "masterIdentifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{}", entry.unique_id) },
        "identifier": [{ "use": "usual", "system": "urn:ietf:rfc:3986", "value": entry.entry_uuid }],
        "status": "current",
        "type": concept(&entry.type_code),
        "category": [concept(&entry.class_code)],
        "subject": { "reference": "#patient" },
        "date": instant(&entry.creation_time),
        "author": [{ "reference": "#author" }, { "reference": "#structure" }],
        "custodian": { "reference": "#structure" },
        "securityLabel": confidentiality,
        "content": [{
            "attachment": {
                "contentType": entry.mime_type,
                "language": entry.language,
                "url": binary_url(entry),
                "size": entry.size,
                "hash": hash_base64(&entry.hash_sha1),
                "title": entry.title,
                "creation": instant(&entry.creation_time),
            },
            "format": coding(&entry.format_code),
        }],
        "context": {
            "period": {
                "start": entry.service_start.as_deref().map(instant).unwrap_or_else(|| instant(&entry.creation_time)),
            },
            "facilityType": concept(&entry.facility_type),
            "practiceSetting": concept(&entry.practice_setting),
            "sourcePatientInfo": { "reference": "#patient" },
        },
    });
    if let Some(stop) = &entry.service_stop {
        reference["context"]["period"]["end"] = json!(instant(stop));
    }
    if entry.legal_authenticator.is_some() {
        reference["authenticator"] = json!({ "reference": "#author" });
    }
    if let Some(previous) = &entry.replaces {
        reference["relatesTo"] = json!([{
            "code": "replaces",
            "target": { "identifier": { "system": "urn:ietf:rfc:3986", "value": previous } },
        }]);
    }
    reference
}

fn binary_url(entry: &Entry) -> String {
    format!("urn:uuid:{}", entry_id(entry, "binary"))
}

fn entry_id(entry: &Entry, part: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("mhd:{part}:{}", entry.unique_id).as_bytes(),
    )
}

/// XDS carries the SHA-1 in hex, FHIR in base64.
fn hash_base64(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    STANDARD.encode(bytes)
}

/// The ITI-65 Bundle for one document (the submission-set signature is an ITI-41 matter:
/// PDSm has no such entry).
pub fn provide_bundle(
    submission: &Submission,
    document: &RenderedDocument,
    entry: &Entry,
    context: &RenderContext,
) -> Value {
    let reference_url = format!("urn:uuid:{}", entry_id(entry, "document-reference"));
    let set_url = format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("mhd:submission-set:{}", submission.unique_id).as_bytes(),
        )
    );
    let submission_set = json!({
        "resourceType": "List",
        "meta": profile(PROFILE_SUBMISSION_SET),
        "contained": contained(document),
        "extension": [
            {
                "url": format!("{MHD}/StructureDefinition/ihe-designationType"),
                "valueCodeableConcept": concept(&submission.content_type),
            },
            {
                "url": format!("{MHD}/StructureDefinition/ihe-sourceId"),
                "valueIdentifier": { "value": format!("urn:oid:{}", context.oid_root) },
            },
        ],
        "identifier": [
            { "use": "official", "system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{}", submission.unique_id) },
            { "use": "usual", "system": "urn:ietf:rfc:3986", "value": set_url },
        ],
        "status": "current",
        "mode": "working",
        "title": submission.title,
        "code": { "coding": [{ "system": format!("{MHD}/CodeSystem/MHDlistTypes"), "code": "submissionset" }] },
        "subject": { "reference": "#patient" },
        "date": instant(&submission.submission_time),
        "source": {
            "extension": [{
                "url": format!("{MHD}/StructureDefinition/ihe-authorOrg"),
                "valueReference": { "reference": "#structure" },
            }],
            "reference": "#author",
        },
        "entry": [{ "item": { "reference": reference_url } }],
    });
    let binary = json!({
        "resourceType": "Binary",
        "contentType": entry.mime_type,
        "data": STANDARD.encode(&document.xml),
    });
    json!({
        "resourceType": "Bundle",
        "meta": profile(PROFILE_BUNDLE),
        "type": "transaction",
        "entry": [
            { "fullUrl": set_url, "resource": submission_set, "request": { "method": "POST", "url": "List" } },
            { "fullUrl": reference_url, "resource": document_reference(document, entry), "request": { "method": "POST", "url": "DocumentReference" } },
            { "fullUrl": binary_url(entry), "resource": binary, "request": { "method": "POST", "url": "Binary" } },
        ],
    })
}

/// Reads a Bundle into fhir-sdk's R4B model, with a size limit (serde_json bounds the
/// nesting).
pub fn read_bundle(bytes: &[u8]) -> Result<Bundle, MhdError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(MhdError::TooLarge);
    }
    serde_json::from_slice(bytes).map_err(|e| MhdError::Model(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xds_forms_become_fhir_forms() {
        assert_eq!(instant("20260302083000"), "2026-03-02T08:30:00Z");
        assert_eq!(
            hash_base64("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
        );
        assert_eq!(system(LOINC), "http://loinc.org");
        assert_eq!(
            system("1.2.250.1.213.1.1.4.1"),
            "urn:oid:1.2.250.1.213.1.1.4.1"
        );
        for scheme_in in [LOINC, "2.16.840.1.113883.5.25", "1.2.250.1.71.4.2.4"] {
            assert_eq!(scheme(&system(scheme_in)), scheme_in);
        }
    }

    #[test]
    fn hostile_bundles_are_errors() {
        assert!(read_bundle(&vec![b' '; MAX_BUNDLE_BYTES + 1]).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(read_bundle(deep.as_bytes()).is_err());
        assert!(read_bundle(br#"{"resourceType": "Patient"}"#).is_err());
    }
}
