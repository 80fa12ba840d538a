//! `validate FILE…`: offline checks of CRT records (JSON), CDA documents (XML, told by
//! their first non-blank character), IHE XDM archives (ZIP), MSSanté messages (`.eml`),
//! offer files (`.yaml`, or JSON with `porteur` and `volet2`) and FHIR resources (JSON
//! with a `resourceType`) against the ROR rules.

use std::path::{Path, PathBuf};

use crt_core::{RecordError, RecordValidator, Violation};
use serde::Serialize;

use super::Status;

/// Files larger than this are refused unread.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// JUnit XML: one test case per file, its violations as the failure; CI servers and
    /// test-campaign tools read it.
    Junit,
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    kind: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    violations: Vec<Violation>,
}

pub fn run(files: &[PathBuf], format: Format) -> Status {
    let validator = crate::server::record_validator();
    let reports: Vec<FileReport> = files.iter().map(|file| check(file, &validator)).collect();
    match format {
        Format::Junit => println!("{}", junit(&reports)),
        Format::Json => match serde_json::to_string_pretty(&reports) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: {e}"),
        },
        Format::Text => {
            for report in &reports {
                match (&report.error, report.valid) {
                    (Some(error), _) => println!("{}: cannot be checked: {error}", report.file),
                    (None, true) => println!("{}: valid {}", report.file, report.kind),
                    (None, false) => {
                        println!(
                            "{}: invalid {}, {} violation(s)",
                            report.file,
                            report.kind,
                            report.violations.len()
                        );
                        for violation in &report.violations {
                            println!("  {violation}");
                        }
                    }
                }
            }
        }
    }
    if reports.iter().any(|r| r.error.is_some()) {
        Status::Failed
    } else if reports.iter().any(|r| !r.valid) {
        Status::Found
    } else {
        Status::Ok
    }
}

/// The reports as a JUnit XML test suite: a file that cannot be read is an error, an
/// invalid one a failure listing its violations.
fn junit(reports: &[FileReport]) -> String {
    let failures = reports
        .iter()
        .filter(|r| r.error.is_none() && !r.valid)
        .count();
    let errors = reports.iter().filter(|r| r.error.is_some()).count();
    let (tests, failures, errors) = (
        reports.len().to_string(),
        failures.to_string(),
        errors.to_string(),
    );
    let mut xml = crt_core::xml::XmlWriter::new();
    xml.declaration().open(
        "testsuite",
        &[
            ("name", "crt-gateway validate"),
            ("tests", &tests),
            ("failures", &failures),
            ("errors", &errors),
        ],
    );
    for report in reports {
        let attributes = [
            ("classname", report.kind.as_str()),
            ("name", report.file.as_str()),
        ];
        match (&report.error, report.valid) {
            (None, true) => {
                xml.empty("testcase", &attributes);
            }
            (Some(error), _) => {
                xml.open("testcase", &attributes)
                    .leaf("error", &[("message", "cannot be checked")], error)
                    .close("testcase");
            }
            (None, false) => {
                let message = format!("{} violation(s)", report.violations.len());
                let lines: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
                xml.open("testcase", &attributes)
                    .leaf("failure", &[("message", &message)], &lines.join("\n"))
                    .close("testcase");
            }
        }
    }
    xml.close("testsuite");
    String::from_utf8_lossy(&xml.finish()).into_owned()
}

fn check(file: &Path, validator: &RecordValidator) -> FileReport {
    let mut report = FileReport {
        file: file.display().to_string(),
        kind: "CRT record".into(),
        valid: false,
        error: None,
        violations: Vec::new(),
    };
    let bytes = match std::fs::metadata(file) {
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            report.error = Some(format!("larger than {MAX_FILE_BYTES} bytes"));
            return report;
        }
        Ok(_) => match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                report.error = Some(e.to_string());
                return report;
            }
        },
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    if bytes.starts_with(b"PK\x03\x04") {
        let checked = crt_mssante::xdm::check(&bytes);
        report.kind = format!("IHE XDM archive ({} document(s))", checked.documents.len());
        report.valid = checked.is_valid();
        report.violations = checked
            .problems
            .into_iter()
            .map(|p| Violation {
                pointer: p.path,
                rule: p.rule.into(),
                message: p.message,
            })
            .collect();
        return report;
    }
    if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
    {
        report.kind = "MSSanté message".into();
        match crt_mssante::simulator::inspect(&bytes) {
            Ok(inspected) => {
                report.valid = true;
                report.kind = format!(
                    "MSSanté message ({} document(s) in {})",
                    inspected.xdm.map_or(0, |x| x.documents.len()),
                    crt_mssante::xdm::ARCHIVE_NAME
                );
            }
            Err(problems) => {
                report.violations = problems
                    .into_iter()
                    .map(|message| Violation {
                        pointer: String::new(),
                        rule: "mssante-message".into(),
                        message,
                    })
                    .collect()
            }
        }
        return report;
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
        || bytes.starts_with(b"\xEF\xBB\xBF<")
    {
        let checked = crt_documents::check::check(&bytes);
        report.kind = match checked.model {
            Some(model) => format!("CDA document ({model})"),
            None => "CDA document".into(),
        };
        report.valid = checked.problems.is_empty();
        report.violations = checked.problems;
        return report;
    }
    let yaml = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    let offer = json
        .as_ref()
        .is_some_and(|v| v.get("porteur").is_some() && v.get("volet2").is_some());
    if yaml || offer {
        report.kind = "CRT offer file".into();
        match crt_ror::offer::Offer::read(&String::from_utf8_lossy(&bytes)) {
            Ok(_) => report.valid = true,
            Err(e) => {
                report.violations = e
                    .problems()
                    .into_iter()
                    .map(|p| Violation {
                        pointer: format!("line {}, {}", p.line, p.pointer),
                        rule: p.rule,
                        message: p.message,
                    })
                    .collect()
            }
        }
        return report;
    }
    if let Some(resource_type) = json.as_ref().and_then(|v| v["resourceType"].as_str()) {
        let checked = crt_ror::rules::check(json.as_ref().unwrap_or(&serde_json::Value::Null));
        report.kind = format!("FHIR {resource_type} (ROR rules)");
        report.valid = checked.is_valid();
        report.violations = checked
            .issues
            .into_iter()
            .map(|i| Violation {
                pointer: i.expression,
                rule: i.code.into(),
                message: i.diagnostics,
            })
            .collect();
        return report;
    }
    // JSON already read above is not read again; otherwise `parse` says where it breaks.
    let checked = match json {
        Some(value) => validator.validate_value(value),
        None => validator.parse(&bytes),
    };
    match checked {
        Ok(_) => report.valid = true,
        Err(RecordError::Invalid(violations)) => report.violations = violations,
        Err(malformed @ RecordError::Malformed { .. }) => {
            report.violations = vec![Violation {
                pointer: String::new(),
                rule: "json".into(),
                message: malformed.to_string(),
            }]
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_reports_a_case_per_file_and_escapes_what_it_quotes() {
        let reports = vec![
            FileReport {
                file: "ok.json".into(),
                kind: "CRT record".into(),
                valid: true,
                error: None,
                violations: Vec::new(),
            },
            FileReport {
                file: "bad.json".into(),
                kind: "CRT record".into(),
                valid: false,
                error: None,
                violations: vec![Violation {
                    pointer: "/crt/name".into(),
                    rule: "minLength".into(),
                    message: "expected <b> & more".into(),
                }],
            },
            FileReport {
                file: "gone.json".into(),
                kind: "CRT record".into(),
                valid: false,
                error: Some("not found".into()),
                violations: Vec::new(),
            },
        ];
        let xml = junit(&reports);
        assert!(
            xml.contains(r#"tests="3" failures="1" errors="1""#),
            "{xml}"
        );
        assert!(xml.contains("expected &lt;b&gt; &amp; more"), "{xml}");
        crt_core::xml::parse(xml.as_bytes(), crt_core::xml::Limits::default())
            .expect("well-formed");
        assert_eq!(xml.matches("<testcase").count(), 3);
    }
}
