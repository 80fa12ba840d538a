//! Faults of the gateway's own ground: a backlog over its limit (429 with Retry-After),
//! the database gone (PostgreSQL stopped) and the disk full (SQLite on a full file
//! system). In each, intake answers without acknowledging anything it did not store, and
//! what it acknowledged stays.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Gateway, JOURNAL_ONLY, example, free_port, repo};

fn record(n: usize) -> Vec<u8> {
    let mut record: Value = serde_json::from_slice(&example("exit-normandie.json")).unwrap();
    record["source"]["record_ref"] = Value::from(format!("fault-{n}"));
    serde_json::to_vec(&record).unwrap()
}

#[test]
fn a_backlog_over_its_limit_gets_429_with_retry_after_and_nothing_is_stored() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut env = JOURNAL_ONLY.to_vec();
    env.extend([
        ("CRT_GATEWAY_SERVER__MAX_BACKLOG", "5"),
        // A target that takes its time: deliveries pile up.
        ("CRT_GATEWAY_SINKS__JOURNAL__DELAY_MS", "60000"),
        ("CRT_GATEWAY_SINKS__JOURNAL__RETRY__TIMEOUT", "90000"),
        ("CRT_GATEWAY_ENGINE__WORKERS", "1"),
    ]);
    let gateway = Gateway::start(data.path(), &env);
    let mut accepted = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let response = gateway.post_record(&record(accepted), None);
        match response.status {
            202 => accepted += 1,
            429 => break response,
            other => panic!("{other}: {}", response.text()),
        }
        assert!(
            Instant::now() < deadline,
            "never refused: {accepted} accepted"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        accepted > 5,
        "{accepted} accepted before the limit was seen"
    );
    assert_eq!(refused.header("retry-after"), Some("5"));
    assert_eq!(
        refused.json()["type"],
        "urn:crt-gateway:problem:backlog-full",
        "{}",
        refused.text()
    );
    // Nothing of the refused record was kept: the deliveries are those accepted.
    let waiting = gateway.get_json("/v1/deliveries?limit=1000");
    assert_eq!(
        waiting["deliveries"].as_array().unwrap().len(),
        accepted,
        "{waiting}"
    );
}

/// A PostgreSQL server of this test's own, which it can stop and start again.
struct OwnServer {
    dir: String,
    port: u16,
    url: String,
}

impl OwnServer {
    fn start() -> Option<OwnServer> {
        if std::env::var_os("CRT_TEST_POSTGRES_URL").is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CRT_TEST_POSTGRES_URL is missing: .ci/run starts a PostgreSQL server"
            );
            eprintln!("no PostgreSQL server for the tests: skipped");
            return None;
        }
        let port = free_port().port();
        let dir = format!("/tmp/crt-gateway-faults-{}-{port}", std::process::id());
        let mut server = OwnServer {
            dir,
            port,
            url: String::new(),
        };
        server.url = server.script(None);
        Some(server)
    }

    fn script(&self, action: Option<&str>) -> String {
        let mut command = Command::new(repo().join("scripts/postgres-test-server.sh"));
        command.args([self.dir.as_str(), &self.port.to_string()]);
        command.args(action);
        let output = command.output().expect("the script runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/postgres-test-server.sh"))
            .args([self.dir.as_str(), &self.port.to_string(), "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_database_gone_gets_503_and_what_was_acknowledged_stays() {
    let Some(server) = OwnServer::start() else {
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    let keys = data.path().join("storage.keys");
    let pseudonym = data.path().join("pseudonym.key");
    let (keys, pseudonym) = (
        keys.to_string_lossy().to_string(),
        pseudonym.to_string_lossy().to_string(),
    );
    let mut env = JOURNAL_ONLY.to_vec();
    env.extend([
        ("CRT_GATEWAY_STORAGE__DATABASE_URL", server.url.as_str()),
        ("CRT_GATEWAY_STORAGE__KEYS", keys.as_str()),
        ("CRT_GATEWAY_AUDIT__PSEUDONYM_KEY", pseudonym.as_str()),
        // The first record's delivery is still under way when the database goes, and
        // ends while it is gone: its outcome waits for the database, not for the lease.
        ("CRT_GATEWAY_SINKS__JOURNAL__DELAY_MS", "1000"),
    ]);
    let gateway = Gateway::start(data.path(), &env);
    let first = gateway.post_record(&record(0), None);
    assert_eq!(first.status, 202, "{}", first.text());
    let first = first.json()["id"].as_str().unwrap().to_string();

    server.script(Some("stop"));
    let refused = gateway.post_record(&record(1), Some("while-the-database-is-gone"));
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(
        refused.text().contains("nothing was stored"),
        "{}",
        refused.text()
    );
    let ready = gateway.anonymous_request("GET", "/readyz");
    assert_eq!(ready.status, 503, "readiness says so: {}", ready.text());
    std::thread::sleep(Duration::from_millis(1500));

    server.script(None);
    // The same submission again, once the database is back: stored once.
    let deadline = Instant::now() + Duration::from_secs(30);
    let again = loop {
        let response = gateway.post_record(&record(1), Some("while-the-database-is-gone"));
        if response.status != 503 || Instant::now() > deadline {
            break response;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(again.status, 202, "{}", again.text());
    assert_ne!(
        again.header("idempotent-replayed"),
        Some("true"),
        "the refused attempt left nothing behind"
    );
    let view = gateway.wait_settled(&first, Duration::from_secs(30));
    assert_eq!(view["deliveries"][0]["state"], "delivered", "{view}");
}

#[test]
fn a_full_disk_gets_503_and_every_202_stays_readable() {
    // A small file system of the test's own (needs the right to mount, as CI has).
    let data = tempfile::tempdir().expect("temp dir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
        .arg(data.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a small file system here: the disk-full test is skipped");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(data.path().to_path_buf());
    let mut env = JOURNAL_ONLY.to_vec();
    env.push(("CRT_GATEWAY_SINKS__JOURNAL__ENABLED", "false"));
    let gateway = Gateway::start(data.path(), &env);
    // Fill what is left with a file, then submit until the database cannot grow.
    let filler = data.path().join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 5 * 1024 * 1024]);
    let mut accepted = Vec::new();
    let mut refused = None;
    for n in 0..2000 {
        let response = gateway.post_record(&record(n), None);
        match response.status {
            202 => accepted.push(response.json()["id"].as_str().unwrap().to_string()),
            503 => {
                refused = Some(response);
                break;
            }
            other => panic!("{other}: {}", response.text()),
        }
    }
    let refused = refused.expect("the disk filled up");
    assert!(
        refused.text().contains("nothing was stored"),
        "{}",
        refused.text()
    );
    // Room again: everything acknowledged is there.
    std::fs::remove_file(&filler).unwrap();
    for id in &accepted {
        let view = gateway.get_json(&format!("/v1/records/{id}"));
        assert_eq!(view["id"], id.as_str());
    }
    let after = gateway.post_record(&record(9999), None);
    assert_eq!(after.status, 202, "{}", after.text());
}

#[test]
fn sigterm_stops_cleanly_and_gives_back_the_leases_it_holds() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut env = JOURNAL_ONLY.to_vec();
    env.extend([
        // Attempts that outlast the grace period.
        ("CRT_GATEWAY_SINKS__JOURNAL__DELAY_MS", "60000"),
        ("CRT_GATEWAY_SINKS__JOURNAL__RETRY__TIMEOUT", "90000"),
        ("CRT_GATEWAY_ENGINE__SHUTDOWN_GRACE_MS", "300"),
        ("CRT_GATEWAY_ENGINE__WORKERS", "2"),
        ("CRT_GATEWAY_ENGINE__POLL_INTERVAL_MS", "100"),
    ]);
    let mut gateway = Gateway::start(data.path(), &env);
    // As many records as workers: each is in progress when SIGTERM comes.
    for n in 0..2 {
        assert_eq!(gateway.post_record(&record(n), None).status, 202);
    }
    let leased = || gateway_leased(&gateway);
    let deadline = Instant::now() + Duration::from_secs(20);
    while leased().len() < 2 {
        assert!(Instant::now() < deadline, "no delivery leased");
        std::thread::sleep(Duration::from_millis(50));
    }
    let held = leased();
    let status = gateway.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");

    // Given back: the next start takes them again at once, long before the two-minute
    // lease would have expired.
    gateway.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in &held {
        loop {
            let attempts = gateway.get_json("/v1/deliveries?limit=100")["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["id"] == id.as_str())
                .map(|d| d["attempts"].as_u64().unwrap_or(0))
                .unwrap_or(0);
            if attempts >= 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "delivery {id} was not given back"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn gateway_leased(gateway: &Gateway) -> Vec<String> {
    gateway.get_json("/v1/deliveries?state=leased&limit=100")["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect()
}
