//! `/ui/` in a real headless browser (Debian's chromium, driven by chromedriver over the
//! WebDriver protocol): an operator uploads files and reads the verdict from the page, then
//! replays a dead delivery; professionals log in with the sandbox's Pro Santé Connect and
//! read a DLU, or are refused it outside the beneficiary's care team.
//!
//! Runs when chromedriver is found (`CRT_CHROMEDRIVER`, or `/usr/bin/chromedriver`, which
//! `.ci/run` installs); on CI its absence is a failure, elsewhere the test says it skipped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{example, fix_journal, free_port, gateway_with_failing_journal, try_request};

/// One WebDriver call: chromedriver keeps connections open whatever the request says, so
/// the answer is read by its Content-Length. Returns (status, JSON body).
fn webdriver(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, Value)> {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("status line {line:?}")))?;
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

impl Browser {
    pub fn start() -> Option<Browser> {
        let driver = std::env::var_os("CRT_CHROMEDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
        if !driver.is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromedriver is missing: .ci/run installs chromium and chromium-driver"
            );
            eprintln!("chromedriver not found: the browser test is skipped");
            return None;
        }
        let addr = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={}", addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser = Browser {
            driver: child,
            addr,
            session: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while webdriver(addr, "GET", "/status", b"").is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        let binary = std::env::var("CRT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let session = browser.command(
            "POST",
            "/session",
            json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": binary,
                    // The sandbox's Pro Santé Connect presents a certificate of the test PKI.
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1800", "--ignore-certificate-errors"]
                }
            }}}),
        );
        browser.session = session["sessionId"]
            .as_str()
            .expect("a session")
            .to_string();
        Some(browser)
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (status, value) =
            webdriver(self.addr, method, path, body.as_bytes()).expect("WebDriver exchange");
        assert_eq!(status, 200, "{method} {path}: {value}");
        value["value"].clone()
    }

    fn session(&self, method: &str, path: &str, body: Value) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn open(&self, url: &str) {
        self.session("POST", "/url", json!({ "url": url }));
    }

    fn find(&self, css: &str) -> String {
        let found = self.session(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.session(
            "POST",
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.session("POST", &format!("/element/{element}/click"), json!({}));
    }

    /// How many elements `css` selects.
    pub fn count(&self, css: &str) -> usize {
        self.session(
            "POST",
            "/elements",
            json!({ "using": "css selector", "value": css }),
        )
        .as_array()
        .map_or(0, Vec::len)
    }

    /// A PNG of the page as shown.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let encoded = self.session("GET", "/screenshot", Value::Null);
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("a screenshot"))
            .expect("base64")
    }

    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.session("GET", &format!("/element/{element}/text"), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The text of `css` once `ready` accepts it.
    fn wait_text(&self, css: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text(css);
            if ready(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "{css}: still {text:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Uploads `file` through the page and returns the verdict it shows.
    fn validate(&self, file: &Path) -> String {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        self.type_into("#file", &file.display().to_string());
        self.click("#validate");
        self.wait_text("#kind", |text| text.starts_with(&name));
        self.text("#verdict")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = webdriver(
                self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                b"",
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn an_operator_validates_files_and_replays_a_dead_delivery_in_the_browser() {
    let data = tempfile::tempdir().expect("temp dir");
    let (gateway, journal) = gateway_with_failing_journal(data.path(), "1");
    // The page and its files come with a policy that lets only themselves run.
    let page = try_request(gateway.addr, "GET", "/ui/", &[], b"").expect("the page");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("script-src 'self'"))
    );
    let Some(browser) = Browser::start() else {
        return;
    };

    // A dead delivery: the journal's target fails.
    let id = gateway
        .post_record(&example("exit-normandie.json"), None)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(20));
    assert_eq!(view["deliveries"][0]["state"], "dead", "{view}");

    browser.open(&format!("http://{}/ui/", gateway.addr));
    let token = std::fs::read_to_string(data.path().join("sandbox-operator-token")).unwrap();
    browser.type_into("#token", token.trim());
    browser.click("#token-use");
    browser.wait_text("#token-state", |t| t.contains("Token set"));

    // A CDA document with defects: the verdict and the violations on the page.
    let files = tempfile::tempdir().expect("temp dir");
    let broken = files.path().join("broken-dlu.xml");
    std::fs::write(
        &broken,
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><realmCode code=\"US\"/></ClinicalDocument>",
    )
    .unwrap();
    assert_eq!(browser.validate(&broken), "Invalid");
    let violations = browser.text("#violations");
    assert!(violations.contains("realmCode"), "{violations}");
    // A valid record.
    let record = crate::support::repo()
        .join("schemas/examples/exit-normandie.json")
        .canonicalize()
        .expect("the example");
    assert_eq!(browser.validate(&record), "Valid");
    assert!(browser.text("#kind").contains("CRT record"));

    // The dead delivery, replayed once the target is fixed.
    fix_journal(&journal);
    browser.click("#show");
    browser.wait_text("#deliveries-state", |t| t.starts_with("1 dead"));
    assert!(browser.text("#deliveries").contains("journal"));
    browser.click("#deliveries .replay");
    browser.wait_text("#deliveries tbody tr", |t| t.contains("Replayed"));
    let view = gateway.wait_settled(&id, Duration::from_secs(20));
    assert_eq!(view["deliveries"][0]["state"], "delivered", "{view}");
}

#[test]
fn a_professional_logs_in_with_pro_sante_connect_and_reads_a_dlu_of_their_care_team() {
    let data = tempfile::tempdir().expect("temp dir");
    let gateway = crate::support::Gateway::start(
        data.path(),
        &[("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false")],
    );
    let Some(browser) = Browser::start() else {
        return;
    };
    let id = gateway
        .post_record(&example("home-volet2-pays-de-la-loire.json"), None)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let view = gateway.wait_settled(&id, Duration::from_secs(60));
    let dlu = crate::support::dlu_delivery(&view)["id"]
        .as_str()
        .unwrap()
        .to_string();

    let read_as = |who: &str| {
        browser.open(&format!("http://{}/ui/", gateway.addr));
        browser.click("#psc-login");
        // The wallet of the sandbox's PSC: the professional chosen.
        browser.click(&format!("#psc-{who}"));
        browser.wait_text("#who", |t| t.contains(who));
        assert!(
            browser
                .text("#who")
                .contains("Pro Santé Connect, eidas1/CARD")
        );
        browser.type_into("#document-delivery", &dlu);
        browser.click("#document-read");
    };
    // The CRT's physician, in the beneficiary's care team, reads the DLU.
    read_as("810002345675");
    let shown = browser.wait_text("#document", |t| !t.is_empty());
    assert!(shown.contains("ClinicalDocument"), "{shown}");
    // Then the beneficiary's DMP, and the DLU in it displayed by its sections.
    browser.type_into("#beneficiary-crt", "720004563");
    browser.type_into("#beneficiary-id", "IPP-000417");
    browser.click("#beneficiary-show");
    browser.wait_text("#dmp-mode", |t| t.contains("normal"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.count("#dmp-documents .dmp-read") == 0 {
        assert!(Instant::now() < deadline, "{}", browser.text("#dmp-error"));
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.click("#dmp-documents .dmp-read");
    let displayed = browser.wait_text("#cda", |t| !t.is_empty());
    assert!(displayed.contains("Patient:"), "{displayed}");
    assert!(browser.count("#cda section") > 0, "{displayed}");
    // An alert from the téléassistance centre: the physician on call takes it.
    let alert =
        std::fs::read(crate::support::repo().join("schemas/examples/alerts/fall-at-night.json"))
            .expect("example alert");
    let raised = gateway.request(
        "POST",
        "/v1/alerts",
        &[("Content-Type", "application/json")],
        &alert,
    );
    assert_eq!(raised.status, 202, "{}", raised.text());
    browser.type_into("#alerts-crt", "720004563");
    browser.click("#alerts-show");
    browser.wait_text("#alerts-state", |t| t.starts_with("1 open"));
    browser.click("#alerts .take");
    let taken = browser.wait_text("#alerts .taken-by", |t| !t.is_empty());
    assert_eq!(taken, "810002345675");
    // The beneficiary's week: the CRT's home visit and the home nurse's care.
    browser.type_into("#planning-crt", "720004563");
    browser.type_into("#planning-who", "IPP-000417");
    browser.type_into("#planning-from", "2026-03-04");
    browser.click("#planning-show");
    let week = browser.wait_text("#planning-state", |t| !t.is_empty());
    assert_eq!(week, "2 visits, week of 2026-03-02");
    assert_eq!(browser.count("#planning-week .visit"), 2);
    assert!(browser.text("#planning-week").contains("Soins infirmiers"));
    browser.click("#logout");
    browser.wait_text("#who", |t| t.contains("Not logged in"));
    // A physician in no one's care circle is refused, and told why.
    read_as("810009876544");
    let refused = browser.wait_text("#document-error", |t| !t.is_empty());
    assert!(refused.contains("care team"), "{refused}");
}
