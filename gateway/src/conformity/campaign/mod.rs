//! Conformity campaigns: suites of scenarios (data files, [`scenario`]) run against a
//! target ([`run`]), and the report that shows, per requirement, whether the target met
//! it, with the messages exchanged attached.

pub mod run;
pub mod scenario;

use base64::Engine;
use crt_core::transcript::Exchange;
use serde::Serialize;

use super::report::{Case, Html, Outcome, junit};

/// Bodies longer than this are cut in the HTML report (the JSON report keeps them whole).
const SHOWN_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The target did what the requirement says.
    Passed,
    /// It did not.
    Failed,
    /// The scenario could not run (its record is invalid, the target is unreachable…).
    Error,
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub suite: String,
    pub id: String,
    pub requirement: String,
    pub reference: String,
    pub expected: String,
    pub observed: String,
    pub verdict: Verdict,
    pub duration_ms: u64,
    #[serde(serialize_with = "exchanges_json")]
    pub exchanges: Vec<Exchange>,
}

/// A whole campaign: what ran, against what, when.
#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub target: String,
    pub started_at: String,
    pub gateway_version: &'static str,
    pub suites: Vec<SuiteResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SuiteResult {
    pub suite: String,
    pub title: String,
    pub description: String,
    pub scenarios: Vec<ScenarioResult>,
}

impl Campaign {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.results().filter(|r| r.verdict == verdict).count()
    }

    pub fn results(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.suites.iter().flat_map(|s| &s.scenarios)
    }

    /// One line per scenario, for the terminal.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for result in self.results() {
            out.push_str(&format!(
                "{:<6} {:<8} {}\n",
                verdict_word(result.verdict),
                result.id,
                result.requirement
            ));
            if result.verdict != Verdict::Passed {
                out.push_str(&format!("       observed: {}\n", result.observed));
            }
        }
        out.push_str(&format!(
            "\n{} scenario(s): {} passed, {} failed, {} could not run\n",
            self.results().count(),
            self.count(Verdict::Passed),
            self.count(Verdict::Failed),
            self.count(Verdict::Error)
        ));
        out
    }

    /// JUnit: one test suite per scenario suite would need `<testsuites>`; CI servers read
    /// one flat suite as well, with the scenario suite as the class.
    pub fn junit(&self) -> String {
        let cases: Vec<Case<'_>> = self
            .results()
            .map(|result| Case {
                class: &result.suite,
                name: &result.id,
                outcome: match result.verdict {
                    Verdict::Passed => Outcome::Passed,
                    Verdict::Failed => Outcome::Failed(
                        result.requirement.clone(),
                        format!(
                            "expected: {}\nobserved: {}",
                            result.expected, result.observed
                        ),
                    ),
                    Verdict::Error => Outcome::Error(result.observed.clone()),
                },
            })
            .collect();
        junit("crt-gateway conformance", &cases)
    }

    /// A page a non-developer reads: a summary, a table of requirements with their
    /// verdicts, then each scenario with the messages exchanged (folded).
    pub fn html(&self) -> String {
        let mut html = Html::page(
            "Conformity campaign report",
            &format!(
                "crt-gateway {}, started {}. Target: {}.",
                self.gateway_version, self.started_at, self.target
            ),
        );
        html.push("<p class=\"summary\">").text(&format!(
            "{} requirement(s) checked: {} met, {} not met, {} could not be checked.",
            self.results().count(),
            self.count(Verdict::Passed),
            self.count(Verdict::Failed),
            self.count(Verdict::Error)
        ));
        html.push("</p>");
        for suite in &self.suites {
            html.push("<h2>").text(&suite.title).push("</h2>");
            if !suite.description.is_empty() {
                html.push("<p>").text(&suite.description).push("</p>");
            }
            html.push(
                "<table><thead><tr><th>Scenario</th><th>Requirement</th><th>Reference</th>\
                 <th>Verdict</th></tr></thead><tbody>",
            );
            for result in &suite.scenarios {
                html.push("<tr><td><a href=\"#")
                    .text(&result.id)
                    .push("\">")
                    .text(&result.id)
                    .push("</a></td><td>")
                    .text(&result.requirement)
                    .push("</td><td>")
                    .text(&result.reference)
                    .push("</td><td>");
                verdict_badge(&mut html, result.verdict);
                html.push("</td></tr>");
            }
            html.push("</tbody></table>");
        }
        html.push("<h2>Scenarios in detail</h2>");
        for result in self.results() {
            scenario_html(&mut html, result);
        }
        html.finish()
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "PASS",
        Verdict::Failed => "FAIL",
        Verdict::Error => "ERROR",
    }
}

fn verdict_badge(html: &mut Html, verdict: Verdict) {
    match verdict {
        Verdict::Passed => html.verdict("pass", "Met"),
        Verdict::Failed => html.verdict("fail", "Not met"),
        Verdict::Error => html.verdict("error", "Could not be checked"),
    };
}

fn scenario_html(html: &mut Html, result: &ScenarioResult) {
    html.push("<section class=\"scenario\" id=\"")
        .text(&result.id)
        .push("\"><h3>")
        .text(&result.id)
        .push(" ");
    verdict_badge(html, result.verdict);
    html.push("</h3><table><tbody><tr><th>Requirement</th><td>")
        .text(&result.requirement)
        .push("</td></tr><tr><th>Reference</th><td>")
        .text(&result.reference)
        .push("</td></tr><tr><th>Expected</th><td>")
        .text(&result.expected)
        .push("</td></tr><tr><th>Observed</th><td>")
        .text(&result.observed)
        .push("</td></tr><tr><th>Duration</th><td>")
        .text(&format!("{} ms", result.duration_ms))
        .push("</td></tr></tbody></table>");
    if result.exchanges.is_empty() {
        html.push("<p class=\"muted\">No message was exchanged.</p>");
    }
    for (i, exchange) in result.exchanges.iter().enumerate() {
        let status = match (&exchange.status, &exchange.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("no answer: {error}"),
            (None, None) => "no answer".into(),
        };
        html.push("<details><summary>")
            .text(&format!(
                "Message {}: {} {} → {}{}",
                i + 1,
                exchange.method,
                exchange.url,
                status,
                if exchange.tampered {
                    " (defect put in by the scenario)"
                } else {
                    ""
                }
            ))
            .push("</summary><p><strong>Request</strong></p><pre>");
        for (name, value) in &exchange.request_headers {
            html.text(&format!("{name}: {value}\n"));
        }
        html.text("\n")
            .text(&shown(&exchange.request_body))
            .push("</pre><p><strong>Answer</strong>");
        if let Some(content_type) = &exchange.response_content_type {
            html.text(&format!(" ({content_type})"));
        }
        html.push("</p><pre>")
            .text(&shown(&exchange.response_body))
            .push("</pre></details>");
    }
    html.push("</section>");
}

/// A body as text for the page: UTF-8 as is (cut when long), anything else as its size.
fn shown(body: &[u8]) -> String {
    let cut = &body[..body.len().min(SHOWN_BODY_BYTES)];
    let text = match std::str::from_utf8(cut) {
        Ok(text) => text.to_string(),
        Err(e) if e.valid_up_to() > cut.len().saturating_sub(4) => {
            String::from_utf8_lossy(&cut[..e.valid_up_to()]).into_owned()
        }
        Err(_) => return format!("({} bytes of binary content)", body.len()),
    };
    if body.len() > cut.len() {
        format!(
            "{text}\n… ({} more bytes; the JSON report has the whole message)",
            body.len() - cut.len()
        )
    } else {
        text
    }
}

/// Exchanges in JSON, with each body as text when it is UTF-8, base64 otherwise.
fn exchanges_json<S: serde::Serializer>(
    exchanges: &[Exchange],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let body = |bytes: &[u8]| match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::json!({ "text": text }),
        Err(_) => serde_json::json!({
            "base64": base64::engine::general_purpose::STANDARD.encode(bytes)
        }),
    };
    let mut seq = serializer.serialize_seq(Some(exchanges.len()))?;
    for exchange in exchanges {
        let mut value = serde_json::to_value(exchange).map_err(serde::ser::Error::custom)?;
        value["request_body"] = body(&exchange.request_body);
        value["response_body"] = body(&exchange.response_body);
        seq.serialize_element(&value)?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        let exchange = Exchange {
            method: "POST".into(),
            url: "https://localhost:1/repository".into(),
            request_headers: vec![("Content-Type".into(), "application/soap+xml".into())],
            request_body: bytes::Bytes::from_static(b"<Envelope>&</Envelope>"),
            status: Some(200),
            response_content_type: Some("application/soap+xml".into()),
            response_body: bytes::Bytes::from_static(&[0xff, 0xfe, 0x00]),
            error: None,
            tampered: true,
        };
        let result = |id: &str, verdict| ScenarioResult {
            suite: "dmp".into(),
            id: id.into(),
            requirement: "A <document> is stored".into(),
            reference: "IHE ITI TF-2b 3.41".into(),
            expected: "accepted".into(),
            observed: "refused [XDSRegistryMetadataError]: hash".into(),
            verdict,
            duration_ms: 12,
            exchanges: vec![exchange.clone()],
        };
        Campaign {
            target: "the sandbox".into(),
            started_at: "2026-11-25T10:00:00Z".into(),
            gateway_version: "0.1.0",
            suites: vec![SuiteResult {
                suite: "dmp".into(),
                title: "DMP".into(),
                description: String::new(),
                scenarios: vec![
                    result("DMP-01", Verdict::Passed),
                    result("DMP-02", Verdict::Failed),
                    result("DMP-03", Verdict::Error),
                ],
            }],
        }
    }

    #[test]
    fn the_page_shows_each_requirement_verdict_and_message() {
        let page = campaign().html();
        assert!(
            page.contains("3 requirement(s) checked: 1 met, 1 not met, 1 could not be checked.")
        );
        assert!(page.contains("A &lt;document&gt; is stored"));
        assert!(page.contains("&lt;Envelope&gt;&amp;&lt;/Envelope&gt;"));
        assert!(page.contains("(3 bytes of binary content)"));
        assert!(page.contains("defect put in by the scenario"));
        assert!(page.contains("id=\"DMP-02\""));
    }

    #[test]
    fn json_and_junit_keep_every_result() {
        let campaign = campaign();
        let json = serde_json::to_value(&campaign).expect("JSON");
        let exchange = &json["suites"][0]["scenarios"][0]["exchanges"][0];
        assert_eq!(exchange["request_body"]["text"], "<Envelope>&</Envelope>");
        assert_eq!(exchange["response_body"]["base64"], "//4A");
        let xml = campaign.junit();
        assert!(
            xml.contains(r#"tests="3" failures="1" errors="1""#),
            "{xml}"
        );
    }
}
