//! `crt-gateway demo`, the main job: every example record through the sandbox, the
//! artifacts written as the targets received them, the activity reports, the ROR offer.

use crate::support::cli;

#[test]
fn the_demo_does_the_whole_job_and_writes_what_was_sent() {
    let out = tempfile::tempdir().expect("temp dir");
    let (code, text) = cli(&["demo", "--out", out.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("4 record(s) accepted, 0 refused"), "{text}");
    // The night on call: escalated, taken by the nurse; the second alert, from the
    // telemonitoring platform, closed with the SAMU informed and the DLU in the DMP.
    assert!(
        text.contains("not taken in time: called Sophie Petit (nurse)"),
        "{text}"
    );
    assert!(text.contains("taken by 810003456786"), "{text}");
    assert!(
        text.contains("73.4 kg (above the high bound 71 kg)"),
        "{text}"
    );
    assert!(
        text.contains(
            "SAMU informed at samu72@ch-lemans.mssante.fr: DLU sent true, DLU in the DMP: delivered"
        ),
        "{text}"
    );
    let night: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("night/alerts.json")).expect("the night's alerts"),
    )
    .expect("JSON");
    assert_eq!(night[0]["status"], "taken", "{night}");
    assert_eq!(night[1]["outcome"], "emergency_services", "{night}");

    let home = out.path().join("home-volet2-pays-de-la-loire");
    let dlu = std::fs::read_to_string(home.join("dmp-dlu/dlu.xml")).expect("the DLU sent");
    assert!(dlu.contains("<ClinicalDocument"), "{dlu}");
    let request = std::fs::read(home.join("dmp-dlu/iti41-request.mime")).expect("ITI-41");
    assert!(
        String::from_utf8_lossy(&request).contains("ProvideAndRegisterDocumentSetRequest"),
        "the request as sent, not a refusal"
    );
    let message = std::fs::read_to_string(home.join("mssante-plan/message.eml")).expect("message");
    assert!(message.contains("X-MSS-"), "{message}");
    let insi = std::fs::read_to_string(
        out.path()
            .join("ehpad-emergency-room-occitanie/ins/insi-response.xml"),
    )
    .expect("INSi answer");
    assert!(insi.contains("Envelope"), "{insi}");

    let reports = out.path().join("reports");
    let page = std::fs::read_to_string(reports.join("720004563-2026.html")).expect("report");
    assert!(page.contains("<svg"));
    let workbook = std::fs::read(reports.join("720004563-2026.xlsx")).expect("workbook");
    assert!(workbook.starts_with(b"PK"));
    assert!(out.path().join("offer/ror-bundle.json").is_file());
    assert!(out.path().join("offer/viatrajectoire-card.json").is_file());
    let answer = std::fs::read_to_string(
        out.path()
            .join("home-admission-occitanie/viatrajectoire/esms-task.json"),
    )
    .expect("the answer to the admission request");
    assert!(answer.contains("esms-task"), "{answer}");
}
