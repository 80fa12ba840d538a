//! ITI-65 at `/fhir`: the PDSm Provide Document Bundle, checked and stored with the same
//! rules as ITI-41, so that ITI-18 and ITI-43 read back what came in either way.

use std::sync::Mutex;

use bytes::Bytes;
use crt_core::identifiers::is_oid;
use crt_documents::metadata::sha1_hex;
use fhir_sdk::r4b::codes::BundleType;
use fhir_sdk::r4b::resources::{Bundle, DocumentReference, Resource};
use fhir_sdk::r4b::types::{CodeableConcept, Identifier};
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::json;

use super::{State, store};
use crate::mhd::{self, MAX_BUNDLE_BYTES, PDSM, PROFILE_BUNDLE};
use crate::rules::{Problem, SubmittedEntry};

/// A refusal as a FHIR OperationOutcome; the XDS code, when there is one, is the issue's
/// `details` coding, as PDSm maps XDS errors.
fn outcome(status: StatusCode, problems: &[Problem], severity: &str) -> Response<Full<Bytes>> {
    let issues: Vec<_> = problems
        .iter()
        .map(|p| {
            json!({
                "severity": severity,
                "code": if status.is_client_error() { "processing" } else { "transient" },
                "details": { "coding": [{ "system": "urn:oid:1.3.6.1.4.1.19376.1.2.3", "code": p.code }] },
                "diagnostics": p.context,
            })
        })
        .collect();
    json_response(
        status,
        &json!({ "resourceType": "OperationOutcome", "issue": issues }),
    )
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/fhir+json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

fn invalid(context: impl Into<String>) -> Response<Full<Bytes>> {
    outcome(
        StatusCode::BAD_REQUEST,
        &[Problem {
            code: "XDSRegistryMetadataError",
            context: context.into(),
        }],
        "error",
    )
}

pub(super) async fn provide(
    request: Request<Incoming>,
    structure: &str,
    state: &Mutex<State>,
) -> Response<Full<Bytes>> {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/fhir+json"));
    if !json {
        return invalid("ITI-65 takes application/fhir+json");
    }
    let body = match Limited::new(request.into_body(), MAX_BUNDLE_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => return invalid("bundle too large"),
    };
    let bundle = match mhd::read_bundle(&body) {
        Ok(bundle) => bundle,
        Err(e) => return invalid(e.to_string()),
    };
    let (patient_id, entries, replaces) = match read(&bundle) {
        Ok(read) => read,
        Err(problems) => return outcome(StatusCode::BAD_REQUEST, &problems, "error"),
    };
    let Ok(mut state) = state.lock() else {
        return outcome(
            StatusCode::SERVICE_UNAVAILABLE,
            &[super::problem("XDSRegistryError", "registry unavailable")],
            "error",
        );
    };
    match store(&mut state, structure, &patient_id, &entries, &replaces) {
        Ok(warnings) => {
            let responses: Vec<_> = bundle
                .entry
                .iter()
                .flatten()
                .map(|entry| {
                    let status = if warnings.is_empty() {
                        "201 Created"
                    } else {
                        "200 OK"
                    };
                    json!({ "response": { "status": status, "location": entry.full_url } })
                })
                .collect();
            json_response(
                StatusCode::OK,
                &json!({ "resourceType": "Bundle", "type": "transaction-response", "entry": responses }),
            )
        }
        Err(errors) => {
            let status = if errors.iter().any(|e| e.code == "XDSUnknownPatientId") {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            outcome(status, &errors, "error")
        }
    }
}

fn urn_value(identifier: Option<&Identifier>) -> Option<&str> {
    identifier.and_then(|i| i.value.as_deref())
}

/// (scheme, code) of a concept's first coding.
fn code(concept: Option<&CodeableConcept>) -> Option<(String, String)> {
    let coding = concept?.coding.iter().flatten().next()?;
    Some((mhd::scheme(coding.system.as_deref()?), coding.code.clone()?))
}

type Read = (String, Vec<SubmittedEntry>, Vec<(String, String)>);

/// The submission of a bundle, checked.
fn read(bundle: &Bundle) -> Result<Read, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut fail = |context: String| {
        problems.push(Problem {
            code: "XDSRegistryMetadataError",
            context,
        })
    };
    if bundle.r#type != BundleType::Transaction {
        fail("an ITI-65 bundle is of type transaction".into());
    }
    let profiled = bundle.meta.as_ref().is_some_and(|m| {
        m.profile
            .iter()
            .flatten()
            .any(|p| *p == format!("{PDSM}/{PROFILE_BUNDLE}"))
    });
    if !profiled {
        fail(format!("meta.profile must name {PDSM}/{PROFILE_BUNDLE}"));
    }
    let resources: Vec<(Option<&str>, &Resource)> = bundle
        .entry
        .iter()
        .flatten()
        .filter_map(|e| Some((e.full_url.as_deref(), e.resource.as_ref()?)))
        .collect();
    let submission_sets = resources
        .iter()
        .filter(|(_, r)| match r {
            Resource::List(list) => {
                code(list.code.as_ref()).is_some_and(|(_, c)| c == "submissionset")
            }
            _ => false,
        })
        .count();
    if submission_sets != 1 {
        fail(format!(
            "one submission set List is required, found {submission_sets}"
        ));
    }
    let references: Vec<&DocumentReference> = resources
        .iter()
        .filter_map(|(_, r)| match r {
            Resource::DocumentReference(d) => Some(d),
            _ => None,
        })
        .collect();
    if references.is_empty() {
        fail("at least one DocumentReference is required".into());
    }
    let mut patient_id = String::new();
    let mut entries = Vec::new();
    let mut replaces = Vec::new();
    for (i, reference) in references.iter().enumerate() {
        let at = format!("DocumentReference {}", i + 1);
        let unique_id = urn_value(reference.master_identifier.as_ref())
            .and_then(|v| v.strip_prefix("urn:oid:"))
            .unwrap_or_default()
            .to_string();
        if !is_oid(&unique_id) {
            fail(format!(
                "{at}: masterIdentifier is urn:oid: and an OID of 64 characters at most"
            ));
        }
        let entry_uuid = reference
            .identifier
            .iter()
            .flatten()
            .filter_map(|i| i.value.as_deref())
            .find(|v| v.starts_with("urn:uuid:"))
            .unwrap_or_default()
            .to_string();
        if entry_uuid.is_empty() {
            fail(format!(
                "{at}: an identifier urn:uuid: (entryUUID) is required"
            ));
        }
        let ins = reference.contained.iter().find_map(|r| match r {
            Resource::Patient(p) => p.identifier.iter().flatten().find_map(|i| {
                let oid = i.system.as_deref()?.strip_prefix("urn:oid:")?;
                oid.starts_with("1.2.250.1.213.1.4.")
                    .then(|| format!("{}^^^&{oid}&ISO^NH", i.value.as_deref().unwrap_or_default()))
            }),
            _ => None,
        });
        match ins {
            Some(id) if patient_id.is_empty() || patient_id == id => patient_id = id,
            Some(_) => fail(format!("{at}: another patient than the other documents")),
            None => fail(format!("{at}: the contained Patient carries no INS")),
        }
        for (set, concept) in [
            ("typeCode", reference.r#type.as_ref()),
            ("classCode", reference.category.iter().flatten().next()),
            (
                "healthcareFacilityTypeCode",
                reference
                    .context
                    .as_ref()
                    .and_then(|c| c.facility_type.as_ref()),
            ),
            (
                "practiceSettingCode",
                reference
                    .context
                    .as_ref()
                    .and_then(|c| c.practice_setting.as_ref()),
            ),
        ] {
            match code(concept) {
                Some((scheme, value)) if allowed(set, &scheme, &value) => {}
                Some((scheme, value)) => fail(format!(
                    "{at}: {set} {scheme}|{value} is not in the value set"
                )),
                None => fail(format!("{at}: {set} is required")),
            }
        }
        let Some(content) = reference.content.iter().flatten().next() else {
            fail(format!("{at}: content is required"));
            continue;
        };
        let attachment = &content.attachment;
        let format_code = content
            .format
            .as_ref()
            .and_then(|f| Some((mhd::scheme(f.system.as_deref()?), f.code.clone()?)));
        match &format_code {
            Some((scheme, value)) if allowed("formatCode", scheme, value) => {}
            _ => fail(format!("{at}: content.format is not in the value set")),
        }
        let binary = attachment.url.as_deref().and_then(|url| {
            resources.iter().find_map(|(full_url, r)| match r {
                Resource::Binary(b) if *full_url == Some(url) => Some(b),
                _ => None,
            })
        });
        let Some(document) = binary.and_then(|b| b.data.as_ref()).map(|d| d.0.clone()) else {
            fail(format!(
                "{at}: content.attachment.url names no Binary of the bundle"
            ));
            continue;
        };
        let hash = attachment
            .hash
            .as_ref()
            .map(|h| h.0.clone())
            .unwrap_or_default();
        let sha1 = sha1_hex(&document);
        let hash_hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        if hash_hex != sha1 {
            fail(format!("{at}: hash is not the SHA-1 of the document"));
        }
        if attachment.size.map(|s| s as usize) != Some(document.len()) {
            fail(format!("{at}: size is not the document's"));
        }
        for relation in reference.relates_to.iter().flatten() {
            if let Some(target) = urn_value(relation.target.identifier.as_ref()) {
                replaces.push((entry_uuid.clone(), target.to_string()));
            }
        }
        entries.push(SubmittedEntry {
            entry_uuid,
            unique_id,
            mime_type: attachment.content_type.clone().unwrap_or_default(),
            hash: sha1,
            size: document.len().to_string(),
            patient_id: patient_id.clone(),
            type_code: code(reference.r#type.as_ref())
                .map(|(_, c)| c)
                .unwrap_or_default(),
            format_code: format_code.map(|(_, c)| c).unwrap_or_default(),
            confidentiality: reference
                .security_label
                .iter()
                .flatten()
                .filter_map(|label| code(Some(label)).map(|(_, c)| c))
                .collect(),
            document,
        });
    }
    if problems.is_empty() {
        Ok((patient_id, entries, replaces))
    } else {
        Err(problems)
    }
}

/// A code of an attribute that takes one, in the official value set the DMP binds it to.
fn allowed(attribute: &str, scheme: &str, code: &str) -> bool {
    crt_documents::metadata::code_problem(attribute, &[(scheme, code)]).is_none()
}
