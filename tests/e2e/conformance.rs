//! `crt-gateway conformance run`: the shipped suites against the sandbox, through the
//! binary, and a campaign whose expectation the target does not meet.

use crate::support::cli;

#[test]
fn the_shipped_campaign_passes_against_the_sandbox_and_reports_in_each_form() {
    let out = tempfile::tempdir().expect("temp dir");
    let page = out.path().join("report.html");
    let (code, text) = cli(&["conformance", "run", "-o", page.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("0 failed, 0 could not run"), "{text}");
    let html = std::fs::read_to_string(&page).expect("the report");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains(" met, 0 not met, 0 could not be checked."),
        "{html}"
    );
    for suite in ["INS-01", "DMP-04", "MSS-02", "ROR-01", "VT-01", "REG-04"] {
        assert!(html.contains(&format!("id=\"{suite}\"")), "{suite}");
    }
    // The messages exchanged are attached: the ITI-41 request and the DMP's answer.
    assert!(html.contains("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"));
    assert!(html.contains("PRPA_IN201308UV02"), "the TD0.2 answer");
    // Credentials are not.
    assert!(html.contains("Bearer …") && !html.contains("Bearer ey"));

    let junit = out.path().join("report.xml");
    let (code, text) = cli(&[
        "conformance",
        "run",
        "--suite",
        "ins,ror",
        "--format",
        "junit",
        "-o",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    let xml = std::fs::read_to_string(&junit).expect("the report");
    assert!(xml.contains(r#"failures="0" errors="0""#), "{xml}");
    assert!(xml.contains(r#"classname="ror""#), "{xml}");

    let json = out.path().join("report.json");
    let (code, text) = cli(&[
        "conformance",
        "run",
        "--suite",
        "dmp",
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("the report")).expect("JSON");
    let first = &report["suites"][0]["scenarios"][0];
    assert_eq!(first["verdict"], "passed");
    // TD0.2 first, then the ITI-41 submission with the document.
    let bodies: Vec<&str> = first["exchanges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["request_body"]["text"].as_str())
        .collect();
    assert!(bodies[0].contains("PRPA_IN201307UV02"), "{first}");
    assert!(
        bodies.iter().any(|body| body.contains("ClinicalDocument")),
        "{first}"
    );
}

#[test]
fn an_expectation_the_target_does_not_meet_fails_the_campaign() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("dmp.toml"),
        r#"suite = "dmp"
title = "DMP"

[[scenario]]
id = "X-01"
requirement = "A submission for a patient without a DMP is accepted (it is not)."
reference = "none"
action = "deliver"
record = "schemas/examples/home-volet2-pays-de-la-loire.json"
target = "dmp"
document = "dlu"
changes = [{ pointer = "/beneficiary/ins/number", value = "150017505612390" }]
expect = { outcome = "delivered" }

[[scenario]]
id = "X-02"
requirement = "A defect that is not in the message cannot be put in."
reference = "none"
action = "deliver"
record = "schemas/examples/home-volet2-pays-de-la-loire.json"
target = "dmp"
document = "dlu"
tamper = { find = "text nowhere in the message", replace = "x" }
expect = { outcome = "refused" }
"#,
    )
    .expect("write");
    let page = dir.path().join("report.html");
    let (code, text) = cli(&[
        "conformance",
        "run",
        "--suite",
        "dmp",
        "--scenarios",
        dir.path().to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAIL   X-01"), "{text}");
    assert!(text.contains("ERROR  X-02"), "{text}");
    let html = std::fs::read_to_string(&page).expect("the report");
    assert!(html.contains(">Not met</span>"), "{html}");
    assert!(
        html.contains("Expected accepted, observed refused."),
        "{html}"
    );

    let (code, text) = cli(&["conformance", "run", "--suite", "fax"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("unknown suite"), "{text}");
}
