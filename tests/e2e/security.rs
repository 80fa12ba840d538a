//! Who may call the API, through the binary: anonymous calls and unknown tokens are
//! refused, every request names its professional, the access policy refuses the DLU to a
//! profile without the right to it and says which rule, and over HTTPS the gateway
//! refuses client certificates from another CA, expired or revoked.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use crate::support::{CRT_PHYSICIAN, Gateway, dlu_delivery, example, free_port, repo, spawn};

const CARE_ASSISTANT: [(&str, &str); 2] = [
    ("Crt-Actor-Id", "810006789019"),
    ("Crt-Actor-Profession", "care_assistant"),
];

#[test]
fn callers_are_authenticated_and_each_access_follows_the_policy() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false")],
    );

    // Anonymous: refused, except the health probes.
    let response = gateway.anonymous_request("GET", "/v1/deliveries");
    assert_eq!(response.status, 401, "{}", response.text());
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    assert_eq!(gateway.anonymous_request("GET", "/healthz").status, 200);
    assert_eq!(gateway.anonymous_request("GET", "/readyz").status, 200);
    // An unknown token.
    let response = gateway.request(
        "GET",
        "/v1/deliveries",
        &[("Authorization", "Bearer not-a-token")],
        b"",
    );
    assert_eq!(response.status, 401);
    // A professional named wrongly.
    let response = gateway.request(
        "GET",
        "/v1/deliveries",
        &[("Crt-Actor-Id", "42"), ("Crt-Actor-Profession", "nurse")],
        b"",
    );
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(response.text().contains("idNat_PS"), "{}", response.text());

    // The DUI's system submits; the DLU goes to the DMP.
    let response = gateway.post_record(&example("home-volet2-pays-de-la-loire.json"), None);
    assert_eq!(response.status, 202, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(30));
    let dmp = dlu_delivery(&view);
    let dlu = format!(
        "/v1/deliveries/{}/artifacts/dlu.xml",
        dmp["id"].as_str().unwrap()
    );

    // The medical content: not for the system, not for a care assistant; the refusal
    // names what no rule allows.
    let response = gateway.request("GET", &dlu, &[], b"");
    assert_eq!(response.status, 403, "{}", response.text());
    let response = gateway.request("GET", &dlu, &CARE_ASSISTANT, b"");
    assert_eq!(response.status, 403, "{}", response.text());
    let refusal: Value = response.json();
    assert!(
        refusal["detail"]
            .as_str()
            .unwrap()
            .contains("care_assistant 810006789019 read dlu"),
        "{refusal}"
    );
    // A physician reads it.
    let response = gateway.request("GET", &dlu, &CRT_PHYSICIAN, b"");
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.text().contains("ClinicalDocument"));
    // The coordination content is for the care assistant too.
    let response = gateway.request("GET", &format!("/v1/records/{id}"), &CARE_ASSISTANT, b"");
    assert_eq!(response.status, 200, "{}", response.text());
}

fn https_client(certificate: Option<(&str, &str)>) -> crt_core::http::HttpsClient {
    crt_core::tls::install_default_provider();
    let pki = repo().join("certs-example");
    let identity = certificate.map(|(cert, key)| crt_core::tls::IdentityFiles {
        certificate: pki.join(cert),
        key: pki.join(key),
    });
    let tls = crt_core::tls::client_config_for(
        &crt_core::tls::Policy::standard(),
        &pki.join("ca/chain.pem"),
        None,
        identity.as_ref(),
    )
    .expect("TLS");
    crt_core::http::HttpsClient::new(tls, Duration::from_secs(5), 1 << 20)
}

fn get(
    client: &crt_core::http::HttpsClient,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<u16, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(client.send(http::Method::GET, url, headers, Bytes::new()))
        .map(|answer| answer.status.as_u16())
        .map_err(|e| e.to_string())
}

#[test]
fn over_https_only_valid_igc_sante_certificates_get_in() {
    let data = tempfile::tempdir().expect("temp dir");
    let pki = repo().join("certs-example");
    let path = |p: &str| pki.join(p).to_str().unwrap().to_string();
    let env: Vec<(String, String)> = [
        (
            "CRT_GATEWAY_SERVER__TLS__CERTIFICATE",
            path("server/localhost.pem"),
        ),
        (
            "CRT_GATEWAY_SERVER__TLS__KEY",
            path("server/localhost.key.pem"),
        ),
        (
            "CRT_GATEWAY_SERVER__TLS__CLIENT_TRUST",
            path("ca/chain.pem"),
        ),
        (
            "CRT_GATEWAY_SERVER__TLS__CRL",
            path("ca/organisations.crl.pem"),
        ),
        ("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false".into()),
        // The Tilleuls' DUI authenticates its own users: its certificate may name them.
        (
            "CRT_GATEWAY_SERVER__AUTH__DELEGATING_CERTIFICATES",
            r#"["1720004563"]"#.into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let addr = free_port();
    let mut child = spawn(addr, data.path(), &env);
    let base = format!("https://localhost:{}", addr.port());
    let valid = https_client(Some(("crt/auth.pem", "crt/auth.key.pem")));
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(&valid, &format!("{base}/healthz"), &[]).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(data.path().join("gateway.log")).unwrap_or_default();
            panic!("gateway exited with {status}: {log}");
        }
        assert!(
            Instant::now() < deadline,
            "the HTTPS gateway never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The structure's certificate, naming the professional (a delegating structure): in.
    let deliveries = format!("{base}/v1/deliveries");
    assert_eq!(get(&valid, &deliveries, &CRT_PHYSICIAN), Ok(200));
    // The certificate alone acts as its structure's system.
    assert_eq!(get(&valid, &deliveries, &[]), Ok(200));
    // No certificate, another CA, expired, revoked: the handshake is refused.
    for (label, client) in [
        ("no certificate", https_client(None)),
        (
            "another CA",
            https_client(Some((
                "invalid/other-client.pem",
                "invalid/other-client.key.pem",
            ))),
        ),
        (
            "expired",
            https_client(Some(("invalid/expired.pem", "invalid/expired.key.pem"))),
        ),
        (
            "revoked",
            https_client(Some(("invalid/revoked.pem", "invalid/revoked.key.pem"))),
        ),
    ] {
        let outcome = get(&client, &deliveries, &CRT_PHYSICIAN);
        assert!(outcome.is_err(), "{label}: {outcome:?}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
