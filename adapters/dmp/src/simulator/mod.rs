//! The sandbox DMP: an HTTPS SOAP/MTOM server on loopback that checks submissions the way
//! the DMP does ([`crate::rules`]) and keeps what it accepts, so that tests and the demo
//! read documents back with ITI-18 and ITI-43.
//!
//! It refuses: TLS clients without a certificate of the test chain (or expired, revoked);
//! a VIHF that is missing, badly signed, signed by an untrusted certificate, or whose
//! attributes are wrong or name another structure than the TLS certificate; metadata
//! outside the value sets or inconsistent with the documents; unknown patients
//! (`XDSUnknownPatientId`); a unique id already registered with other content
//! (`XDSDocumentUniqueIdError`); a replacement of a document it does not hold. The same
//! document submitted again is accepted without a second copy, with a warning.
//! It keeps the [`simulate::RETAINED`] documents written most recently and forgets older
//! ones, so that a long sandbox run stays small.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use crt_core::multipart::{self, Part};
use crt_core::simulate::{self, Peer, Retained, Running, SimulatorTls};
use crt_core::soap::{SOAP12, WSA};
use crt_core::tls::TlsError;
use crt_core::xml::{Element, XmlWriter};
use crt_documents::metadata::{RIM, scheme};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use crate::answer::{FAILURE, PARTIAL, SEVERITY_ERROR, SEVERITY_WARNING, SUCCESS};
use crate::encode::{
    ACTION_DMP_STATUS, ACTION_QUERY, ACTION_RETRIEVE, ACTION_UPDATE, FIND_DOCUMENTS, HL7 as HL7V3,
    QUERY, RS, XDSB, XOP,
};
use crate::rules::{self, Problem, Refusal, Trust};

mod mhd;

/// The repository's unique id (a UUID-derived OID).
pub const REPOSITORY: &str = "2.25.156123189632437896510427162452613451911";
const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";

#[derive(Debug, Clone)]
struct Stored {
    entry: rules::SubmittedEntry,
    status: &'static str,
    /// The logical id every version of the entry's metadata shares, and its version.
    lid: String,
    version: u32,
    /// The structure that submitted it: a document masked to professionals (`MASQUE_PS`)
    /// is shown to it alone.
    structure: String,
}

impl Stored {
    /// Whether the caller may see it: a document masked to professionals (`MASQUE_PS`)
    /// only by the structure that submitted it, in the normal mode (in *bris de glace* or
    /// from a regulation centre it stays closed: the DMP opens it then only if the patient
    /// allowed it, which the simulator does not model).
    fn visible_to(&self, claims: &rules::Claims) -> bool {
        let masked = self.entry.confidentiality.iter().any(|c| c == "MASQUE_PS");
        !masked
            || (claims.mode == crate::vihf::AccessMode::Normal
                && self.structure == claims.structure)
    }
}

/// The rights matrix's answer to a consultation (TD3.2, retrieving a document) on a
/// structure's word alone. The DMP's own error code for it is not in a public text; this
/// one says what it is. (The matrix also closes the metadata search, TD3.1, to indirect
/// mode, leaving it the reference search; the feeding's own look-up of the version it
/// replaces still uses FindDocuments, which the simulator therefore serves.)
const CONSULTATION_REFUSED: &str = "sim_consultation_needs_reinforced_authentication";

fn consultation_refused() -> Problem {
    problem(
        "XDSRegistryError",
        &format!(
            "{CONSULTATION_REFUSED}: consulting a DMP's documents needs a professional authenticated strongly (Authentification_Mode INDIRECTE_RENFORCEE); a structure's certificate alone (INDIRECTE) does not open them"
        ),
    )
}

/// The statuses a document takes besides Approved and Deprecated.
const ARCHIVED: &str = crt_documents::metadata::ARCHIVED;
const DELETED: &str = crt_documents::metadata::DELETED;

struct State {
    patients: HashSet<String>,
    /// Patients whose DMP is closed, with the closure code.
    closed: HashMap<String, String>,
    /// By document unique id, the most recently written kept.
    documents: Retained<String, Stored>,
}

pub struct DmpSimulator {
    acceptor: tokio_rustls::TlsAcceptor,
    trust: Arc<Trust>,
    state: Arc<Mutex<State>>,
}

impl DmpSimulator {
    /// VIHF and submission signatures must chain to the CA bundle TLS clients chain to:
    /// IGC-Santé issues both certificates of a structure.
    pub fn new(files: &SimulatorTls) -> Result<DmpSimulator, TlsError> {
        let patients_file: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/patients.json"))
                .expect("shipped patients");
        let patients = patients_file["patients"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        let closed = patients_file["closed"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some((
                    c["patient"].as_str()?.to_string(),
                    c["reason"].as_str()?.to_string(),
                ))
            })
            .collect();
        Ok(DmpSimulator {
            acceptor: files.acceptor()?,
            trust: Arc::new(Trust::from_pem(&files.client_roots)?),
            state: Arc::new(Mutex::new(State {
                patients,
                closed,
                documents: Retained::default(),
            })),
        })
    }

    pub async fn start(self, addr: SocketAddr) -> std::io::Result<Running> {
        let trust = self.trust;
        let state = self.state;
        simulate::serve(addr, self.acceptor, move |request, peer| {
            let (trust, state) = (trust.clone(), state.clone());
            async move { handle(request, peer, &trust, &state).await }
        })
        .await
    }
}

async fn handle(
    request: Request<Incoming>,
    peer: Arc<Peer>,
    trust: &Trust,
    state: &Mutex<State>,
) -> Response<Full<Bytes>> {
    if request.method() != Method::POST {
        return fault(&Refusal::Fault {
            code: "Sender",
            subcode: "sim_method",
            reason: "only POST is served".into(),
        });
    }
    let path = request.uri().path().to_string();
    if path.trim_end_matches('/') == "/fhir" {
        let structure = peer.id_nat_struct().unwrap_or_default();
        return mhd::provide(request, &structure, state).await;
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match Limited::new(request.into_body(), rules::MAX_MESSAGE_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return fault(&Refusal::Fault {
                code: "Sender",
                subcode: "sim_size",
                reason: "message too large".into(),
            });
        }
    };
    let (root, envelope, parts) = match rules::read_message(&content_type, &body) {
        Ok(message) => message,
        Err(refusal) => return fault(&refusal),
    };
    let claims = match rules::check_vihf(&root, &envelope, trust, peer.id_nat_struct().as_deref()) {
        Ok(claims) => claims,
        Err(refusal) => return fault(&refusal),
    };
    let action = rules::action(&envelope).unwrap_or("").to_string();
    match (path.trim_end_matches('/'), action.as_str()) {
        ("/repository", ACTION_RETRIEVE) => retrieve(&claims, &envelope, state),
        ("/repository", _) => provide(&claims, &envelope, &parts, trust, state),
        ("/registry", ACTION_QUERY) => query(&claims, &envelope, state),
        ("/registry", ACTION_UPDATE) => update(&claims, &envelope, state),
        ("/registry", ACTION_DMP_STATUS) => dmp_status(&envelope, state),
        (other, action) => fault(&Refusal::Fault {
            code: "Sender",
            subcode: "sim_action",
            reason: format!("{action} is not served at {other}"),
        }),
    }
}

fn provide(
    claims: &rules::Claims,
    envelope: &Element,
    parts: &[Part],
    trust: &Trust,
    state: &Mutex<State>,
) -> Response<Full<Bytes>> {
    let submitted = match rules::read_submission(envelope, parts) {
        Ok(submitted) => submitted,
        Err(Refusal::Registry(problems)) => return registry_response(FAILURE, &problems, &[]),
        Err(refusal) => return fault(&refusal),
    };
    if claims.resource_id != submitted.patient_id {
        return fault(&Refusal::Fault {
            code: "Sender",
            subcode: "sim_vihf_attribute",
            reason: "the VIHF resource-id is not the patient of the submission".into(),
        });
    }
    if let Err(problem) = rules::check_signature(&submitted, trust) {
        return registry_response(FAILURE, &[problem], &[]);
    }
    let Ok(mut state) = state.lock() else {
        return registry_response(
            FAILURE,
            &[problem("XDSRegistryError", "registry unavailable")],
            &[],
        );
    };
    let warnings = match store(
        &mut state,
        &claims.structure,
        &submitted.patient_id,
        &submitted.entries,
        &submitted.replaces,
    ) {
        Ok(warnings) => warnings,
        Err(errors) => return registry_response(FAILURE, &errors, &[]),
    };
    registry_response(
        if warnings.is_empty() {
            SUCCESS
        } else {
            PARTIAL
        },
        &[],
        &warnings,
    )
}

/// Adds what a submission brings to the store, or says why not: the same rules for
/// ITI-41 and ITI-65.
fn store(
    state: &mut State,
    structure: &str,
    patient_id: &str,
    entries: &[rules::SubmittedEntry],
    replaces: &[(String, String)],
) -> Result<Vec<Problem>, Vec<Problem>> {
    if let Some(reason) = state.closed.get(patient_id) {
        return Err(vec![problem(
            "XDSUnknownPatientId",
            &format!("the patient's DMP is closed ({reason})"),
        )]);
    }
    if !state.patients.contains(patient_id) {
        return Err(vec![problem(
            "XDSUnknownPatientId",
            "the patient has no DMP",
        )]);
    }
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut new = Vec::new();
    for entry in entries {
        match state.documents.get(&entry.unique_id) {
            Some(existing) if existing.entry.hash == entry.hash => warnings.push(Problem {
                code: "XDSDocumentUniqueIdError",
                context: format!(
                    "{} is already registered with the same content; nothing was added",
                    entry.unique_id
                ),
            }),
            Some(_) => errors.push(Problem {
                code: "XDSDocumentUniqueIdError",
                context: format!(
                    "{} is already registered with other content",
                    entry.unique_id
                ),
            }),
            None => new.push(entry.clone()),
        }
    }
    for (source, target) in replaces {
        let replaced = state.documents.values().find(|d| {
            &d.entry.entry_uuid == target
                && d.entry.patient_id == patient_id
                && d.status == APPROVED
        });
        if replaced.is_none() && new.iter().any(|e| &e.entry_uuid == source) {
            errors.push(Problem {
                code: "UnresolvedReferenceException",
                context: format!(
                    "the document {target} to replace is not an approved document of this patient"
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (source, target) in replaces {
        if new.iter().any(|e| &e.entry_uuid == source)
            && let Some(replaced) = state
                .documents
                .values_mut()
                .find(|d| &d.entry.entry_uuid == target)
        {
            replaced.status = DEPRECATED;
        }
    }
    for entry in new {
        state.documents.insert(
            entry.unique_id.clone(),
            Stored {
                lid: entry.entry_uuid.clone(),
                version: 1,
                structure: structure.to_string(),
                entry,
                status: APPROVED,
            },
        );
    }
    Ok(warnings)
}

fn problem(code: &'static str, context: &str) -> Problem {
    Problem {
        code,
        context: context.into(),
    }
}

/// The value of a stored-query slot, without its quotes and parentheses.
fn query_slot<'a>(query: &'a Element, name: &str) -> Vec<&'a str> {
    crate::ebrim::slot(query, name)
        .into_iter()
        .flat_map(|v| v.trim_matches(['(', ')']).split(','))
        .map(|v| v.trim().trim_matches('\''))
        .collect()
}

fn query(
    claims: &rules::Claims,
    envelope: &Element,
    state: &Mutex<State>,
) -> Response<Full<Bytes>> {
    let Some(query) = envelope
        .child(SOAP12, "Body")
        .and_then(|b| b.child(QUERY, "AdhocQueryRequest"))
        .and_then(|r| r.child(RIM, "AdhocQuery"))
    else {
        return fault(&Refusal::Fault {
            code: "Sender",
            subcode: "sim_body",
            reason: "no query:AdhocQueryRequest/rim:AdhocQuery".into(),
        });
    };
    if query.attribute("id") != Some(FIND_DOCUMENTS) {
        return query_response(
            FAILURE,
            &[problem(
                "XDSUnknownStoredQuery",
                "only FindDocuments is served",
            )],
            &[],
        );
    }
    let patient = query_slot(query, "$XDSDocumentEntryPatientId");
    let statuses = query_slot(query, "$XDSDocumentEntryStatus");
    let [patient] = patient.as_slice() else {
        return query_response(
            FAILURE,
            &[problem(
                "XDSStoredQueryParamNumber",
                "$XDSDocumentEntryPatientId is required",
            )],
            &[],
        );
    };
    let Ok(state) = state.lock() else {
        return query_response(
            FAILURE,
            &[problem("XDSRegistryError", "registry unavailable")],
            &[],
        );
    };
    let found: Vec<Stored> = state
        .documents
        .in_write_order()
        .filter(|d| {
            d.entry.patient_id == *patient
                && (statuses.is_empty() || statuses.contains(&d.status))
                && d.visible_to(claims)
        })
        .cloned()
        .collect();
    query_response(SUCCESS, &[], &found)
}

/// ITI-57 (the DMP's TD3.3): new metadata for a document the patient's DMP holds (the new
/// version takes the current one's place, under the same logical id), or a change of its
/// availability. Only the structure that submitted a document updates it.
fn update(
    claims: &rules::Claims,
    envelope: &Element,
    state: &Mutex<State>,
) -> Response<Full<Bytes>> {
    let respond = |status: &str, errors: &[Problem]| {
        soap("urn:ihe:iti:2010:UpdateDocumentSetResponse", |w| {
            write_registry_response(w, status, errors, &[])
        })
    };
    let update = match rules::read_update(envelope) {
        Ok(update) => update,
        Err(Refusal::Registry(problems)) => return respond(FAILURE, &problems),
        Err(refusal) => return fault(&refusal),
    };
    if claims.resource_id != update.patient_id {
        return fault(&Refusal::Fault {
            code: "Sender",
            subcode: "sim_vihf_attribute",
            reason: "the VIHF resource-id is not the patient of the update".into(),
        });
    }
    let Ok(mut state) = state.lock() else {
        return respond(
            FAILURE,
            &[problem("XDSRegistryError", "registry unavailable")],
        );
    };
    let mut errors = Vec::new();
    // Check everything before changing anything: an update applies whole or not at all.
    for change in &update.metadata {
        match state.documents.get(&change.unique_id) {
            Some(current)
                if current.lid == change.logical_id
                    && current.entry.patient_id == update.patient_id
                    && current.status == APPROVED =>
            {
                if current.version.to_string() != change.previous_version {
                    errors.push(problem(
                        "XDSMetadataVersionError",
                        &format!(
                            "{} is at version {}, not {}",
                            change.logical_id, current.version, change.previous_version
                        ),
                    ));
                } else if current.structure != claims.structure {
                    errors.push(problem(
                        "XDSMetadataUpdateError",
                        "only the structure that submitted a document updates it",
                    ));
                } else if current.entry.hash != change.hash || current.entry.size != change.size {
                    errors.push(problem(
                        "XDSMetadataUpdateError",
                        &format!(
                            "{}: the hash and size describe the stored document and do not change",
                            change.logical_id
                        ),
                    ));
                }
            }
            _ => errors.push(problem(
                "UnresolvedReferenceException",
                &format!(
                    "{} is not an approved document of this patient",
                    change.logical_id
                ),
            )),
        }
    }
    for change in &update.statuses {
        match state
            .documents
            .values()
            .find(|d| d.entry.entry_uuid == change.entry_uuid)
        {
            Some(current)
                if current.entry.patient_id == update.patient_id
                    && current.status == change.original =>
            {
                if current.structure != claims.structure {
                    errors.push(problem(
                        "XDSMetadataUpdateError",
                        "only the structure that submitted a document updates it",
                    ));
                }
            }
            _ => errors.push(problem(
                "UnresolvedReferenceException",
                &format!(
                    "{} is not a document of this patient in {}",
                    change.entry_uuid, change.original
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return respond(FAILURE, &errors);
    }
    for change in &update.metadata {
        if let Some(current) = state
            .documents
            .values_mut()
            .find(|d| d.entry.unique_id == change.unique_id)
        {
            current.entry.entry_uuid = change.entry_uuid.clone();
            current.entry.confidentiality = change.confidentiality.clone();
            current.version += 1;
        }
    }
    for change in &update.statuses {
        if let Some(current) = state
            .documents
            .values_mut()
            .find(|d| d.entry.entry_uuid == change.entry_uuid)
        {
            current.status = match change.new.as_str() {
                ARCHIVED => ARCHIVED,
                DELETED => DELETED,
                _ => APPROVED,
            };
        }
    }
    respond(SUCCESS, &[])
}

/// TD0.2: the patient's DMP, open, closed (with its closure code) or absent.
fn dmp_status(envelope: &Element, state: &Mutex<State>) -> Response<Full<Bytes>> {
    let value = envelope
        .child(SOAP12, "Body")
        .and_then(|b| b.child(HL7V3, "PRPA_IN201307UV02"))
        .and_then(|r| r.child(HL7V3, "controlActProcess"))
        .and_then(|c| c.child(HL7V3, "queryByParameter"))
        .and_then(|q| q.child(HL7V3, "parameterList"))
        .and_then(|p| p.child(HL7V3, "patientIdentifier"))
        .and_then(|p| p.child(HL7V3, "value"));
    let patient = value.and_then(|v| {
        Some(format!(
            "{}^^^&{}&ISO^NH",
            v.attribute("extension")?,
            v.attribute("root")?
        ))
    });
    let Some(patient) = patient else {
        return fault(&Refusal::Fault {
            code: "Sender",
            subcode: "sim_body",
            reason: "no PRPA_IN201307UV02 patientIdentifier/value with root and extension".into(),
        });
    };
    let Ok(state) = state.lock() else {
        return fault(&Refusal::Fault {
            code: "Receiver",
            subcode: "sim_unavailable",
            reason: "registry unavailable".into(),
        });
    };
    let closed = state.closed.get(&patient).cloned();
    let known = closed.is_some() || state.patients.contains(&patient);
    drop(state);
    soap("urn:hl7-org:v3:PRPA_IN201308UV02", |w| {
        w.open(
            "hl7:PRPA_IN201308UV02",
            &[("xmlns:hl7", HL7V3), ("ITSVersion", "XML_1.0")],
        )
        .open("hl7:acknowledgement", &[])
        .empty("hl7:typeCode", &[("code", "AA")])
        .close("hl7:acknowledgement")
        .open(
            "hl7:controlActProcess",
            &[("classCode", "CACT"), ("moodCode", "EVN")],
        );
        if known {
            let status = if closed.is_some() {
                "terminated"
            } else {
                "active"
            };
            w.open("hl7:subject", &[("typeCode", "SUBJ")])
                .open(
                    "hl7:registrationEvent",
                    &[("classCode", "REG"), ("moodCode", "EVN")],
                )
                .empty("hl7:statusCode", &[("code", "active")])
                .open("hl7:subject1", &[("typeCode", "SBJ")])
                .open("hl7:patient", &[("classCode", "PAT")])
                .empty("hl7:statusCode", &[("code", status)])
                .close("hl7:patient")
                .close("hl7:subject1")
                .close("hl7:registrationEvent")
                .close("hl7:subject");
            if let Some(reason) = &closed {
                w.open("hl7:reasonOf", &[])
                    .open(
                        "hl7:detectedIssueEvent",
                        &[("classCode", "ALRT"), ("moodCode", "EVN")],
                    )
                    .empty(
                        "hl7:code",
                        &[("code", reason), ("codeSystem", "1.2.250.1.213.4.1.2.4")],
                    )
                    .close("hl7:detectedIssueEvent")
                    .close("hl7:reasonOf");
            }
        }
        w.open("hl7:queryAck", &[])
            .empty(
                "hl7:queryResponseCode",
                &[("code", if known { "OK" } else { "NF" })],
            )
            .close("hl7:queryAck")
            .close("hl7:controlActProcess")
            .close("hl7:PRPA_IN201308UV02");
    })
}

fn retrieve(
    claims: &rules::Claims,
    envelope: &Element,
    state: &Mutex<State>,
) -> Response<Full<Bytes>> {
    let Some(request) = envelope
        .child(SOAP12, "Body")
        .and_then(|b| b.child(XDSB, "RetrieveDocumentSetRequest"))
    else {
        return fault(&Refusal::Fault {
            code: "Sender",
            subcode: "sim_body",
            reason: "no xdsb:RetrieveDocumentSetRequest".into(),
        });
    };
    let Ok(state) = state.lock() else {
        return fault(&Refusal::Fault {
            code: "Receiver",
            subcode: "sim_state",
            reason: "repository unavailable".into(),
        });
    };
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for document in request.children(XDSB, "DocumentRequest") {
        let repository = document
            .child_text(XDSB, "RepositoryUniqueId")
            .unwrap_or("");
        let id = document.child_text(XDSB, "DocumentUniqueId").unwrap_or("");
        match state.documents.get(id) {
            Some(_) if !claims.reinforced => errors.push(consultation_refused()),
            Some(stored)
                if repository == REPOSITORY
                    && stored.visible_to(claims)
                    && claims.resource_id == stored.entry.patient_id =>
            {
                documents.push(stored.entry.clone())
            }
            _ => errors.push(problem(
                "XDSMissingDocument",
                &format!("{id} is not in repository {repository}"),
            )),
        }
    }
    let status = match (documents.is_empty(), errors.is_empty()) {
        (_, true) => SUCCESS,
        (false, false) => PARTIAL,
        (true, false) => FAILURE,
    };
    let root = soap_envelope("urn:ihe:iti:2007:RetrieveDocumentSetResponse", |w| {
        w.open(
            "xdsb:RetrieveDocumentSetResponse",
            &[("xmlns:xdsb", XDSB), ("xmlns:rs", RS)],
        );
        write_registry_response(w, status, &errors, &[]);
        for (i, document) in documents.iter().enumerate() {
            w.open("xdsb:DocumentResponse", &[])
                .leaf("xdsb:RepositoryUniqueId", &[], REPOSITORY)
                .leaf("xdsb:DocumentUniqueId", &[], &document.unique_id)
                .leaf("xdsb:mimeType", &[], &document.mime_type)
                .open("xdsb:Document", &[])
                .empty(
                    "xop:Include",
                    &[
                        ("xmlns:xop", XOP),
                        ("href", &format!("cid:document{i}@dmp-simulator")),
                    ],
                )
                .close("xdsb:Document")
                .close("xdsb:DocumentResponse");
        }
        w.close("xdsb:RetrieveDocumentSetResponse");
    });
    let mut parts = vec![Part::new(
        &[
            (
                "Content-Type",
                "application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"",
            ),
            ("Content-ID", "<root@dmp-simulator>"),
        ],
        root,
    )];
    for (i, document) in documents.iter().enumerate() {
        parts.push(Part::new(
            &[
                ("Content-Type", &document.mime_type),
                ("Content-ID", &format!("<document{i}@dmp-simulator>")),
            ],
            document.document.clone(),
        ));
    }
    let boundary = "MIMEBoundary_dmp_simulator";
    Response::builder()
        .status(StatusCode::OK)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/related; type=\"application/xop+xml\"; boundary=\"{boundary}\"; start=\"<root@dmp-simulator>\"; start-info=\"application/soap+xml\""),
        )
        .body(Full::new(Bytes::from(multipart::write(boundary, &parts))))
        .unwrap_or_default()
}

fn write_registry_response(
    w: &mut XmlWriter,
    status: &str,
    errors: &[Problem],
    warnings: &[Problem],
) {
    w.open(
        "rs:RegistryResponse",
        &[("xmlns:rs", RS), ("status", status)],
    );
    if !errors.is_empty() || !warnings.is_empty() {
        w.open("rs:RegistryErrorList", &[]);
        for (problem, severity) in errors
            .iter()
            .map(|e| (e, SEVERITY_ERROR))
            .chain(warnings.iter().map(|w| (w, SEVERITY_WARNING)))
        {
            w.empty(
                "rs:RegistryError",
                &[
                    ("errorCode", problem.code),
                    ("codeContext", &problem.context),
                    ("severity", severity),
                    ("location", "dmp-simulator"),
                ],
            );
        }
        w.close("rs:RegistryErrorList");
    }
    w.close("rs:RegistryResponse");
}

/// A SOAP 1.2 envelope with its WS-Addressing action.
fn soap_envelope(action: &str, body: impl FnOnce(&mut XmlWriter)) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.declaration()
        .open(
            "soap:Envelope",
            &[("xmlns:soap", SOAP12), ("xmlns:wsa", WSA)],
        )
        .open("soap:Header", &[])
        .leaf("wsa:Action", &[], action)
        .close("soap:Header")
        .open("soap:Body", &[]);
    body(&mut w);
    w.close("soap:Body").close("soap:Envelope");
    w.finish()
}

fn soap(action: &str, body: impl FnOnce(&mut XmlWriter)) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/soap+xml; charset=utf-8")
        .body(Full::new(Bytes::from(soap_envelope(action, body))))
        .unwrap_or_default()
}

fn registry_response(
    status: &str,
    errors: &[Problem],
    warnings: &[Problem],
) -> Response<Full<Bytes>> {
    soap(
        "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
        |w| write_registry_response(w, status, errors, warnings),
    )
}

fn query_response(status: &str, errors: &[Problem], found: &[Stored]) -> Response<Full<Bytes>> {
    soap("urn:ihe:iti:2007:RegistryStoredQueryResponse", |w| {
        w.open(
            "query:AdhocQueryResponse",
            &[
                ("xmlns:query", QUERY),
                ("xmlns:rim", RIM),
                ("xmlns:rs", RS),
                ("status", status),
            ],
        );
        if !errors.is_empty() {
            w.open("rs:RegistryErrorList", &[]);
            for problem in errors {
                w.empty(
                    "rs:RegistryError",
                    &[
                        ("errorCode", problem.code),
                        ("codeContext", &problem.context),
                        ("severity", SEVERITY_ERROR),
                    ],
                );
            }
            w.close("rs:RegistryErrorList");
        }
        w.open("rim:RegistryObjectList", &[]);
        for stored in found {
            let entry = &stored.entry;
            w.open(
                "rim:ExtrinsicObject",
                &[
                    ("id", &entry.entry_uuid),
                    ("lid", &stored.lid),
                    ("mimeType", &entry.mime_type),
                    ("objectType", scheme::DOCUMENT_ENTRY),
                    ("status", stored.status),
                ],
            );
            w.empty(
                "rim:VersionInfo",
                &[("versionName", &stored.version.to_string())],
            );
            for code in &entry.confidentiality {
                w.empty(
                    "rim:Classification",
                    &[
                        ("classificationScheme", scheme::CONFIDENTIALITY),
                        ("classifiedObject", &entry.entry_uuid),
                        ("nodeRepresentation", code),
                    ],
                );
            }
            for (name, value) in [
                ("hash", entry.hash.as_str()),
                ("size", entry.size.as_str()),
                ("repositoryUniqueId", REPOSITORY),
            ] {
                w.open("rim:Slot", &[("name", name)])
                    .open("rim:ValueList", &[])
                    .leaf("rim:Value", &[], value)
                    .close("rim:ValueList")
                    .close("rim:Slot");
            }
            w.empty(
                "rim:Classification",
                &[
                    ("classificationScheme", scheme::TYPE_CODE),
                    ("classifiedObject", &entry.entry_uuid),
                    ("nodeRepresentation", &entry.type_code),
                ],
            );
            w.empty(
                "rim:ExternalIdentifier",
                &[
                    ("identificationScheme", scheme::PATIENT_ID),
                    ("registryObject", &entry.entry_uuid),
                    ("value", &entry.patient_id),
                ],
            );
            w.empty(
                "rim:ExternalIdentifier",
                &[
                    ("identificationScheme", scheme::UNIQUE_ID),
                    ("registryObject", &entry.entry_uuid),
                    ("value", &entry.unique_id),
                ],
            );
            w.close("rim:ExtrinsicObject");
        }
        w.close("rim:RegistryObjectList")
            .close("query:AdhocQueryResponse");
    })
}

fn fault(refusal: &Refusal) -> Response<Full<Bytes>> {
    let (code, subcode, reason) = match refusal {
        Refusal::Fault {
            code,
            subcode,
            reason,
        } => (*code, *subcode, reason.clone()),
        Refusal::Registry(problems) => (
            "Sender",
            "sim_metadata",
            problems
                .iter()
                .map(|p| format!("{}: {}", p.code, p.context))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    let status = if code == "Receiver" {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/soap+xml; charset=utf-8")
        .body(Full::new(Bytes::from(crt_core::soap::fault_envelope(
            code,
            subcode,
            &reason,
            Some(subcode),
        ))))
        .unwrap_or_default()
}
