//! Starting gateway processes and talking HTTP/1.1 to them over plain sockets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn example(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("schemas/examples").join(name)).expect("example record")
}

/// Every national service off: the journal is the only target, so that every delivery is
/// one the test controls and counts.
pub const JOURNAL_ONLY: [(&str, &str); 8] = [
    ("CRT_GATEWAY_SINKS__DIRECTORY__ENABLED", "false"),
    ("CRT_GATEWAY_SINKS__INS__ENABLED", "false"),
    ("CRT_GATEWAY_SINKS__DMP__ENABLED", "false"),
    ("CRT_GATEWAY_SINKS__MSSANTE__ENABLED", "false"),
    ("CRT_GATEWAY_SINKS__VIATRAJECTOIRE__ENABLED", "false"),
    ("CRT_GATEWAY_REGIONS__PARCOURS__ENABLED", "false"),
    ("CRT_GATEWAY_REGIONS__SPICO__ENABLED", "false"),
    ("CRT_GATEWAY_REGIONS__EPARCOURS__ENABLED", "false"),
];

/// A gateway process and its data directory.
/// The CRT's physician of the example records, as the actor headers name them.
pub const CRT_PHYSICIAN: [(&str, &str); 3] = [
    ("Crt-Actor-Id", "810002345675"),
    ("Crt-Actor-Profession", "physician"),
    ("Crt-Actor-Role", "crt_physician"),
];

pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    env: Vec<(String, String)>,
}

impl Gateway {
    /// Starts a gateway on a fresh data directory with extra `CRT_GATEWAY_*` settings.
    pub fn start(data: &Path, env: &[(&str, &str)]) -> Gateway {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // A free port can be taken by another test between the probe and the bind: then
        // the gateway exits at once and starts again on another port.
        for _ in 0..5 {
            let addr = free_port();
            let child = spawn(addr, data, &env);
            let mut gateway = Gateway {
                child,
                addr,
                data: data.to_path_buf(),
                env: env.clone(),
            };
            match gateway.try_wait_healthy() {
                Ok(()) => return gateway,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("gateway exited before answering:\n{log}"),
            }
        }
        panic!("no free port for the gateway after 5 tries");
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (at most `within`) for the process to exit; its exit status.
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM sent");
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(self.addr, &self.data, &self.env);
        self.wait_healthy();
    }

    fn wait_healthy(&mut self) {
        if let Err(log) = self.try_wait_healthy() {
            panic!("gateway exited before answering:\n{log}");
        }
    }

    /// Waits for `/healthz`; the log when the process ended first.
    fn try_wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.data.join("gateway.log")).unwrap_or_default();
                return Err(format!("{status}: {log}"));
            }
            if let Ok(response) = try_request(self.addr, "GET", "/healthz", &[], b"")
                && response.status == 200
                && matches!(self.child.try_wait(), Ok(None))
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("gateway on {} did not become healthy", self.addr);
    }

    /// The sandbox's API token, which the gateway wrote in its data directory.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.data.join("sandbox-api-token"))
            .expect("the sandbox API token")
            .trim()
            .to_string()
    }

    /// A request with the sandbox's token, unless `headers` bring their own credentials.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let bearer = format!("Bearer {}", self.token());
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        {
            all.push(("Authorization", &bearer));
        }
        try_request(self.addr, method, path, &all, body).expect("HTTP exchange")
    }

    /// A request without credentials.
    pub fn anonymous_request(&self, method: &str, path: &str) -> Response {
        try_request(self.addr, method, path, &[], b"").expect("HTTP exchange")
    }

    /// Runs the binary with the sandbox's token, for commands that call this gateway.
    pub fn cli(&self, args: &[&str]) -> (Option<i32>, String) {
        let token = self.token();
        cli_with(args, &[("CRT_GATEWAY_TOKEN", token.as_str())])
    }

    pub fn post_record(&self, body: &[u8], key: Option<&str>) -> Response {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(key) = key {
            headers.push(("Idempotency-Key", key));
        }
        self.request("POST", "/v1/records", &headers, body)
    }

    pub fn get_json(&self, path: &str) -> Value {
        let response = self.request("GET", path, &[], b"");
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        response.json()
    }

    /// An artifact a delivery kept (`GET /v1/deliveries/{id}/artifacts/{name}`), read by
    /// the CRT's physician: artifacts hold health documents, which the default access
    /// policy keeps from systems.
    pub fn artifact(&self, delivery: &Value, name: &str) -> Response {
        let id = delivery["id"].as_str().expect("delivery id");
        self.request(
            "GET",
            &format!("/v1/deliveries/{id}/artifacts/{name}"),
            &CRT_PHYSICIAN,
            b"",
        )
    }

    /// Waits until every delivery of the record has settled (or waits on a dead one, which
    /// only an operator's replay releases); returns the record view.
    pub fn wait_settled(&self, record: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let view = self.get_json(&format!("/v1/records/{record}"));
            let settled = view["deliveries"]
                .as_array()
                .expect("deliveries")
                .iter()
                .all(|d| match d["state"].as_str() {
                    Some("delivered" | "declined" | "held" | "dead") => true,
                    Some("waiting") => d["waiting_for"]
                        .as_array()
                        .is_some_and(|up| up.iter().all(|u| u["state"] == "dead")),
                    _ => false,
                });
            if settled {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "record {record} did not settle: {view}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn spawn(addr: SocketAddr, data: &Path, env: &[(String, String)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crt-gateway"));
    command
        .args(["serve", "--listen", &addr.to_string(), "--data"])
        .arg(data)
        // A directory without gateway.toml, so that only what the test sets applies.
        .current_dir(data)
        .env(
            "CRT_GATEWAY_SANDBOX__CERTS_DIR",
            repo().join("certs-example"),
        )
        .env("CRT_GATEWAY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    // Logs go to a file in the data directory, for the log-content checks and for
    // reading after a failure.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.join("gateway.log"))
        .expect("log file");
    command.stderr(log);
    command.spawn().expect("start crt-gateway")
}

pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A gateway whose journal target fails: its directory is a file, so every journal
/// delivery ends dead after `max_attempts`. [`Gateway`] and the path to fix with
/// [`fix_journal`].
pub fn gateway_with_failing_journal(data: &Path, max_attempts: &str) -> (Gateway, PathBuf) {
    let journal = data.join("journal-target");
    let journal_dir = journal.to_string_lossy().to_string();
    let gateway = Gateway::start(
        data,
        &[
            ("CRT_GATEWAY_SINKS__JOURNAL__DIRECTORY", &journal_dir),
            (
                "CRT_GATEWAY_SINKS__JOURNAL__RETRY__MAX_ATTEMPTS",
                max_attempts,
            ),
            ("CRT_GATEWAY_SINKS__JOURNAL__RETRY__INITIAL_BACKOFF", "50"),
            ("CRT_GATEWAY_SINKS__JOURNAL__RETRY__MAX_BACKOFF", "100"),
        ],
    );
    std::fs::remove_dir_all(&journal).expect("the journal directory");
    std::fs::write(&journal, b"not a directory").expect("break the journal target");
    (gateway, journal)
}

/// Makes the journal target of [`gateway_with_failing_journal`] work again.
pub fn fix_journal(journal: &Path) {
    std::fs::remove_file(journal).expect("the broken target");
    std::fs::create_dir_all(journal).expect("the journal directory");
}

/// One request on its own connection (`Connection: close`), read to the end.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    // A server may answer (413) before reading a large body and close: that is fine.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| std::io::Error::other("unparsable HTTP response"))
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// The (first) delivery to `target` in a record view.
pub fn delivery_to(view: &Value, target: &str) -> Value {
    view["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["target"] == target)
        .cloned()
        .unwrap_or_else(|| panic!("no {target} delivery in {view}"))
}

/// The targets of the deliveries in a record view or an intake answer, in order.
pub fn targets(view: &Value) -> Vec<String> {
    view["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["target"].as_str().expect("target").to_string())
        .collect()
}

/// The delivery that sent the record's DLU to the DMP.
pub fn dlu_delivery(view: &Value) -> Value {
    view["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["target"] == "dmp" && d["work"].to_string().contains("dlu"))
        .cloned()
        .unwrap_or_else(|| delivery_to(view, "dmp"))
}

/// Runs the binary with `args` from the repository root: exit code, stdout then stderr.
pub fn cli(args: &[&str]) -> (Option<i32>, String) {
    cli_with(args, &[])
}

/// Runs the binary with extra environment variables (a data directory, for instance).
pub fn cli_with(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crt-gateway"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(crate::support::repo())
        .output()
        .expect("the command runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.code(), text)
}

/// The whole access trace of a stopped gateway's data directory, as `audit export` writes
/// it (JSON Lines).
pub fn exported_trace(data: &Path) -> String {
    let export = data.join("trace.jsonl");
    let (code, text) = cli_with(
        &[
            "audit",
            "export",
            "--from",
            "2020-01-01",
            "-o",
            export.to_str().expect("UTF-8 path"),
        ],
        &[(
            "CRT_GATEWAY_STORAGE__DATA_DIR",
            data.to_str().expect("UTF-8 path"),
        )],
    );
    assert_eq!(code, Some(0), "{text}");
    std::fs::read_to_string(&export).expect("the exported trace")
}

/// Runs the guides' profile checker (`tests/fhir/check_profile.py`, written apart from the
/// gateway) on `files` with the StructureDefinitions of `schemas/<guide>/structure-definitions`;
/// asserts that it passes and returns what it printed.
pub fn check_profiles(guide: &str, files: &[PathBuf]) -> String {
    let output = Command::new("python3")
        .arg(repo().join("tests/fhir/check_profile.py"))
        .arg("--sd-dir")
        .arg(
            repo()
                .join("schemas")
                .join(guide)
                .join("structure-definitions"),
        )
        .args(files)
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    text
}
