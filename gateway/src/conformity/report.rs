//! The forms a validation report takes: text for a terminal, JUnit XML for CI servers and
//! campaign tools, and a self-contained HTML page for people who do not read either (one
//! file, no script, no external resource, so it can be mailed or archived as is).

use crt_core::xml::XmlWriter;

use super::inspect::FileReport;
pub use crt_reports::html::Html;

/// The reports as lines for a terminal.
pub fn text(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for report in reports {
        match (&report.error, report.valid) {
            (Some(error), _) => {
                out.push_str(&format!("{}: cannot be checked: {error}\n", report.file))
            }
            (None, true) => out.push_str(&format!("{}: valid {}\n", report.file, report.kind)),
            (None, false) => {
                out.push_str(&format!(
                    "{}: invalid {}, {} violation(s)\n",
                    report.file,
                    report.kind,
                    report.violations.len()
                ));
                for violation in &report.violations {
                    out.push_str(&format!("  {violation}\n"));
                }
            }
        }
    }
    out
}

/// One JUnit test case: its class, its name, and how it ended.
pub struct Case<'a> {
    pub class: &'a str,
    pub name: &'a str,
    pub outcome: Outcome,
}

pub enum Outcome {
    Passed,
    /// The case ran and found something wrong: a summary and the details.
    Failed(String, String),
    /// The case could not run.
    Error(String),
}

/// A JUnit XML test suite, the format CI servers and test-campaign tools read.
pub fn junit(suite: &str, cases: &[Case<'_>]) -> String {
    let count =
        |f: fn(&Outcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count().to_string();
    let failures = count(|o| matches!(o, Outcome::Failed(..)));
    let errors = count(|o| matches!(o, Outcome::Error(_)));
    let tests = cases.len().to_string();
    let mut xml = XmlWriter::new();
    xml.declaration().open(
        "testsuite",
        &[
            ("name", suite),
            ("tests", &tests),
            ("failures", &failures),
            ("errors", &errors),
        ],
    );
    for case in cases {
        let attributes = [("classname", case.class), ("name", case.name)];
        match &case.outcome {
            Outcome::Passed => {
                xml.empty("testcase", &attributes);
            }
            Outcome::Error(message) => {
                xml.open("testcase", &attributes)
                    .leaf("error", &[("message", message)], message)
                    .close("testcase");
            }
            Outcome::Failed(summary, details) => {
                xml.open("testcase", &attributes)
                    .leaf("failure", &[("message", summary)], details)
                    .close("testcase");
            }
        }
    }
    xml.close("testsuite");
    String::from_utf8_lossy(&xml.finish()).into_owned()
}

/// The validation reports as JUnit cases: one per file.
pub fn junit_files(reports: &[FileReport]) -> String {
    let cases: Vec<Case<'_>> = reports
        .iter()
        .map(|report| Case {
            class: &report.kind,
            name: &report.file,
            outcome: match (&report.error, report.valid) {
                (Some(error), _) => Outcome::Error(format!("cannot be checked: {error}")),
                (None, true) => Outcome::Passed,
                (None, false) => Outcome::Failed(
                    format!("{} violation(s)", report.violations.len()),
                    report
                        .violations
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            },
        })
        .collect();
    junit("crt-gateway validate", &cases)
}

/// The validation reports as an HTML page: a summary, then one table per file.
pub fn html_files(reports: &[FileReport], generated_at: &str) -> String {
    let mut html = Html::page(
        "Validation report",
        &format!("crt-gateway {}, {generated_at}", env!("CARGO_PKG_VERSION")),
    );
    let valid = reports
        .iter()
        .filter(|r| r.error.is_none() && r.valid)
        .count();
    html.push("<p class=\"summary\">")
        .text(&format!(
            "{} file(s): {valid} valid, {} invalid, {} could not be checked.",
            reports.len(),
            reports
                .iter()
                .filter(|r| r.error.is_none() && !r.valid)
                .count(),
            reports.iter().filter(|r| r.error.is_some()).count()
        ))
        .push("</p>");
    for report in reports {
        html_file(&mut html, report);
    }
    html.finish()
}

/// One file's verdict and violations, as a section of a page.
pub fn html_file(html: &mut Html, report: &FileReport) {
    html.push("<section class=\"file\"><h2>")
        .text(&report.file)
        .push("</h2><p>");
    match (&report.error, report.valid) {
        (Some(_), _) => html.verdict("error", "Could not be checked"),
        (None, true) => html.verdict("pass", "Valid"),
        (None, false) => html.verdict("fail", "Invalid"),
    };
    html.push(" <span class=\"kind\">")
        .text(&report.kind)
        .push("</span></p>");
    if let Some(error) = &report.error {
        html.push("<p>").text(error).push("</p>");
    }
    if !report.violations.is_empty() {
        html.push("<table><thead><tr><th>Where</th><th>Rule</th><th>What is wrong</th></tr></thead><tbody>");
        for violation in &report.violations {
            html.push("<tr><td><code>")
                .text(&violation.pointer)
                .push("</code></td><td><code>")
                .text(&violation.rule)
                .push("</code></td><td>")
                .text(&violation.message)
                .push("</td></tr>");
        }
        html.push("</tbody></table>");
    }
    html.push("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crt_core::Violation;

    fn reports() -> Vec<FileReport> {
        vec![
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
                kind: "file".into(),
                valid: false,
                error: Some("not found".into()),
                violations: Vec::new(),
            },
        ]
    }

    #[test]
    fn junit_reports_a_case_per_file_and_escapes_what_it_quotes() {
        let xml = junit_files(&reports());
        assert!(
            xml.contains(r#"tests="3" failures="1" errors="1""#),
            "{xml}"
        );
        assert!(xml.contains("expected &lt;b&gt; &amp; more"), "{xml}");
        crt_core::xml::parse(xml.as_bytes(), crt_core::xml::Limits::default())
            .expect("well-formed");
        assert_eq!(xml.matches("<testcase").count(), 3);
    }

    #[test]
    fn html_escapes_what_it_quotes_and_states_each_verdict() {
        let page = html_files(&reports(), "2026-11-25T10:00:00Z");
        assert!(page.contains("expected &lt;b&gt; &amp; more"));
        assert!(!page.contains("<b>"));
        assert!(page.contains("1 valid, 1 invalid, 1 could not be checked"));
        for verdict in ["Valid", "Invalid", "Could not be checked"] {
            assert!(page.contains(&format!(">{verdict}</span>")), "{verdict}");
        }
    }
}
