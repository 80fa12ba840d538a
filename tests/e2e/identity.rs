//! Who the professional really is, through the binary and the sockets: a Pro Santé Connect
//! login on `/ui/` (the sandbox's PSC simulator), the care team deciding access to a
//! beneficiary's DLU, the emergency access and its review, system tokens that may not
//! speak for people, a delegating DUI, and a DUI's PSC access token as bearer.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::support::{Gateway, Response, delivery_to, dlu_delivery, example, repo, try_request};

const CRT_PHYSICIAN: &str = "810002345675";
const OUTSIDE_PHYSICIAN: &str = "810009876544";

fn https() -> crt_core::http::HttpsClient {
    crt_core::tls::install_default_provider();
    let tls = crt_core::tls::client_config(&repo().join("certs-example/ca/chain.pem"), None)
        .expect("TLS");
    crt_core::http::HttpsClient::new(tls, Duration::from_secs(5), 1 << 20)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn query_of(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    crt_core::oauth::parse_form(query).into_iter().collect()
}

/// Logs in on `/ui/` as `who` through the sandbox's PSC; the session cookie.
fn login(gateway: &Gateway, who: &str) -> String {
    let start = try_request(gateway.addr, "GET", "/ui/login", &[], b"").expect("login");
    assert_eq!(start.status, 302, "{}", start.text());
    let authorize = start.header("location").expect("to PSC").to_string();
    let asked = query_of(&authorize);
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["acr_values"], "eidas1");
    assert!(asked["scope"].contains("scope_all"));
    // The wallet: the professional chosen, PSC sends the browser back with a code.
    let answer = block_on(https().send(
        http::Method::GET,
        &format!("{authorize}&login_hint={who}"),
        &[],
        Bytes::new(),
    ))
    .expect("PSC answers");
    assert_eq!(answer.status, 302);
    let back = answer.location.expect("back to the gateway");
    let path = back
        .split_once(&gateway.addr.to_string())
        .map(|(_, path)| path.to_string())
        .expect("the gateway's callback");
    let callback = try_request(gateway.addr, "GET", &path, &[], b"").expect("callback");
    assert_eq!(callback.status, 302, "{}", callback.text());
    assert_eq!(callback.header("location"), Some("/ui/"));
    let cookie = callback
        .header("set-cookie")
        .expect("a session")
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    cookie.split(';').next().unwrap().to_string()
}

fn with_cookie(gateway: &Gateway, cookie: &str, path: &str, extra: &[(&str, &str)]) -> Response {
    let mut headers = vec![("Cookie", cookie)];
    headers.extend_from_slice(extra);
    try_request(gateway.addr, "GET", path, &headers, b"").expect("HTTP exchange")
}

/// The DLU the DMP delivery of the Pays de la Loire example kept.
fn dlu_path(gateway: &Gateway) -> String {
    let response = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(60));
    let dmp = dlu_delivery(&view);
    format!(
        "/v1/deliveries/{}/artifacts/dlu.xml",
        dmp["id"].as_str().unwrap()
    )
}

#[test]
fn a_psc_login_reads_what_the_care_team_may_and_an_emergency_is_traced_for_review() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false")],
    );
    let dlu = dlu_path(&gateway);

    // The CRT's physician logs in with PSC: a CPS card, eIDAS substantial.
    let physician = login(&gateway, CRT_PHYSICIAN);
    let me: Value = with_cookie(&gateway, &physician, "/v1/me", &[]).json();
    assert_eq!(me["principal"], format!("psc:{CRT_PHYSICIAN}"));
    assert_eq!(me["profession"], "physician");
    assert_eq!(me["assurance"], "eidas1/CARD");
    let read = with_cookie(&gateway, &physician, &dlu, &[]);
    assert_eq!(read.status, 200, "{}", read.text());
    assert!(read.text().contains("ClinicalDocument"));

    // A physician in nobody's care circle: refused, and told how an emergency goes.
    let outsider = login(&gateway, OUTSIDE_PHYSICIAN);
    let refused = with_cookie(&gateway, &outsider, &dlu, &[]);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(
        refused.text().contains("outside-care-team"),
        "{}",
        refused.text()
    );
    assert!(
        refused.text().contains("Crt-Break-Glass") || refused.text().contains("crt-break-glass")
    );
    // An emergency access needs its reason.
    let no_reason = with_cookie(&gateway, &outsider, &dlu, &[("Crt-Break-Glass", " ")]);
    assert_eq!(no_reason.status, 400, "{}", no_reason.text());
    let reason = "Appel%20du%20SAMU%20%3A%20chute%20%C3%A0%20domicile";
    let emergency = with_cookie(&gateway, &outsider, &dlu, &[("Crt-Break-Glass", reason)]);
    assert_eq!(emergency.status, 200, "{}", emergency.text());

    // The CRT's physician reviews the emergency accesses; others may not.
    let review = with_cookie(
        &gateway,
        &physician,
        "/v1/reports/emergency-accesses?crt=720004563",
        &[],
    );
    assert_eq!(review.status, 200, "{}", review.text());
    let accesses = review.json()["accesses"].as_array().unwrap().clone();
    assert_eq!(accesses.len(), 1, "{accesses:?}");
    assert_eq!(accesses[0]["reason"], "Appel du SAMU : chute à domicile");
    assert!(
        accesses[0]["actor"]
            .as_str()
            .unwrap()
            .contains(&format!("physician {OUTSIDE_PHYSICIAN} (psc eidas1/CARD)")),
        "{accesses:?}"
    );
    let system = gateway.request(
        "GET",
        "/v1/reports/emergency-accesses?crt=720004563",
        &[],
        b"",
    );
    assert_eq!(system.status, 403);

    // Logged out: the cookie no longer opens anything.
    let out = try_request(
        gateway.addr,
        "POST",
        "/ui/logout",
        &[("Cookie", &physician)],
        b"",
    )
    .expect("logout");
    assert_eq!(out.status, 204);
    assert_eq!(with_cookie(&gateway, &physician, "/v1/me", &[]).status, 401);
}

#[test]
fn systems_act_as_themselves_unless_declared_delegating_and_a_dui_may_present_psc_tokens() {
    let data = tempfile::tempdir().expect("temp dir");
    let digest = |token: &str| crt_gateway::security::auth::token_digest(token);
    let tokens = format!(
        r#"[{{name = "batch", sha256 = "{}", actor = "automate"}}, {{name = "dui-tilleuls", sha256 = "{}", actor = "automate", delegates_for = ["720004563"]}}]"#,
        digest("batch-token"),
        digest("dui-token"),
    );
    let gateway = Gateway::start(
        data.path(),
        &[
            ("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false"),
            ("CRT_GATEWAY_SERVER__AUTH__TOKENS", &tokens),
        ],
    );
    let dlu = dlu_path(&gateway);
    let physician = [
        ("Crt-Actor-Id", "810002345675"),
        ("Crt-Actor-Profession", "physician"),
    ];
    let nurse = [
        ("Crt-Actor-Id", "810003456786"),
        ("Crt-Actor-Profession", "nurse"),
        ("Crt-Actor-Role", "nurse_coordinator"),
    ];

    // A system token naming a physician: refused, it acts as the system only.
    let mut headers = vec![("Authorization", "Bearer batch-token")];
    headers.extend_from_slice(&physician);
    let refused = gateway.request("GET", &dlu, &headers, b"");
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains("delegates_for"),
        "{}",
        refused.text()
    );
    // The DUI that authenticates its users names a care-team nurse: allowed by profile.
    let mut headers = vec![("Authorization", "Bearer dui-token")];
    headers.extend_from_slice(&nurse);
    let read = gateway.request("GET", &dlu, &headers, b"");
    assert_eq!(read.status, 200, "{}", read.text());

    // A DUI that logs its users in with PSC presents their access token.
    let token = dui_psc_token(&gateway, "810003456786");
    let bearer = format!("Bearer {token}");
    let read = gateway.request("GET", &dlu, &[("Authorization", &bearer)], b"");
    assert_eq!(read.status, 200, "{}", read.text());
    // Naming someone else beside it is refused; a token altered in transit is not believed.
    let mut headers = vec![("Authorization", bearer.as_str())];
    headers.extend_from_slice(&physician);
    assert_eq!(gateway.request("GET", &dlu, &headers, b"").status, 400);
    let forged = format!("Bearer {}AAAA", &token[..token.len() - 4]);
    let refused = gateway.request("GET", "/v1/me", &[("Authorization", &forged)], b"");
    assert_eq!(refused.status, 401, "{}", refused.text());
    assert!(refused.text().contains("signature"), "{}", refused.text());
}

/// An access token of the sandbox's DUI client at PSC for `who`, got as that DUI would:
/// authorization code with PKCE, then the token endpoint.
fn dui_psc_token(gateway: &Gateway, who: &str) -> String {
    let start = try_request(gateway.addr, "GET", "/ui/login", &[], b"").expect("login");
    let gateway_authorize = start.header("location").expect("PSC").to_string();
    let endpoint = gateway_authorize.split('?').next().unwrap().to_string();
    let verifier = "a-dui-verifier-of-more-than-forty-three-characters-0123456789";
    let challenge = crt_psc::provider::pkce_challenge(verifier);
    let redirect = "http://127.0.0.1:9/dui/callback";
    let url = format!(
        "{endpoint}?{}",
        crt_core::oauth::form(&[
            ("response_type", "code"),
            ("client_id", "dui-sandbox"),
            ("redirect_uri", redirect),
            ("scope", "openid scope_all"),
            ("acr_values", "eidas1"),
            ("state", "dui-state"),
            ("nonce", "dui-nonce"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", who),
        ])
    );
    let client = https();
    let answer = block_on(client.send(http::Method::GET, &url, &[], Bytes::new())).expect("PSC");
    let code = query_of(&answer.location.expect("a code"))["code"].clone();
    let token_url = endpoint.replace(
        "/wallet/auth",
        "/auth/realms/esante-wallet/protocol/openid-connect/token",
    );
    let body = crt_core::oauth::form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", redirect),
        ("client_id", "dui-sandbox"),
        ("client_secret", "dui-sandbox-secret"),
        ("code_verifier", verifier),
    ]);
    let answer = block_on(client.post(
        &token_url,
        &[("content-type", "application/x-www-form-urlencoded")],
        Bytes::from(body),
    ))
    .expect("tokens");
    let tokens: Value = serde_json::from_slice(&answer.body).expect("JSON");
    tokens["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

#[test]
fn the_care_circle_is_checked_with_the_directory_which_fills_a_missing_mailbox() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false")],
    );
    // The nurse of the care circle comes without a mailbox; one member is a stranger to
    // the directory.
    let mut record: Value =
        serde_json::from_slice(&example("home-volet2-pays-de-la-loire.json")).unwrap();
    let circle = record["care_circle"].as_array_mut().unwrap();
    let nurse = circle
        .iter_mut()
        .find(|m| m["rpps"] == "10004567896")
        .expect("the nurse");
    nurse.as_object_mut().unwrap().remove("mssante_address");
    circle.push(serde_json::json!({
        "id": "pro-stranger", "rpps": "10009999995", "family_name": "Inconnu",
        "given_name": "Jean", "profession": "physiotherapist", "role": "therapist"
    }));
    let response = gateway.post_record(&serde_json::to_vec(&record).unwrap(), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(60));

    let check = delivery_to(&view, "directory");
    assert_eq!(check["state"], "delivered", "{check}");
    let report: Vec<Value> =
        serde_json::from_slice(&gateway.artifact(&check, "care-circle-check.json").body)
            .expect("the check's report");
    let status_of = |member: &str| {
        report
            .iter()
            .find(|m| m["member"] == member)
            .map(|m| m["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        status_of("pro-idel").as_deref(),
        Some("known"),
        "{report:?}"
    );
    assert_eq!(
        status_of("pro-stranger").as_deref(),
        Some("unknown"),
        "{report:?}"
    );

    // The message reached the nurse at the mailbox the directory gave.
    let message = delivery_to(&view, "mssante");
    assert_eq!(message["state"], "delivered", "{message}");
    let accepted = message["receipt"]["details"]["accepted"].to_string();
    assert!(
        accepted.contains("julien.roux@infirmier.mssante.fr"),
        "{accepted}"
    );
}

#[test]
fn an_operator_looks_a_professional_up_in_the_directory() {
    let (code, text) = crate::support::cli(&["directory", "lookup", "10004567896"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("julien.roux@infirmier.mssante.fr (PER)"),
        "{text}"
    );
    let (code, text) = crate::support::cli(&["directory", "lookup", "10009999995"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("not listed"), "{text}");
}

#[test]
fn a_care_team_nurse_reads_the_dlu_from_the_dmp_and_an_emergency_says_so_in_the_vihf() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(data.path(), &[]);
    // The DMP holds the beneficiary's DLU.
    let dlu = dlu_path(&gateway);
    let sent = gateway.request("GET", &dlu, &crate::support::CRT_PHYSICIAN, b"");
    assert_eq!(sent.status, 200, "{}", sent.text());
    let search = "/v1/beneficiaries/720004563/IPP-000417/dmp";

    // A nurse of the care team, logged in through PSC, searches and reads it.
    let bearer = format!("Bearer {}", dui_psc_token(&gateway, "810003456786"));
    let listed = gateway.request("GET", search, &[("Authorization", &bearer)], b"");
    assert_eq!(listed.status, 200, "{}", listed.text());
    let listed = listed.json();
    assert_eq!(listed["mode"], "normal");
    let documents = listed["documents"].as_array().expect("documents");
    let dlu_entry = documents
        .iter()
        .find(|d| d["type_code"] == "74207-2" || d["type_code"] == "34133-9")
        .unwrap_or(&documents[0]);
    let unique_id = dlu_entry["unique_id"].as_str().expect("unique id");
    let read = gateway.request(
        "GET",
        &format!("{search}/{unique_id}"),
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(read.status, 200, "{}", read.text());
    assert!(read.text().contains("ClinicalDocument"));

    // The same from the command line, with the nurse's token.
    let url = format!("http://{}", gateway.addr);
    let token = bearer.trim_start_matches("Bearer ");
    let env = [
        ("CRT_GATEWAY_URL", url.as_str()),
        ("CRT_GATEWAY_TOKEN", token),
    ];
    let who = ["--crt", "720004563", "--beneficiary", "IPP-000417"];
    let (code, text) = crate::support::cli_with(&[&["dmp", "search"][..], &who].concat(), &env);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("access normal") && text.contains(unique_id),
        "{text}"
    );
    let out = data.path().join("from-dmp.xml");
    let out_arg = out.to_str().expect("path");
    let (code, text) = crate::support::cli_with(
        &[&["dmp", "get"][..], &who, &[unique_id, "-o", out_arg]].concat(),
        &env,
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(std::fs::read(&out).expect("written"), read.body);

    // A system naming the same nurse: the DMP does not open documents on its word alone.
    let mut headers = vec![
        ("Crt-Actor-Id", "810003456786"),
        ("Crt-Actor-Profession", "nurse"),
    ];
    let path = format!("{search}/{unique_id}");
    let refused = gateway.request("GET", &path, &headers, b"");
    assert_eq!(refused.status, 502, "{}", refused.text());
    assert!(
        refused
            .text()
            .contains("sim_consultation_needs_reinforced_authentication"),
        "{}",
        refused.text()
    );

    // A physician outside the care team, in an emergency: the VIHF says bris de glace.
    let outsider = format!("Bearer {}", dui_psc_token(&gateway, OUTSIDE_PHYSICIAN));
    headers = vec![
        ("Authorization", outsider.as_str()),
        ("Crt-Break-Glass", "malaise au domicile, appel du SAMU"),
    ];
    let emergency = gateway.request("GET", search, &headers, b"");
    assert_eq!(emergency.status, 200, "{}", emergency.text());
    assert_eq!(emergency.json()["mode"], "break_glass");
    let without = gateway.request("GET", search, &[("Authorization", &outsider)], b"");
    assert_eq!(without.status, 403, "{}", without.text());

    // The same physician regulating at the SAMU: the VIHF says centre 15.
    headers.push(("Crt-Emergency-Mode", "centre_15"));
    let regulation = gateway.request("GET", search, &headers, b"");
    assert_eq!(regulation.status, 200, "{}", regulation.text());
    assert_eq!(regulation.json()["mode"], "regulation");
    // A regulation centre's access is a physician's.
    let nurse = [
        ("Crt-Actor-Id", "810009876545"),
        ("Crt-Actor-Profession", "nurse"),
        ("Crt-Break-Glass", "appel"),
        ("Crt-Emergency-Mode", "centre_15"),
    ];
    let refused = gateway.request("GET", search, &nurse, b"");
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.text().contains("regulation-needs-a-physician"));

    // Both emergencies are in the trace, each with its mode, for the CRT's physicians.
    let review = gateway.request(
        "GET",
        "/v1/reports/emergency-accesses?crt=720004563",
        &crate::support::CRT_PHYSICIAN,
        b"",
    );
    assert_eq!(review.status, 200, "{}", review.text());
    let modes: Vec<String> = review.json()["accesses"]
        .as_array()
        .expect("accesses")
        .iter()
        .filter(|a| a["object"].as_str().is_some_and(|o| o.contains("/dmp")))
        .map(|a| a["mode"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(modes, ["bris_de_glace", "centre_15"], "{}", review.text());
}
