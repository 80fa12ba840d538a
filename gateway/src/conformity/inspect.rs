//! What a file is, and every check the project knows for its kind: CRT records (JSON), CDA
//! documents, ITI-41 requests (SOAP, plain or MTOM), INSi requests and answers, IHE XDM
//! archives (ZIP), MSSanté messages (`.eml`), offer files (`.yaml`, or JSON with `porteur`
//! and `volet2`) and FHIR resources (JSON with a `resourceType`) against the ROR rules.
//!
//! The same inspection serves `crt-gateway validate`, the `/ui/` upload and the campaign
//! reports, so a file gets one verdict wherever it is checked.

use crt_core::xml::{self, Element, Limits};
use crt_core::{RecordError, RecordValidator, Violation};
use serde::Serialize;

/// Files larger than this are refused unread.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// The verdict on one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub kind: String,
    pub valid: bool,
    /// Why the file could not be checked at all (exit code 2), as opposed to violations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub violations: Vec<Violation>,
}

impl FileReport {
    fn new(file: &str, kind: &str) -> FileReport {
        FileReport {
            file: file.to_string(),
            kind: kind.to_string(),
            valid: false,
            error: None,
            violations: Vec::new(),
        }
    }

    /// A report for a file that could not be read.
    pub fn unreadable(file: &str, error: impl Into<String>) -> FileReport {
        FileReport {
            error: Some(error.into()),
            ..FileReport::new(file, "file")
        }
    }

    fn with(mut self, violations: Vec<Violation>) -> FileReport {
        self.valid = violations.is_empty();
        self.violations = violations;
        self
    }
}

/// Checks `bytes`, named `file` (its extension helps tell `.eml` and `.yaml` apart).
pub fn inspect(file: &str, bytes: &[u8], validator: &RecordValidator) -> FileReport {
    if bytes.len() > MAX_FILE_BYTES {
        return FileReport::unreadable(file, format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    let extension = file
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.starts_with(b"PK\x03\x04") {
        return xdm(file, bytes);
    }
    if extension == "eml" {
        return message(file, bytes);
    }
    if bytes.starts_with(b"--") {
        return iti41_mtom(file, bytes);
    }
    let first = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'<') {
        return xml_file(file, bytes);
    }
    let json: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
    let offer = json
        .as_ref()
        .is_some_and(|v| v.get("porteur").is_some() && v.get("volet2").is_some());
    if extension == "yaml" || extension == "yml" || offer {
        return offer_file(file, bytes);
    }
    if let Some(value) = json.as_ref().filter(|v| v["resourceType"].is_string()) {
        return fhir(file, value);
    }
    record(file, bytes, json, validator)
}

fn xdm(file: &str, bytes: &[u8]) -> FileReport {
    let checked = crt_mssante::xdm::check(bytes);
    let kind = format!("IHE XDM archive ({} document(s))", checked.documents.len());
    let violations = checked
        .problems
        .into_iter()
        .map(|p| Violation::new(p.path, p.rule, p.message))
        .collect();
    FileReport::new(file, &kind).with(violations)
}

fn message(file: &str, bytes: &[u8]) -> FileReport {
    match crt_mssante::simulator::inspect(bytes) {
        Ok(inspected) => {
            let kind = format!(
                "MSSanté message ({} document(s) in {})",
                inspected.xdm.map_or(0, |x| x.documents.len()),
                crt_mssante::xdm::ARCHIVE_NAME
            );
            FileReport::new(file, &kind).with(Vec::new())
        }
        Err(problems) => FileReport::new(file, "MSSanté message").with(
            problems
                .into_iter()
                .map(|message| Violation::new("", "mssante-message", message))
                .collect(),
        ),
    }
}

const ENVELOPE_LIMITS: Limits = Limits {
    max_bytes: MAX_FILE_BYTES,
    max_depth: 64,
    max_elements: 500_000,
};

/// An XML file: a CDA document, or a SOAP envelope told by the first element of its Body.
fn xml_file(file: &str, bytes: &[u8]) -> FileReport {
    let root = match xml::parse(bytes, ENVELOPE_LIMITS) {
        Ok(root) => root,
        // The CDA checks say where the XML breaks, with the same words as for a document.
        Err(_) => return cda(file, bytes),
    };
    if root.name == "Signature" {
        return FileReport::unreadable(
            file,
            "a submission-set signature is checked with the documents it signs: validate the ITI-41 request that carries it",
        );
    }
    if root.name != "Envelope" {
        return cda(file, bytes);
    }
    let operation = root
        .children
        .iter()
        .find(|c| c.name == "Body")
        .and_then(|body| body.children.first())
        .map(|first| first.name.as_str());
    match operation {
        Some("ProvideAndRegisterDocumentSetRequest") => {
            iti41(file, "application/soap+xml; charset=UTF-8", bytes)
        }
        Some("RegistryResponse") => iti41_answer(file, bytes),
        Some("RESULTAT") | Some("Fault") => insi_answer(file, bytes),
        Some(_) if action_is_insi(&root) => insi_request(file, bytes),
        other => FileReport::new(file, "SOAP envelope").with(vec![Violation::new(
            "/Envelope/Body",
            "soap-operation",
            format!(
                "{} is not an operation the gateway knows (ITI-41 request or answer, INSi request or answer)",
                other.unwrap_or("an empty Body")
            ),
        )]),
    }
}

fn action_is_insi(envelope: &Element) -> bool {
    envelope
        .children
        .iter()
        .find(|c| c.name == "Header")
        .and_then(|header| header.children.iter().find(|c| c.name == "Action"))
        .is_some_and(|action| action.text.contains("ServiceIdentiteCertifiee"))
}

fn cda(file: &str, bytes: &[u8]) -> FileReport {
    let checked = crt_documents::check::check(bytes);
    let kind = match checked.model {
        Some(model) => format!("CDA document ({model})"),
        None => "CDA document".into(),
    };
    FileReport::new(file, &kind).with(checked.problems)
}

/// An MTOM request saved without its HTTP headers: the boundary is the first line.
fn iti41_mtom(file: &str, bytes: &[u8]) -> FileReport {
    let first_line = bytes
        .split(|b| *b == b'\n')
        .next()
        .map(|line| String::from_utf8_lossy(line).trim().to_string())
        .unwrap_or_default();
    let boundary = first_line.trim_start_matches('-');
    if boundary.is_empty() || boundary.len() > 200 {
        return FileReport::unreadable(file, "a MIME body starts with its boundary line");
    }
    let content_type = format!(
        "multipart/related; type=\"application/xop+xml\"; boundary=\"{}\"",
        &first_line[2..]
    );
    iti41(file, &content_type, bytes)
}

/// An ITI-41 request: the envelope, the submission's metadata against the shipped value
/// sets, each document against its entry (cross-consistency), and each CDA document.
fn iti41(file: &str, content_type: &str, bytes: &[u8]) -> FileReport {
    use crt_dmp::rules::{self, Refusal};
    let kind = "ITI-41 Provide and Register Document Set-b";
    let refusal = |refusal: Refusal| match refusal {
        Refusal::Fault {
            subcode, reason, ..
        } => vec![Violation::new("/Envelope", subcode, reason)],
        Refusal::Registry(problems) => problems
            .into_iter()
            .map(|p| {
                Violation::new(
                    "/Envelope/Body/ProvideAndRegisterDocumentSetRequest",
                    p.code,
                    p.context,
                )
            })
            .collect(),
    };
    let (_, envelope, parts) = match rules::read_message(content_type, bytes) {
        Ok(read) => read,
        Err(e) => return FileReport::new(file, kind).with(refusal(e)),
    };
    let submitted = match rules::read_submission(&envelope, &parts) {
        Ok(submitted) => submitted,
        Err(e) => return FileReport::new(file, kind).with(refusal(e)),
    };
    let mut violations = Vec::new();
    if let Some(signature_id) = &submitted.signature {
        // Offline there is no trust anchor: the signature, the manifest and the digests
        // are checked, the signer's chain is not.
        let (signatures, documents): (Vec<_>, Vec<_>) = submitted
            .entries
            .iter()
            .partition(|e| &e.entry_uuid == signature_id);
        let documents: Vec<(&str, &[u8])> = documents
            .iter()
            .map(|e| (e.unique_id.as_str(), e.document.as_slice()))
            .collect();
        if let Some(signature) = signatures.first()
            && let Err(e) = crt_dmp::xades::verify_submission(&signature.document, &documents)
        {
            violations.push(Violation::new(
                "submission-set signature",
                "signature",
                e.to_string(),
            ));
        }
    }
    for (i, entry) in submitted.entries.iter().enumerate() {
        if entry.mime_type != "text/xml" || entry.document.starts_with(b"<Signature") {
            continue;
        }
        let checked = crt_documents::check::check(&entry.document);
        if checked.model.is_none() && checked.problems.iter().any(|p| p.rule == "root") {
            continue;
        }
        violations.extend(checked.problems.into_iter().map(|mut p| {
            p.pointer = format!("document[{}]{}", i + 1, p.pointer);
            p
        }));
    }
    let kind = format!("{kind} ({} document(s))", submitted.entries.len());
    FileReport::new(file, &kind).with(violations)
}

/// An ITI-41 answer: a RegistryResponse whose status and errors are readable. A Failure
/// is a valid answer; the report says what it carries.
fn iti41_answer(file: &str, bytes: &[u8]) -> FileReport {
    use crt_dmp::answer::Status;
    let kind = "ITI-41 answer";
    match crt_dmp::answer::provide_and_register(Some("application/soap+xml"), bytes) {
        Ok(outcome) => {
            let status = match outcome.status {
                Status::Success => "Success",
                Status::PartialSuccess => "PartialSuccess",
                Status::Failure => "Failure",
            };
            let kind = format!("{kind} ({status}, {} error(s))", outcome.errors.len());
            FileReport::new(file, &kind).with(Vec::new())
        }
        Err(e) => FileReport::new(file, kind).with(vec![Violation::new(
            "/Envelope/Body/RegistryResponse",
            "iti41-answer",
            e.to_string(),
        )]),
    }
}

fn insi_answer(file: &str, bytes: &[u8]) -> FileReport {
    match crt_ins::answer::parse(bytes) {
        Ok(answer) => {
            let kind = format!("INSi answer (CodeCR {})", answer.code());
            FileReport::new(file, &kind).with(Vec::new())
        }
        Err(e) => FileReport::new(file, "INSi answer").with(vec![Violation::new(
            "/Envelope/Body",
            "insi-answer",
            e.to_string(),
        )]),
    }
}

fn insi_request(file: &str, bytes: &[u8]) -> FileReport {
    // A file carries no client certificate: the Emetteur is not compared with one.
    match crt_ins::rules::read_request(bytes, None) {
        Ok(_) => FileReport::new(file, "INSi request").with(Vec::new()),
        Err(fault) => FileReport::new(file, "INSi request").with(vec![Violation::new(
            "/Envelope",
            "insi-request",
            format!("{}: {}", fault.code, fault.reason),
        )]),
    }
}

fn offer_file(file: &str, bytes: &[u8]) -> FileReport {
    match crt_ror::offer::Offer::read(&String::from_utf8_lossy(bytes)) {
        Ok(_) => FileReport::new(file, "CRT offer file").with(Vec::new()),
        Err(e) => FileReport::new(file, "CRT offer file").with(
            e.problems()
                .into_iter()
                .map(|p| {
                    Violation::new(
                        format!("line {}, {}", p.line, p.pointer),
                        &p.rule,
                        p.message,
                    )
                })
                .collect(),
        ),
    }
}

fn fhir(file: &str, value: &serde_json::Value) -> FileReport {
    let checked = crt_ror::rules::check(value);
    let kind = format!(
        "FHIR {} (ROR rules)",
        value["resourceType"].as_str().unwrap_or_default()
    );
    FileReport::new(file, &kind).with(
        checked
            .issues
            .into_iter()
            .map(|i| Violation::new(i.expression, i.code, i.diagnostics))
            .collect(),
    )
}

fn record(
    file: &str,
    bytes: &[u8],
    json: Option<serde_json::Value>,
    validator: &RecordValidator,
) -> FileReport {
    // JSON already read is not read again; otherwise `parse` says where it breaks.
    let checked = match json {
        Some(value) => validator.validate_value(value),
        None => validator.parse(bytes),
    };
    let violations = match checked {
        Ok(_) => Vec::new(),
        Err(RecordError::Invalid(violations)) => violations,
        Err(malformed @ RecordError::Malformed { .. }) => {
            vec![Violation::new("", "json", malformed.to_string())]
        }
    };
    FileReport::new(file, "CRT record").with(violations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator() -> RecordValidator {
        crate::registry::record_validator()
    }

    #[test]
    fn each_kind_is_told_apart() {
        let validator = validator();
        let example = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/examples/home-volet2-pays-de-la-loire.json"
        ))
        .expect("example");
        let report = inspect("record.json", &example, &validator);
        assert_eq!((report.kind.as_str(), report.valid), ("CRT record", true));
        let report = inspect("x.xml", b"<html/>", &validator);
        assert_eq!(report.kind, "CDA document");
        assert!(!report.valid);
        let report = inspect("x.json", br#"{"resourceType":"Organization"}"#, &validator);
        assert!(
            report.kind.starts_with("FHIR Organization"),
            "{}",
            report.kind
        );
        let unknown = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x/></s:Body></s:Envelope>"#;
        let report = inspect("x.xml", unknown, &validator);
        assert_eq!(report.kind, "SOAP envelope");
        assert_eq!(report.violations[0].rule, "soap-operation");
    }

    #[test]
    fn an_insi_answer_with_a_wrong_key_is_invalid() {
        let population = crt_ins::simulator::Population::sandbox();
        let answer = crt_ins::simulator::found(&population.people[0]);
        let report = inspect("answer.xml", &answer, &validator());
        assert_eq!(report.kind, "INSi answer (CodeCR 00)");
        assert!(report.valid, "{:?}", report.violations);
        let text = String::from_utf8(answer).expect("UTF-8");
        let key = &text[text.find("<Cle>").expect("a key") + 5..][..2];
        let other = if key == "01" { "02" } else { "01" };
        let broken = text.replacen(
            &format!("<Cle>{key}</Cle>"),
            &format!("<Cle>{other}</Cle>"),
            1,
        );
        let report = inspect("answer.xml", broken.as_bytes(), &validator());
        assert!(!report.valid);
        assert_eq!(report.violations[0].rule, "insi-answer");
    }

    #[test]
    fn hostile_input_is_a_verdict_not_a_panic() {
        let validator = validator();
        let report = inspect("x.mime", b"--\n", &validator);
        assert!(report.error.is_some());
        let report = inspect(
            "x.mime",
            b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
            &validator,
        );
        assert!(!report.valid);
        let deep = format!("<a>{}", "<a>".repeat(100_000));
        assert!(!inspect("x.xml", deep.as_bytes(), &validator).valid);
    }
}
