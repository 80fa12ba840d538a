//! crt-loadgen: drives `POST /v1/records` over loopback and reports throughput and latency
//! percentiles; with `--compare-bare`, runs the same load against a bare hyper endpoint in
//! the same process as the reference; with `--compare-durable DIR`, against the same
//! endpoint storing each body in SQLite with the gateway's durability (WAL,
//! `synchronous=FULL`, group commit) before its 202: what intake costs at the least.
//!
//! Two modes: `--rate 0` (default) keeps `--connections` requests in flight back to back
//! (maximum throughput); `--rate N` sends N requests per second on schedule and measures
//! latency from the scheduled instant, so that a slow server cannot hide its queueing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::Mutex;

#[derive(Parser)]
#[command(about = "Load client for crt-gateway's intake")]
struct Args {
    /// Gateway base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Record to post (JSON); its source.record_ref is made unique per request.
    #[arg(long)]
    record: PathBuf,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Requests per second; 0 for as many as the server takes.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Connections (maximum-rate mode) or largest number of requests in flight (fixed rate).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Spread the records over this many beneficiaries (their `beneficiary.local_id` made
    /// `load-<run>-b<n>`), as a back-fill of a DUI's beneficiaries sends them, each record
    /// then the first of its beneficiary; 0 keeps the record's own beneficiary for every
    /// request, each record a new version of the last. At most 4,096 (the bodies prepared).
    #[arg(long, default_value_t = 0)]
    beneficiaries: usize,
    /// Also run the same load against a bare hyper endpoint, as the reference.
    #[arg(long)]
    compare_bare: bool,
    /// Also run the load against a bare endpoint that stores each body durably in a SQLite
    /// database in this directory (WAL, synchronous=FULL, group commit), the reference for
    /// intake.
    #[arg(long)]
    compare_durable: Option<PathBuf>,
    /// Print one JSON line per run instead of text.
    #[arg(long)]
    json: bool,
    /// The gateway's API token (the sandbox writes its own in `<data>/sandbox-api-token`).
    #[arg(long, env = "CRT_GATEWAY_TOKEN")]
    token: Option<String>,
}

/// `Bearer <token>`, sent with every request when a token is given.
static AUTHORIZATION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

struct Outcome {
    label: String,
    elapsed: Duration,
    ok: usize,
    errors: usize,
    latencies_us: Vec<u64>,
}

impl Outcome {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[index] as f64 / 1000.0
    }

    fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self, json: bool) {
        let (label, ok, errors, seconds) = (
            &self.label,
            self.ok,
            self.errors,
            self.elapsed.as_secs_f64(),
        );
        let rate = self.throughput();
        let [p50, p90, p99, max] = [0.5, 0.9, 0.99, 1.0].map(|p| self.percentile(p));
        if json {
            println!(
                "{{\"target\":\"{label}\",\"ok\":{ok},\"errors\":{errors},\"seconds\":{seconds:.2},\"per_second\":{rate:.0},\"p50_ms\":{p50:.3},\"p90_ms\":{p90:.3},\"p99_ms\":{p99:.3},\"max_ms\":{max:.3}}}"
            );
        } else {
            println!(
                "{label:<8} {ok:>8} ok {errors:>6} errors in {seconds:>5.1} s: {rate:>8.0} req/s   p50 {p50:>7.3} ms  p90 {p90:>7.3} ms  p99 {p99:>7.3} ms  max {max:>8.3} ms"
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let template: serde_json::Value = match std::fs::read(&args.record)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(value) => value,
        Err(e) => {
            eprintln!("error: {}: {e}", args.record.display());
            std::process::exit(2);
        }
    };
    if let Some(token) = &args.token {
        let _ = AUTHORIZATION.set(format!("Bearer {}", token.trim()));
    }
    let url = format!("{}/v1/records", args.url.trim_end_matches('/'));
    let gateway = run(&args, "gateway", &url, &template).await;
    gateway.print(args.json);
    if args.compare_bare {
        let addr = start_bare().await;
        let bare = run(
            &args,
            "bare",
            &format!("http://{addr}/v1/records"),
            &template,
        )
        .await;
        bare.print(args.json);
        if !args.json {
            println!(
                "gateway / bare throughput: {:.1} %",
                100.0 * gateway.throughput() / bare.throughput().max(1.0)
            );
        }
    }
    if let Some(dir) = &args.compare_durable {
        let addr = match start_durable(dir).await {
            Ok(addr) => addr,
            Err(e) => {
                eprintln!("error: the durable reference in {}: {e}", dir.display());
                std::process::exit(2);
            }
        };
        let durable = run(
            &args,
            "durable",
            &format!("http://{addr}/v1/records"),
            &template,
        )
        .await;
        durable.print(args.json);
        if !args.json {
            println!(
                "gateway / durable SQLite throughput: {:.2}",
                gateway.throughput() / durable.throughput().max(1.0)
            );
        }
    }
    if gateway.errors > 0 {
        std::process::exit(1);
    }
}

/// Bodies prepared in advance, each with its own record_ref (and, with `beneficiaries`,
/// spread over that many beneficiaries), so that building them does not count in the
/// measurement.
fn bodies(template: &serde_json::Value, count: usize, beneficiaries: usize) -> Vec<Bytes> {
    let run = std::process::id();
    (0..count)
        .map(|i| {
            let mut record = template.clone();
            record["source"]["record_ref"] = serde_json::Value::from(format!("load-{run}-{i}"));
            if beneficiaries > 0 {
                record["beneficiary"]["local_id"] =
                    serde_json::Value::from(format!("load-{run}-b{}", i % beneficiaries));
            }
            Bytes::from(serde_json::to_vec(&record).unwrap_or_default())
        })
        .collect()
}

async fn run(args: &Args, label: &str, url: &str, template: &serde_json::Value) -> Outcome {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.connections)
        .build(connector);
    let bodies = Arc::new(bodies(template, 4096, args.beneficiaries));
    let deadline = Duration::from_secs(args.duration);
    let started = Instant::now();
    let results = Arc::new(Mutex::new((0usize, 0usize, Vec::<u64>::new())));
    let mut tasks = Vec::new();
    if args.rate == 0 {
        for worker in 0..args.connections {
            let (client, bodies, results, url) = (
                client.clone(),
                bodies.clone(),
                results.clone(),
                url.to_string(),
            );
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
                let mut i = worker;
                while started.elapsed() < deadline {
                    let sent = Instant::now();
                    match post(&client, &url, bodies[i % bodies.len()].clone()).await {
                        true => ok += 1,
                        false => errors += 1,
                    }
                    latencies.push(sent.elapsed().as_micros() as u64);
                    i += args_stride();
                }
                let mut all = results.lock().await;
                all.0 += ok;
                all.1 += errors;
                all.2.extend(latencies);
            }));
        }
    } else {
        let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
        let in_flight = Arc::new(tokio::sync::Semaphore::new(args.connections.max(1)));
        let mut i = 0usize;
        while started.elapsed() < deadline {
            let scheduled = started + interval.mul_f64(i as f64);
            tokio::time::sleep_until(scheduled.into()).await;
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                break;
            };
            let (client, body, results, url) = (
                client.clone(),
                bodies[i % bodies.len()].clone(),
                results.clone(),
                url.to_string(),
            );
            tasks.push(tokio::spawn(async move {
                let success = post(&client, &url, body).await;
                let latency = scheduled.elapsed().as_micros() as u64;
                drop(permit);
                let mut all = results.lock().await;
                if success {
                    all.0 += 1
                } else {
                    all.1 += 1
                }
                all.2.push(latency);
            }));
            i += 1;
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let (ok, errors, mut latencies_us) = std::mem::take(&mut *results.lock().await);
    latencies_us.sort_unstable();
    Outcome {
        label: label.to_string(),
        elapsed,
        ok,
        errors,
        latencies_us,
    }
}

/// Workers step through the prepared bodies by a prime so they rarely post the same one.
fn args_stride() -> usize {
    7919
}

async fn post(client: &Client<HttpConnector, Full<Bytes>>, url: &str, body: Bytes) -> bool {
    let mut request = Request::post(url).header("content-type", "application/json");
    if let Some(authorization) = AUTHORIZATION.get() {
        request = request.header("authorization", authorization.as_str());
    }
    let Ok(request) = request.body(Full::new(body)) else {
        return false;
    };
    match client.request(request).await {
        Ok(response) => {
            let accepted = response.status() == StatusCode::ACCEPTED;
            let _ = response.into_body().collect().await;
            accepted
        }
        Err(_) => false,
    }
}

/// A reference endpoint's answer: the status and a small JSON body, as the gateway's.
fn answer(status: StatusCode) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(
            b"{\"id\":\"00000000-0000-0000-0000-000000000000\"}",
        )))
        .unwrap_or_default()
}

/// A body waiting for the durable reference's writer, and who to tell once it is on disk.
type Pending = (Bytes, tokio::sync::oneshot::Sender<bool>);

/// The durable reference: the bare endpoint, each body inserted in SQLite before its 202
/// with the gateway's durability: WAL, `synchronous=FULL`, one writer thread committing
/// every body waiting in one transaction (group commit), as the gateway's store does.
async fn start_durable(dir: &std::path::Path) -> Result<SocketAddr, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("durable-{}.sqlite", std::process::id()));
    let conn = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
        .and_then(|()| {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, payload BLOB NOT NULL)",
            )
        })
        .map_err(|e| e.to_string())?;
    let (sender, receiver) = std::sync::mpsc::channel::<Pending>();
    std::thread::spawn(move || write_durably(conn, receiver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let sender = sender.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        let sender = sender.clone();
                        async move {
                            let body = request
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let (done, stored) = tokio::sync::oneshot::channel();
                            let kept =
                                sender.send((body, done)).is_ok() && stored.await.unwrap_or(false);
                            let status = if kept {
                                StatusCode::ACCEPTED
                            } else {
                                StatusCode::INTERNAL_SERVER_ERROR
                            };
                            Ok::<_, Infallible>(answer(status))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// The writer thread: every body waiting, in one transaction, then each told.
fn write_durably(mut conn: rusqlite::Connection, receiver: std::sync::mpsc::Receiver<Pending>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while let Ok(next) = receiver.try_recv() {
            batch.push(next);
            if batch.len() >= 512 {
                break;
            }
        }
        let committed = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut insert = tx
                    .prepare_cached("INSERT INTO records (received_at, payload) VALUES (?1, ?2)")?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or_default();
                for (body, _) in &batch {
                    insert.execute(rusqlite::params![now, body.as_ref()])?;
                }
            }
            tx.commit()
        })()
        .is_ok();
        for (_, done) in batch {
            let _ = done.send(committed);
        }
    }
}

/// The reference: hyper reading the whole body and answering 202 with a small JSON body,
/// no validation, no storage.
async fn start_bare() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |request: Request<hyper::body::Incoming>| async move {
                        let _ = request.into_body().collect().await;
                        Ok::<_, Infallible>(answer(StatusCode::ACCEPTED))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}
