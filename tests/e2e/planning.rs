//! The planning through the real binary: the week view of a beneficiary and of a
//! professional, calendar links given to a professional and to a caregiver, their feeds
//! read by an iCalendar parser that is not the gateway's (`tests/calendar/read_ics.py`,
//! the `icalendar` package), a cancellation in the record reaching the feed, and a revoked
//! link answering no more.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Gateway, example, exported_trace, repo};

const JSON: (&str, &str) = ("Content-Type", "application/json");
const CRT: &str = "720004563";

/// The feed at `url` as an independent reader sees it, or `None` without the reader.
fn read_feed(gateway: &Gateway, url: &str, dir: &std::path::Path) -> Option<Value> {
    let feed = gateway.anonymous_request("GET", url);
    assert_eq!(feed.status, 200, "{}", feed.text());
    assert!(
        feed.header("content-type")
            .is_some_and(|t| t.starts_with("text/calendar")),
        "{:?}",
        feed.headers
    );
    let Some(python) = std::env::var_os("CRT_ICAL_PYTHON") else {
        eprintln!("CRT_ICAL_PYTHON is not set: the independent iCalendar reader is skipped");
        return None;
    };
    let file = dir.join("feed.ics");
    std::fs::write(&file, &feed.body).expect("written");
    let output = std::process::Command::new(python)
        .arg(repo().join("tests/calendar/read_ics.py"))
        .arg(&file)
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    Some(serde_json::from_slice(&output.stdout).expect("JSON"))
}

fn post_record(gateway: &Gateway, record: &Value) {
    let response = gateway.post_record(&serde_json::to_vec(record).expect("JSON"), None);
    assert_eq!(response.status, 202, "{}", response.text());
    gateway.wait_settled(
        response.json()["id"].as_str().expect("id"),
        Duration::from_secs(30),
    );
}

fn new_link(gateway: &Gateway, body: Value) -> crate::support::Response {
    gateway.request(
        "POST",
        "/v1/planning/links",
        &[JSON],
        &serde_json::to_vec(&body).expect("JSON"),
    )
}

#[test]
fn the_planning_is_shown_by_week_and_given_as_revocable_calendar_links() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).expect("JSON");
    post_record(&gateway, &record);

    // The week of 2 March 2026: the beneficiary's two visits, the home nurse's one.
    let week = gateway.get_json(&format!(
        "/v1/planning?crt={CRT}&beneficiary=IPP-000417&from=2026-03-02"
    ));
    let kinds: Vec<&str> = week["visits"]
        .as_array()
        .expect("visits")
        .iter()
        .filter_map(|v| v["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["home_visit", "nursing_care"], "{week}");
    let nurse = gateway.get_json(&format!(
        "/v1/planning?crt={CRT}&professional=pro-idel&from=2026-03-02&days=7"
    ));
    assert_eq!(nurse["visits"].as_array().map(Vec::len), Some(1), "{nurse}");
    assert_eq!(nurse["visits"][0]["start"], "2026-03-05T08:30:00+01:00");
    let later = gateway.get_json(&format!(
        "/v1/planning?crt={CRT}&professional=pro-idel&from=2026-03-09"
    ));
    assert_eq!(later["visits"], json!([]));
    let bad = gateway.request(
        "GET",
        &format!("/v1/planning?crt={CRT}&from=2026-03-09"),
        &[],
        b"",
    );
    assert_eq!(bad.status, 400, "{}", bad.text());

    // Links: refused with the field and the rule when they name nobody or two people.
    let unknown = new_link(
        &gateway,
        json!({"crt": CRT, "beneficiary": "IPP-999999", "label": "Mme Martin"}),
    );
    assert_eq!(unknown.status, 422, "{}", unknown.text());
    assert_eq!(unknown.json()["violations"][0]["pointer"], "/beneficiary");
    assert_eq!(unknown.json()["violations"][0]["rule"], "known-subject");
    let both = new_link(
        &gateway,
        json!({"crt": CRT, "beneficiary": "IPP-000417", "professional": "pro-idel", "label": "x"}),
    );
    assert_eq!(both.status, 422, "{}", both.text());
    assert_eq!(both.json()["violations"][0]["rule"], "one-subject");

    // The home nurse's calendar, named by her RPPS, and the daughter's.
    let nurse_link = new_link(
        &gateway,
        json!({"crt": CRT, "professional": "10004567896", "label": "Cabinet infirmier, agenda partagé"}),
    );
    assert_eq!(nurse_link.status, 201, "{}", nurse_link.text());
    let nurse_url = nurse_link.json()["url"].as_str().expect("url").to_string();
    let family_link = new_link(
        &gateway,
        json!({"crt": CRT, "beneficiary": "IPP-000417", "label": "Fille (aidante)"}),
    );
    assert_eq!(family_link.status, 201, "{}", family_link.text());
    let family_url = family_link.json()["url"].as_str().expect("url").to_string();
    let family_id = family_link.json()["id"].as_str().expect("id").to_string();

    // Read by a calendar, with no credential but the link.
    if let Some(feed) = read_feed(&gateway, &nurse_url, data.path()) {
        let events = feed["events"].as_array().expect("events");
        assert_eq!(events.len(), 1, "{feed}");
        let event = &events[0];
        assert_eq!(event["start"], "2026-03-05T07:30:00+00:00", "{event}");
        assert_eq!(event["end"], "2026-03-05T08:30:00+00:00", "{event}");
        assert_eq!(event["status"], "CONFIRMED");
        assert!(
            event["summary"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Soins infirmiers – "),
            "{event}"
        );
        assert!(
            event["uid"]
                .as_str()
                .unwrap_or_default()
                .starts_with("IPP-000417/int-002@"),
            "{event}"
        );
        assert!(
            !event["location"].as_str().unwrap_or_default().is_empty(),
            "the visit's address: {event}"
        );
    }
    if let Some(feed) = read_feed(&gateway, &family_url, data.path()) {
        assert_eq!(feed["events"].as_array().map(Vec::len), Some(2), "{feed}");
    }

    // The record cancels the nurse's visit: the calendars say so.
    record["interventions"][1]["status"] = "cancelled".into();
    record["source"]["updated_at"] = "2026-03-04T18:00:00+01:00".into();
    post_record(&gateway, &record);
    if let Some(feed) = read_feed(&gateway, &nurse_url, data.path()) {
        assert_eq!(feed["events"][0]["status"], "CANCELLED", "{feed}");
    }

    // The daughter's link is revoked: it answers no more; the nurse's still does.
    let revoked = gateway.request(
        "POST",
        &format!("/v1/planning/links/{family_id}/revoke"),
        &[],
        b"",
    );
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert!(revoked.json()["revoked_at"].is_number());
    assert_eq!(gateway.anonymous_request("GET", &family_url).status, 404);
    assert_eq!(gateway.anonymous_request("GET", &nurse_url).status, 200);
    assert_eq!(
        gateway
            .anonymous_request("GET", "/v1/planning/not-a-secret.ics")
            .status,
        404
    );
    let listed = gateway.get_json(&format!("/v1/planning/links?crt={CRT}"));
    let links = listed["links"].as_array().expect("links");
    assert_eq!(links.len(), 2, "{listed}");
    assert!(
        !listed.to_string().contains(".ics"),
        "the list never shows a secret"
    );

    // A home help reads the planning, and may not give links.
    let home_help = [
        ("Crt-Actor-Id", "810004567896"),
        ("Crt-Actor-Profession", "home_help"),
    ];
    let read = gateway.request(
        "GET",
        &format!("/v1/planning?crt={CRT}&beneficiary=IPP-000417&from=2026-03-02"),
        &home_help,
        b"",
    );
    assert_eq!(read.status, 200, "{}", read.text());
    let mut headers = home_help.to_vec();
    headers.push(JSON);
    let refused = gateway.request(
        "POST",
        "/v1/planning/links",
        &headers,
        &serde_json::to_vec(&json!({"crt": CRT, "beneficiary": "IPP-000417", "label": "x"}))
            .expect("JSON"),
    );
    assert_eq!(refused.status, 403, "{}", refused.text());

    // Each feed read is a line of the trace, naming the link and never its secret.
    let mut gateway = gateway;
    gateway.kill();
    let trace = exported_trace(data.path());
    let secret = nurse_url
        .trim_start_matches("/v1/planning/")
        .trim_end_matches(".ics");
    assert!(
        !trace.contains(secret),
        "the trace never holds a link's secret"
    );
    let reads: Vec<Value> = trace
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|line| line["event"].clone())
        .filter(|event| event["action"] == "api.calendar")
        .collect();
    assert!(reads.len() >= 5, "{reads:?}");
    assert!(
        reads
            .iter()
            .any(|e| e["caller"] == format!("calendar-link:{family_id}") && e["outcome"] == "404"),
        "{reads:?}"
    );
}
