//! Reading the DMP's answers: RegistryResponse (ITI-41), AdhocQueryResponse (ITI-18),
//! RetrieveDocumentSetResponse (ITI-43), whether plain SOAP or MTOM.

use crt_core::multipart;
use crt_core::sink::DeliveryError;
use crt_core::soap::{self, SoapError};
use crt_core::xml::{Element, Limits};

use crate::ebrim;
use crate::encode::{QUERY, RIM, RS, XDSB, XOP};

pub const LIMITS: Limits = Limits {
    max_bytes: 64 * 1024 * 1024,
    max_depth: 48,
    max_elements: 200_000,
};
pub const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
pub const PARTIAL: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
pub const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
pub const SEVERITY_ERROR: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error";
pub const SEVERITY_WARNING: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Soap(#[from] SoapError),
    #[error("unreadable MTOM answer: {0}")]
    Multipart(#[from] multipart::MultipartError),
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    #[error("the DMP refused: {0}")]
    Refused(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    PartialSuccess,
    Failure,
}

/// One `RegistryError`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegistryError {
    pub code: String,
    pub context: String,
    pub warning: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub errors: Vec<RegistryError>,
}

/// Error codes that describe the service's state rather than the request's content.
const TRANSIENT: [&str; 6] = [
    "XDSRegistryBusy",
    "XDSRepositoryBusy",
    "XDSRegistryOutOfResources",
    "XDSRepositoryOutOfResources",
    "XDSRegistryError",
    "XDSRepositoryError",
];

impl Outcome {
    /// Failure becomes a delivery error: retryable when every error is transient.
    pub fn into_result(self) -> Result<Outcome, DeliveryError> {
        if self.status != Status::Failure {
            return Ok(self);
        }
        let errors: Vec<&RegistryError> = self.errors.iter().filter(|e| !e.warning).collect();
        let code = errors
            .first()
            .map_or("XDSRegistryError", |e| e.code.as_str())
            .to_string();
        let message = errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.context))
            .collect::<Vec<_>>()
            .join("; ");
        if !errors.is_empty() && errors.iter().all(|e| TRANSIENT.contains(&e.code.as_str())) {
            Err(DeliveryError::retryable(code, message))
        } else {
            Err(DeliveryError::final_error(code, message))
        }
    }
}

/// The SOAP envelope of an answer, and its MIME parts when MTOM.
fn envelope(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(Element, Vec<multipart::Part>), AnswerError> {
    let is_multipart = content_type.is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
    });
    if is_multipart {
        let parts = multipart::parse(content_type.unwrap_or_default(), body, 256)?;
        let root = parts
            .first()
            .ok_or_else(|| AnswerError::Unexpected("empty MTOM answer".into()))?;
        let soap_body = soap::body(&root.body, LIMITS)?;
        Ok((soap_body, parts))
    } else {
        Ok((soap::body(body, LIMITS)?, Vec::new()))
    }
}

fn registry_response(response: &Element) -> Result<Outcome, AnswerError> {
    let status = match response.attribute("status") {
        Some(SUCCESS) => Status::Success,
        Some(PARTIAL) => Status::PartialSuccess,
        Some(FAILURE) => Status::Failure,
        other => {
            return Err(AnswerError::Unexpected(format!(
                "unknown RegistryResponse status {other:?}"
            )));
        }
    };
    let errors = response
        .child(RS, "RegistryErrorList")
        .map(|list| {
            list.children(RS, "RegistryError")
                .map(|e| RegistryError {
                    code: e.attribute("errorCode").unwrap_or("").to_string(),
                    context: e.attribute("codeContext").unwrap_or("").to_string(),
                    warning: e.attribute("severity") == Some(SEVERITY_WARNING),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Outcome { status, errors })
}

/// ITI-41's answer.
pub fn provide_and_register(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Outcome, AnswerError> {
    let (soap_body, _) = envelope(content_type, body)?;
    let response = soap_body
        .child(RS, "RegistryResponse")
        .ok_or_else(|| AnswerError::Unexpected("no rs:RegistryResponse in the Body".into()))?;
    registry_response(response)
}

/// ITI-57's answer: a RegistryResponse, as for ITI-41.
pub fn update_document_set(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Outcome, AnswerError> {
    provide_and_register(content_type, body)
}

/// ITI-65's answer: a `transaction-response` Bundle, or an OperationOutcome whose issues
/// carry the XDS error codes (PDSm). An entry answered `200` rather than `201` was already
/// stored.
pub fn provide_bundle(status: u16, body: &[u8]) -> Result<Outcome, AnswerError> {
    if body.len() > LIMITS.max_bytes {
        return Err(AnswerError::Unexpected("answer too large".into()));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AnswerError::Unexpected(format!("not JSON: {e}")))?;
    match value["resourceType"].as_str() {
        Some("Bundle") if (200..300).contains(&status) => {
            let again = value["entry"].as_array().into_iter().flatten().any(|e| {
                e["response"]["status"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("200"))
            });
            Ok(if again {
                Outcome {
                    status: Status::PartialSuccess,
                    errors: vec![RegistryError {
                        code: "XDSDocumentUniqueIdError".into(),
                        context: "already stored with the same content".into(),
                        warning: true,
                    }],
                }
            } else {
                Outcome {
                    status: Status::Success,
                    errors: Vec::new(),
                }
            })
        }
        Some("OperationOutcome") => Ok(Outcome {
            status: if (200..300).contains(&status) {
                Status::Success
            } else {
                Status::Failure
            },
            errors: value["issue"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|issue| RegistryError {
                    code: issue["details"]["coding"][0]["code"]
                        .as_str()
                        .or(issue["code"].as_str())
                        .unwrap_or("processing")
                        .to_string(),
                    context: issue["diagnostics"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    warning: !matches!(issue["severity"].as_str(), Some("error" | "fatal")),
                })
                .collect(),
        }),
        other => Err(AnswerError::Unexpected(format!(
            "HTTP {status} with a {} resource",
            other.unwrap_or("non-FHIR")
        ))),
    }
}

/// A document entry found by ITI-18.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub entry_uuid: String,
    /// The logical id every version of the entry's metadata shares (`lid`).
    pub logical_id: String,
    /// The version of the metadata (`rim:VersionInfo/@versionName`).
    pub version: String,
    /// The confidentiality codes the entry carries.
    pub confidentiality: Vec<String>,
    pub unique_id: String,
    pub status: String,
    pub hash: String,
    pub size: String,
    pub repository: String,
    pub type_code: String,
}

/// What TD0.2 says of a patient's DMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmpStatus {
    Open,
    /// Closed, with the closure code the DMP gives (`FERMETURE_DEMANDE_PATIENT`…).
    Closed {
        reason: String,
    },
    /// No DMP for this INS (`queryResponseCode` NF).
    Absent,
}

/// TD0.2's answer, `PRPA_IN201308UV02`: the query's result code, then the patient's status.
pub fn dmp_status(content_type: Option<&str>, body: &[u8]) -> Result<DmpStatus, AnswerError> {
    const HL7: &str = crate::encode::HL7;
    let (soap_body, _) = envelope(content_type, body)?;
    let response = soap_body
        .child(HL7, "PRPA_IN201308UV02")
        .ok_or_else(|| AnswerError::Unexpected("no hl7:PRPA_IN201308UV02 in the Body".into()))?;
    let acknowledgement = response
        .child(HL7, "acknowledgement")
        .and_then(|a| a.child(HL7, "typeCode"))
        .and_then(|t| t.attribute("code"));
    if acknowledgement != Some("AA") {
        let detail = response
            .child(HL7, "acknowledgement")
            .and_then(|a| a.child(HL7, "acknowledgementDetail"))
            .map(|d| {
                format!(
                    "{}: {}",
                    d.child(HL7, "code")
                        .and_then(|c| c.attribute("code"))
                        .unwrap_or("?"),
                    d.child_text(HL7, "text").unwrap_or("")
                )
            })
            .unwrap_or_default();
        return Err(AnswerError::Refused(format!(
            "TD0.2 acknowledgement {}: {detail}",
            acknowledgement.unwrap_or("missing")
        )));
    }
    let control = response
        .child(HL7, "controlActProcess")
        .ok_or_else(|| AnswerError::Unexpected("no controlActProcess".into()))?;
    let code = control
        .child(HL7, "queryAck")
        .and_then(|q| q.child(HL7, "queryResponseCode"))
        .and_then(|c| c.attribute("code"));
    match code {
        Some("NF") => return Ok(DmpStatus::Absent),
        Some("OK") => {}
        other => {
            return Err(AnswerError::Unexpected(format!(
                "queryResponseCode {other:?}"
            )));
        }
    }
    let patient = control
        .child(HL7, "subject")
        .and_then(|s| s.child(HL7, "registrationEvent"))
        .and_then(|r| r.child(HL7, "subject1"))
        .and_then(|s| s.child(HL7, "patient"))
        .ok_or_else(|| AnswerError::Unexpected("no registrationEvent/subject1/patient".into()))?;
    match patient
        .child(HL7, "statusCode")
        .and_then(|s| s.attribute("code"))
    {
        Some("active") => Ok(DmpStatus::Open),
        Some("terminated") => Ok(DmpStatus::Closed {
            reason: control
                .child(HL7, "reasonOf")
                .and_then(|r| r.child(HL7, "detectedIssueEvent"))
                .and_then(|d| d.child(HL7, "code"))
                .and_then(|c| c.attribute("code"))
                .unwrap_or("unknown")
                .to_string(),
        }),
        other => Err(AnswerError::Unexpected(format!(
            "patient statusCode {other:?}"
        ))),
    }
}

/// ITI-18's answer.
pub fn find_documents(content_type: Option<&str>, body: &[u8]) -> Result<Vec<Found>, AnswerError> {
    let (soap_body, _) = envelope(content_type, body)?;
    let response = soap_body
        .child(QUERY, "AdhocQueryResponse")
        .ok_or_else(|| AnswerError::Unexpected("no query:AdhocQueryResponse in the Body".into()))?;
    let outcome = registry_response(response)?;
    if outcome.status == Status::Failure {
        let first = outcome
            .errors
            .first()
            .map(|e| format!("{}: {}", e.code, e.context))
            .unwrap_or_default();
        return Err(AnswerError::Unexpected(format!("query failed: {first}")));
    }
    let list = response.child(RIM, "RegistryObjectList");
    let entries = list
        .into_iter()
        .flat_map(|l| l.children(RIM, "ExtrinsicObject"));
    Ok(entries
        .map(|entry| {
            use crt_documents::metadata::scheme;
            let slot = |name: &str| {
                ebrim::slot(entry, name)
                    .first()
                    .copied()
                    .unwrap_or("")
                    .to_string()
            };
            let unique_id = ebrim::external_id(entry, scheme::UNIQUE_ID)
                .unwrap_or("")
                .to_string();
            let type_code = ebrim::classifications(entry, scheme::TYPE_CODE)
                .next()
                .and_then(|c| c.attribute("nodeRepresentation"))
                .unwrap_or("")
                .to_string();
            let entry_uuid = entry.attribute("id").unwrap_or("").to_string();
            let confidentiality = ebrim::classifications(entry, scheme::CONFIDENTIALITY)
                .filter_map(|c| c.attribute("nodeRepresentation"))
                .map(str::to_string)
                .collect();
            Found {
                logical_id: entry
                    .attribute("lid")
                    .map_or_else(|| entry_uuid.clone(), str::to_string),
                version: entry
                    .child(RIM, "VersionInfo")
                    .and_then(|v| v.attribute("versionName"))
                    .unwrap_or("1")
                    .to_string(),
                confidentiality,
                entry_uuid,
                unique_id,
                status: entry.attribute("status").unwrap_or("").to_string(),
                hash: slot("hash"),
                size: slot("size"),
                repository: slot("repositoryUniqueId"),
                type_code,
            }
        })
        .collect())
}

/// ITI-43's answer: (unique id, mime type, bytes) of each document.
pub fn retrieve(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String, Vec<u8>)>, AnswerError> {
    let (soap_body, parts) = envelope(content_type, body)?;
    let response = soap_body
        .child(XDSB, "RetrieveDocumentSetResponse")
        .ok_or_else(|| {
            AnswerError::Unexpected("no RetrieveDocumentSetResponse in the Body".into())
        })?;
    let outcome = response
        .child(RS, "RegistryResponse")
        .map(registry_response)
        .transpose()?;
    if let Some(Outcome {
        status: Status::Failure,
        errors,
    }) = outcome
    {
        return Err(AnswerError::Refused(
            errors
                .iter()
                .map(|e| format!("{}: {}", e.code, e.context))
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    let mut documents = Vec::new();
    for document in response.children(XDSB, "DocumentResponse") {
        let unique_id = document
            .child_text(XDSB, "DocumentUniqueId")
            .unwrap_or("")
            .to_string();
        let mime = document
            .child_text(XDSB, "mimeType")
            .unwrap_or("")
            .to_string();
        let payload = document
            .child(XDSB, "Document")
            .ok_or_else(|| AnswerError::Unexpected("DocumentResponse without Document".into()))?;
        let bytes = match payload
            .child(XOP, "Include")
            .and_then(|i| i.attribute("href"))
        {
            Some(href) => {
                let id = href.trim_start_matches("cid:");
                parts
                    .iter()
                    .find(|p| p.content_id() == Some(id))
                    .map(|p| p.body.clone())
                    .ok_or_else(|| AnswerError::Unexpected(format!("no MIME part {id}")))?
            }
            None => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(payload.text.split_whitespace().collect::<String>())
                    .map_err(|_| AnswerError::Unexpected("inline document is not base64".into()))?
            }
        };
        documents.push((unique_id, mime, bytes));
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crt_core::sink::ErrorClass;

    fn envelope_with(body: &str) -> Vec<u8> {
        format!(
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>{body}</s:Body></s:Envelope>"
        )
        .into_bytes()
    }

    fn response(status: &str, errors: &[(&str, &str)]) -> Vec<u8> {
        let errors: String = errors
            .iter()
            .map(|(code, severity)| {
                format!("<rs:RegistryError errorCode=\"{code}\" codeContext=\"why\" severity=\"{severity}\"/>")
            })
            .collect();
        envelope_with(&format!(
            "<rs:RegistryResponse xmlns:rs=\"{RS}\" status=\"{status}\"><rs:RegistryErrorList>{errors}</rs:RegistryErrorList></rs:RegistryResponse>"
        ))
    }

    fn outcome(body: &[u8]) -> Result<Outcome, DeliveryError> {
        provide_and_register(Some("application/soap+xml"), body)
            .expect("readable")
            .into_result()
    }

    #[test]
    fn success_and_partial_success_are_delivered() {
        assert!(outcome(&response(SUCCESS, &[])).is_ok());
        let partial = outcome(&response(
            PARTIAL,
            &[("XDSDocumentUniqueIdError", SEVERITY_WARNING)],
        ))
        .expect("partial success is delivered");
        assert!(partial.errors[0].warning);
    }

    #[test]
    fn busy_registries_are_retried_and_content_errors_are_final() {
        let busy = outcome(&response(FAILURE, &[("XDSRegistryBusy", SEVERITY_ERROR)]))
            .expect_err("failure");
        assert_eq!(busy.class, ErrorClass::Retryable);
        let unknown = outcome(&response(
            FAILURE,
            &[
                ("XDSRegistryBusy", SEVERITY_ERROR),
                ("XDSUnknownPatientId", SEVERITY_ERROR),
            ],
        ))
        .expect_err("failure");
        assert_eq!(unknown.class, ErrorClass::Final);
        assert_eq!(unknown.code, "XDSRegistryBusy");
        assert!(unknown.message.contains("XDSUnknownPatientId"));
    }

    #[test]
    fn unknown_status_and_missing_response_are_errors() {
        assert!(matches!(
            provide_and_register(None, &response("urn:other", &[])),
            Err(AnswerError::Unexpected(_))
        ));
        assert!(matches!(
            provide_and_register(None, &envelope_with("<x/>")),
            Err(AnswerError::Unexpected(_))
        ));
    }

    #[test]
    fn hostile_answers_are_errors_not_panics() {
        let deep = envelope_with(&"<a>".repeat(10_000));
        assert!(provide_and_register(None, &deep).is_err());
        let entities = b"<?xml version=\"1.0\"?><!DOCTYPE s [<!ENTITY a \"aaaa\">]><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>&a;</s:Body></s:Envelope>";
        assert!(provide_and_register(None, entities).is_err());
        assert!(provide_and_register(None, b"\xff\xfe garbage").is_err());
        assert!(
            retrieve(
                Some("multipart/related; boundary=\"b\""),
                b"--b\r\nContent-Type: text/plain\r\n\r\nno end"
            )
            .is_err()
        );
    }

    #[test]
    fn a_retrieve_refusal_is_an_error() {
        let body = envelope_with(&format!(
            "<x:RetrieveDocumentSetResponse xmlns:x=\"{XDSB}\"><rs:RegistryResponse xmlns:rs=\"{RS}\" status=\"{FAILURE}\"><rs:RegistryErrorList><rs:RegistryError errorCode=\"XDSMissingDocument\" codeContext=\"gone\" severity=\"{SEVERITY_ERROR}\"/></rs:RegistryErrorList></rs:RegistryResponse></x:RetrieveDocumentSetResponse>"
        ));
        assert_eq!(
            retrieve(None, &body),
            Err(AnswerError::Refused("XDSMissingDocument: gone".into()))
        );
    }

    #[test]
    fn inline_documents_are_decoded() {
        let body = envelope_with(&format!(
            "<x:RetrieveDocumentSetResponse xmlns:x=\"{XDSB}\"><rs:RegistryResponse xmlns:rs=\"{RS}\" status=\"{SUCCESS}\"/><x:DocumentResponse><x:DocumentUniqueId>1.2.3</x:DocumentUniqueId><x:mimeType>text/xml</x:mimeType><x:Document>PGEvPg==</x:Document></x:DocumentResponse></x:RetrieveDocumentSetResponse>"
        ));
        assert_eq!(
            retrieve(None, &body).expect("read"),
            vec![("1.2.3".into(), "text/xml".into(), b"<a/>".to_vec())]
        );
    }
}
