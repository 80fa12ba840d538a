//! The forms a validation report takes: text for a terminal, JUnit XML for CI servers and
//! campaign tools, and a self-contained HTML page for people who do not read either (one
//! file, no script, no external resource, so it can be mailed or archived as is).

use crt_core::xml::{XmlWriter, escape};

use super::inspect::FileReport;

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

/// A self-contained HTML page: a title, a generated-at line, and the body the caller
/// writes with [`Html::push`] (already escaped) and [`Html::text`].
pub struct Html {
    out: String,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;\
padding:0 1rem;color:#1d2733}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #c8d0d8;\
padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#eef2f5}\
.pass{color:#0b6b2e;font-weight:600}.fail{color:#a4161a;font-weight:600}\
.error{color:#7a4b00;font-weight:600}code,pre{font-family:ui-monospace,monospace;\
font-size:.85rem}pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:24rem;\
white-space:pre-wrap;word-break:break-all}details{margin:.25rem 0}.muted{color:#5b6773}\
.summary{font-size:1.1rem}";

impl Html {
    pub fn page(title: &str, subtitle: &str) -> Html {
        let mut html = Html { out: String::new() };
        html.push("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.push("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        html.push("<title>");
        html.text(title);
        html.push("</title><style>");
        html.push(STYLE);
        html.push("</style></head><body><h1>");
        html.text(title);
        html.push("</h1><p class=\"muted\">");
        html.text(subtitle);
        html.push("</p>");
        html
    }

    /// Appends markup as is: only for literals and what [`Html::text`] escaped.
    pub fn push(&mut self, markup: &str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Appends text, escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    /// A verdict badge: `pass`, `fail` or `error`, with its label.
    pub fn verdict(&mut self, class: &str, label: &str) -> &mut Self {
        self.push("<span class=\"")
            .push(class)
            .push("\">")
            .text(label)
            .push("</span>")
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</body></html>\n");
        self.out
    }
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
