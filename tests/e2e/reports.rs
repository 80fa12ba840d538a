//! `GET /v1/reports/activity`: indicators over the records stored through the API.

use std::time::Duration;

use crate::support::{Gateway, example, repo};

#[test]
fn a_crt_activity_report_counts_the_records_it_was_sent() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let record: serde_json::Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    let crt = record["crt"]["finess_et"].as_str().unwrap().to_string();
    let answer = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(answer.status, 202, "{}", answer.text());
    let first = answer.json()["id"].as_str().unwrap().to_string();
    // The same person sent again with an exit: one accompaniment, now ended.
    let mut exited = record.clone();
    exited["volet2"]["exit"] =
        serde_json::json!({ "date": "2026-06-30", "reason": "beneficiary_choice" });
    let answer = gateway.post_record(serde_json::to_vec(&exited).unwrap().as_slice(), None);
    assert_eq!(answer.status, 202, "{}", answer.text());
    gateway.wait_settled(&first, Duration::from_secs(60));
    gateway.wait_settled(
        answer.json()["id"].as_str().unwrap(),
        Duration::from_secs(60),
    );

    // The CRTs' volet 1 actions, as a DUI sends them (the file twice: nothing doubles).
    let url = format!("http://{}", gateway.addr);
    let actions = repo().join("schemas/examples/volet1/actions.jsonl");
    for _ in 0..2 {
        let (code, text) = gateway.cli(&[
            "submit",
            "--volet1",
            actions.to_str().unwrap(),
            "--url",
            &url,
        ]);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("6 submitted: 6 accepted"), "{text}");
    }
    let mut wrong: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&actions)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    wrong["theme"] = "quality_of_working_life".into();
    let refused = gateway.request(
        "POST",
        "/v1/volet1/actions",
        &[("Content-Type", "application/json")],
        &serde_json::to_vec(&wrong).unwrap(),
    );
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(refused.json()["violations"][0]["pointer"], "/theme");
    assert_eq!(refused.json()["violations"][0]["rule"], "theme-field");

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
    // What the deliveries did: the DLU and the plan on the DMP, messages by MSSanté.
    let dmp = &indicators["exchanges"]["dmp"];
    assert!(dmp["delivered"].as_u64().unwrap() >= 2, "{report}");
    assert!(dmp["documents"]["dlu"].as_u64().unwrap() >= 1, "{report}");
    assert!(
        indicators["exchanges"]["mssante"]["delivered"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(indicators["exchanges"].get("journal").is_none());
    assert_eq!(indicators["identity"]["file_active"], 1);
    assert_eq!(indicators["identity"]["qualified"], 1, "{report}");
    // The Tilleuls' one volet 1 action, held, for its professionals; the other CRT's are
    // not in this report.
    assert_eq!(indicators["volet1"]["held"]["actions"], 1, "{report}");
    assert_eq!(
        indicators["volet1"]["held"]["participants"]["professionals"],
        12
    );
    assert_eq!(indicators["volet1"]["fields_covered"], 1);
    assert_eq!(indicators["volet2_allocation_eur"], 270_000);
    // Counts only: nobody is named.
    let text = report.to_string();
    assert!(!text.contains(record["beneficiary"]["local_id"].as_str().unwrap()));
    assert!(!text.contains("Dupont") && !text.contains("DUPONT"));

    let (code, text) = report_cli(&gateway, &crt, &url, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("file active (distinct beneficiaries)"),
        "{text}"
    );

    // The page with its charts, as a browser shows it.
    let out = tempfile::tempdir().expect("temp dir");
    let page = out.path().join("report.html");
    let (code, text) = report_cli(
        &gateway,
        &crt,
        &url,
        &[
            "--format",
            "html",
            "--audience",
            "external",
            "-o",
            page.to_str().unwrap(),
        ],
    );
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

    // What leaves the CRT as JSON is the figures, small counts hidden.
    let external = gateway.get_json(&format!(
        "/v1/reports/activity?crt={crt}&from=2026-01-01&to=2026-12-31&audience=external"
    ));
    assert!(external.get("indicators").is_none(), "{external}");
    let figure = |section: &str, item: &str| {
        external["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["section"] == section && f["item"] == item)
            .map(|f| f["value"].clone())
            .unwrap_or_else(|| panic!("{section}/{item} in {external}"))
    };
    assert_eq!(figure("volet2", "file_active"), "< 5");
    assert_eq!(figure("volet1", "held_actions"), 1);
    assert_eq!(figure("forfait", "volet2_allocation_eur"), 270_000);

    // The workbook, for the survey spreadsheets, read by a spreadsheet library.
    let workbook = out.path().join("activity.xlsx");
    let (code, text) = report_cli(
        &gateway,
        &crt,
        &url,
        &["--format", "xlsx", "-o", workbook.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{text}");
    let bytes = std::fs::read(&workbook).unwrap();
    assert!(bytes.starts_with(b"PK"), "a zip package");
    match std::env::var_os("CRT_XLSX_PYTHON") {
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CRT_XLSX_PYTHON is missing: .ci/run installs openpyxl"
            );
            eprintln!("CRT_XLSX_PYTHON is not set: the workbook is not read back");
        }
        Some(python) => {
            let script = "import sys, openpyxl\n\
                book = openpyxl.load_workbook(sys.argv[1])\n\
                print('|'.join(book.sheetnames))\n\
                rows = {(r[0], r[1]): r[2] for r in book['Figures'].iter_rows(min_row=2, values_only=True)}\n\
                print(rows[('volet2', 'file_active')], rows[('volet1', 'held_professionals')], rows[('forfait', 'volet2_allocation_eur')])\n\
                print(book['Daily occupancy'].max_row - 1, book['Months']['A2'].value)\n";
            let output = std::process::Command::new(python)
                .args(["-c", script, workbook.to_str().unwrap()])
                .output()
                .expect("python runs");
            let printed = String::from_utf8_lossy(&output.stdout).to_string();
            assert!(
                output.status.success(),
                "{printed}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                printed,
                "Figures|Months|Daily occupancy\n1 12 270000\n365 2026-01\n"
            );
        }
    }
    let (code, text) = report_cli(&gateway, &crt, &url, &["--format", "xlsx"]);
    assert_eq!(code, Some(2), "xlsx needs a file: {text}");
    assert!(text.contains("-o FILE"), "{text}");

    let bad = gateway.request(
        "GET",
        &format!("/v1/reports/activity?crt={crt}&from=2026-02-01&to=2026-01-01"),
        &[],
        b"",
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
}

/// `crt-gateway report` on the year 2026 of `crt`, with `extra` arguments.
fn report_cli(gateway: &Gateway, crt: &str, url: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "report",
        "--crt",
        crt,
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--url",
        url,
    ];
    args.extend_from_slice(extra);
    gateway.cli(&args)
}
