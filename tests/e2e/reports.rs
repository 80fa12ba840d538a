//! `GET /v1/reports/activity`: indicators over the records stored through the API.

use crate::support::{Gateway, example};

#[test]
fn a_crt_activity_report_counts_the_records_it_was_sent() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let record: serde_json::Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    let crt = record["crt"]["finess_et"].as_str().unwrap().to_string();
    let answer = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(answer.status, 202, "{}", answer.text());
    // The same person sent again with an exit: one accompaniment, now ended.
    let mut exited = record.clone();
    exited["volet2"]["exit"] =
        serde_json::json!({ "date": "2026-06-30", "reason": "beneficiary_choice" });
    let answer = gateway.post_record(serde_json::to_vec(&exited).unwrap().as_slice(), None);
    assert_eq!(answer.status, 202, "{}", answer.text());

    let report = gateway.get_json(&format!(
        "/v1/reports/activity?crt={crt}&from=2026-01-01&to=2026-12-31"
    ));
    let indicators = &report["indicators"];
    assert_eq!(indicators["file_active"], 1, "{report}");
    assert_eq!(indicators["exits"]["beneficiary_choice"], 1, "{report}");
    assert_eq!(
        indicators["occupancy"]["daily"].as_array().unwrap().len(),
        365
    );
    // Counts only: nobody is named.
    let text = report.to_string();
    assert!(!text.contains(record["beneficiary"]["local_id"].as_str().unwrap()));
    assert!(!text.contains("Dupont") && !text.contains("DUPONT"));

    let url = format!("http://{}", gateway.addr);
    let (code, text) = gateway.cli(&[
        "report",
        "--crt",
        &crt,
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--url",
        &url,
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("file active (distinct beneficiaries)"),
        "{text}"
    );

    // The page with its charts, as a browser shows it.
    let out = tempfile::tempdir().expect("temp dir");
    let page = out.path().join("report.html");
    let (code, text) = gateway.cli(&[
        "report",
        "--crt",
        &crt,
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--format",
        "html",
        "--audience",
        "external",
        "-o",
        page.to_str().unwrap(),
        "--url",
        &url,
    ]);
    assert_eq!(code, Some(0), "{text}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("&lt; 5"), "small counts leave the CRT hidden");
    let csv = gateway.request(
        "GET",
        &format!("/v1/reports/activity?crt={crt}&from=2026-01-01&to=2026-12-31&format=csv"),
        &[],
        b"",
    );
    assert_eq!(csv.status, 200);
    assert!(csv.text().starts_with("section,item,value\r\n"));
    assert!(
        csv.text().contains("volet2,file_active,1\r\n"),
        "{}",
        csv.text()
    );
    if let Some(browser) = crate::ui::Browser::start() {
        browser.open(&format!(
            "file://{}",
            page.canonicalize().unwrap().display()
        ));
        assert!(browser.count("svg.chart") >= 5, "the page has its charts");
        assert!(browser.text("h1").contains(&crt));
        let png = browser.screenshot();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot");
        std::fs::write(out.path().join("report.png"), &png).unwrap();
        if let Some(keep) = std::env::var_os("CRT_KEEP_SCREENSHOT") {
            std::fs::write(keep, png).unwrap();
        }
    }

    let bad = gateway.request(
        "GET",
        &format!("/v1/reports/activity?crt={crt}&from=2026-02-01&to=2026-01-01"),
        &[],
        b"",
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
}
