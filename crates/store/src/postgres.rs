//! The PostgreSQL backend, for when one machine is not enough: several gateway instances
//! share one database, and the database is what coordinates them.
//!
//! - Each write is one transaction on a pooled connection; PostgreSQL makes a commit
//!   durable (WAL flushed) before it returns, and commits of concurrent transactions share
//!   their flushes (its own group commit), so intake needs no writer thread here.
//! - Leasing takes ready deliveries with `FOR UPDATE SKIP LOCKED`: instances leasing at
//!   the same moment get different deliveries, and none waits for another. A lease that
//!   expires (a crashed instance) makes its deliveries ready again for any instance.
//! - The access trace is one hash chain across instances: appends take a transaction-level
//!   advisory lock, and the lines of concurrent callers are appended in batches (one
//!   transaction, one lock) by a task of their own.
//! - The schema is created or brought up to date at start under an advisory lock, so that
//!   instances starting together do not migrate twice.
//!
//! Every method keeps the contract of [`Store`]; `store::contract` runs the same tests
//! against this backend and SQLite.

use std::time::Duration;

use crt_core::sink::{Artifact, BoxFuture, DeliveryError, Outcome, Receipt, Work};
use deadpool_postgres::Transaction;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, NoTls, Row};
use uuid::Uuid;

use super::sealing::{AtRest, Sealer};
use super::{
    AccessTrace, AcknowledgeOutcome, AcknowledgementView, AdmissionStanding, ArtifactInfo,
    Completion, CompletionOutcome, DeliveryFilter, DeliveryQueue, DeliveryState, DeliveryView,
    Dependency, Exchange, FollowUps, Intake, IntakeOutcome, LeasedDelivery, Millis,
    NewAcknowledgement, NewAdmissionRequest, NewVolet1Action, PartnerEntry, PartnerEntryFilter,
    PreviousConsents, RecordView, ReplayOutcome, ReportReads, Settlement, StoreError, StoreResult,
    StoredRecord, WAITING_ORDER, WaitingEntry, from_json, parse_state, to_json,
};
use crt_audit::{TraceEvent, TraceLine};

mod alerts;
mod calendars;
mod inbox;

/// Each step brings the database from one version to the next.
const MIGRATIONS: [&str; 7] = [
    include_str!("postgres/schema-1.sql"),
    include_str!("postgres/schema-2.sql"),
    include_str!("postgres/schema-3.sql"),
    include_str!("postgres/schema-4.sql"),
    include_str!("postgres/schema-5.sql"),
    include_str!("postgres/schema-6.sql"),
    include_str!("postgres/schema-7.sql"),
];
/// The advisory lock keys of this program: schema changes, and the access trace's chain.
const MIGRATION_LOCK: i64 = 0x6372_745f_6d69_6772; // "crt_migr"
const TRACE_LOCK: i64 = 0x6372_745f_7472_6163; // "crt_trac"
/// Connections per instance: the engine's leases and settlements, intake, reads.
const POOL_SIZE: usize = 16;
/// Trace lines appended in one transaction at most.
const MAX_TRACE_BATCH: usize = 512;

pub struct PostgresStore {
    pool: Pool,
    at_rest: AtRest,
    tracer: mpsc::Sender<TraceWrite>,
}

struct TraceWrite {
    events: Vec<TraceEvent>,
    reply: oneshot::Sender<StoreResult<()>>,
}

/// A PostgreSQL error with what the server said, for operators.
fn db(error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error() {
        Some(e) => StoreError::Database(format!("{} ({})", e.message(), e.code().code())),
        None => StoreError::Database(error.to_string()),
    }
}

fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(e) => db(e),
        other => StoreError::Database(format!("database connection: {other}")),
    }
}

/// A database URL as it is safe to print: without its password.
pub fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or the key=value
    /// form libpq takes), creates or updates the schema, and starts the trace writer.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let config: tokio_postgres::Config =
            url.parse()
                .map_err(|e: tokio_postgres::Error| StoreError::Open {
                    path: shown(url),
                    reason: e.to_string(),
                })?;
        Self::connect_with(config, &shown(url)).await
    }

    /// Connects with a parsed configuration; `shown` names the database in errors.
    pub async fn connect_with(
        mut config: tokio_postgres::Config,
        shown: &str,
    ) -> StoreResult<PostgresStore> {
        let open_error = |reason: String| StoreError::Open {
            path: shown.to_string(),
            reason,
        };
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| open_error(e.to_string()))?;
        migrate(&pool)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        let (tracer, receiver) = mpsc::channel(8192);
        tokio::spawn(run_tracer(pool.clone(), receiver));
        Ok(PostgresStore {
            pool,
            at_rest: AtRest::default(),
            tracer,
        })
    }

    /// Seals record payloads and delivery artifacts with `sealer` (see [`super::sealing`]).
    pub fn with_sealer(mut self, sealer: std::sync::Arc<Sealer>) -> Self {
        self.at_rest = AtRest::new(sealer);
        self
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }
}

async fn migrate(pool: &Pool) -> StoreResult<()> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS crt_gateway_schema (version INTEGER NOT NULL)")
        .await
        .map_err(db)?;
    let version: i32 = match tx
        .query_opt("SELECT version FROM crt_gateway_schema", &[])
        .await
        .map_err(db)?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO crt_gateway_schema (version) VALUES (0)", &[])
                .await
                .map_err(db)?;
            0
        }
    };
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "the database is at schema version {version}, newer than this program's {}",
            MIGRATIONS.len()
        )));
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql).await.map_err(db)?;
        tx.execute(
            "UPDATE crt_gateway_schema SET version = $1",
            &[&(step as i32 + 1)],
        )
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

/// Appends trace lines in batches: one transaction and one advisory lock for every caller
/// waiting at that moment, so that a busy API does not queue on the lock line by line.
async fn run_tracer(pool: Pool, mut receiver: mpsc::Receiver<TraceWrite>) {
    let mut batch: Vec<TraceWrite> = Vec::new();
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        let mut lines = batch[0].events.len();
        while lines < MAX_TRACE_BATCH {
            match receiver.try_recv() {
                Ok(write) => {
                    lines += write.events.len();
                    batch.push(write);
                }
                Err(_) => break,
            }
        }
        let events: Vec<&TraceEvent> = batch.iter().flat_map(|w| &w.events).collect();
        let result = async {
            let mut client = pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(db)?;
            append_trace(&tx, &events).await?;
            tx.commit().await.map_err(db)
        }
        .await;
        for write in batch.drain(..) {
            let _ = write.reply.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Database(e.to_string())),
            });
        }
    }
}

/// Appends events to the chain, under the trace lock (held until the transaction ends).
async fn append_trace(tx: &Transaction<'_>, events: &[&TraceEvent]) -> StoreResult<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&TRACE_LOCK])
        .await
        .map_err(db)?;
    let last = tx
        .query_opt(
            "SELECT seq, hash FROM audit_trail ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(db)?;
    let (mut seq, mut prev): (i64, String) = last.map_or_else(
        || (0, crt_audit::GENESIS.to_string()),
        |row| (row.get(0), row.get(1)),
    );
    let insert = tx
        .prepare_cached("INSERT INTO audit_trail (seq, entry, prev, hash) VALUES ($1, $2, $3, $4)")
        .await
        .map_err(db)?;
    for event in events {
        let entry = serde_json::to_string(event)
            .map_err(|e| StoreError::Database(format!("trace event: {e}")))?;
        let hash = crt_audit::chain_hash(&prev, &entry);
        seq += 1;
        tx.execute(&insert, &[&seq, &entry, &prev, &hash])
            .await
            .map_err(db)?;
        prev = hash;
    }
    Ok(())
}

async fn accept(tx: &Transaction<'_>, intake: &Intake) -> StoreResult<IntakeOutcome> {
    let record = &intake.record;
    tx.execute(
        "INSERT INTO records (id, received_at, crt_finess_et, beneficiary_ref, source_ref, body_sha256, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &record.id,
            &record.received_at,
            &record.crt_finess_et,
            &record.beneficiary_ref,
            &record.source_ref,
            &record.body_sha256,
            &record.payload,
        ],
    )
    .await
    .map_err(db)?;
    let insert_delivery = tx
        .prepare_cached(
            "INSERT INTO deliveries (id, record_id, target, work, state, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
        )
        .await
        .map_err(db)?;
    for delivery in &intake.deliveries {
        let state = if delivery.depends_on.is_empty() {
            DeliveryState::Pending
        } else {
            DeliveryState::Waiting
        };
        tx.execute(
            &insert_delivery,
            &[
                &delivery.id,
                &record.id,
                &delivery.target,
                &to_json(&delivery.work)?,
                &state.as_str(),
                &record.received_at,
            ],
        )
        .await
        .map_err(db)?;
    }
    for delivery in &intake.deliveries {
        for upstream in &delivery.depends_on {
            tx.execute(
                "INSERT INTO delivery_dependencies (delivery_id, depends_on) VALUES ($1, $2)",
                &[&delivery.id, upstream],
            )
            .await
            .map_err(db)?;
        }
    }
    if let Some(consents) = &intake.consents {
        // Records of one beneficiary may commit out of order: the row follows the newest.
        tx.execute(
            "INSERT INTO beneficiary_consents
                    (crt_finess_et, beneficiary_ref, record_id, received_at, consents)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (crt_finess_et, beneficiary_ref) DO UPDATE
                SET record_id = excluded.record_id, received_at = excluded.received_at,
                    consents = excluded.consents
              WHERE (excluded.received_at, excluded.record_id)
                    > (beneficiary_consents.received_at, beneficiary_consents.record_id)",
            &[
                &record.crt_finess_et,
                &record.beneficiary_ref,
                &record.id,
                &record.received_at,
                consents,
            ],
        )
        .await
        .map_err(db)?;
    }
    if let Some(key) = &intake.idempotency_key {
        // A concurrent intake with the same key waits here for the first to commit, then
        // finds the key taken.
        let inserted = tx
            .execute(
                "INSERT INTO idempotency_keys (key, body_sha256, record_id, response, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
                &[
                    key,
                    &record.body_sha256,
                    &record.id,
                    &intake.response,
                    &record.received_at,
                ],
            )
            .await
            .map_err(db)?;
        if inserted == 0 {
            let seen = tx
                .query_one(
                    "SELECT body_sha256, response FROM idempotency_keys WHERE key = $1",
                    &[key],
                )
                .await
                .map_err(db)?;
            let (hash, response): (String, Vec<u8>) = (seen.get(0), seen.get(1));
            return Ok(if hash == record.body_sha256 {
                IntakeOutcome::Replayed { response }
            } else {
                IntakeOutcome::KeyConflict
            });
        }
    }
    Ok(IntakeOutcome::Stored)
}

/// A delivery as leasing returns it, before its payload is opened.
struct Taken {
    id: Uuid,
    record_id: Uuid,
    target: String,
    work: String,
    attempt: i32,
    payload: Vec<u8>,
}

/// Leases up to `limit` deliveries; returns the lease token with them.
async fn lease(
    tx: &Transaction<'_>,
    owner: &str,
    limit: usize,
    now: Millis,
    lease_until: Millis,
) -> StoreResult<(String, Vec<Taken>)> {
    let token = format!("{owner}/{}", Uuid::now_v7());
    let limit = limit as i64;
    let rows = tx
        .query(
            "WITH ready AS (
                 SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $3
                  ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED),
             expired AS (
                 SELECT id FROM deliveries WHERE state = 'leased' AND lease_until < $3
                  LIMIT $4 FOR UPDATE SKIP LOCKED),
             chosen AS (
                 SELECT id FROM ready UNION ALL SELECT id FROM expired LIMIT $4)
             UPDATE deliveries d
                SET state = 'leased', lease_owner = $1, lease_until = $2,
                    attempts = attempts + 1, updated_at = $3
               FROM chosen WHERE d.id = chosen.id
          RETURNING d.id, d.record_id, d.target, d.work, d.attempts,
                    (SELECT payload FROM records r WHERE r.id = d.record_id)",
            &[&token, &lease_until, &now, &limit],
        )
        .await
        .map_err(db)?;
    let taken = rows
        .into_iter()
        .map(|row| Taken {
            id: row.get(0),
            record_id: row.get(1),
            target: row.get(2),
            work: row.get(3),
            attempt: row.get(4),
            payload: row.get(5),
        })
        .collect();
    Ok((token, taken))
}

async fn upstream_receipts(
    client: &impl GenericClient,
    id: Uuid,
) -> StoreResult<Vec<(String, Receipt)>> {
    let rows = client
        .query(
            "SELECT u.target, u.receipt FROM delivery_dependencies d
               JOIN deliveries u ON u.id = d.depends_on
              WHERE d.delivery_id = $1 AND u.receipt IS NOT NULL",
            &[&id],
        )
        .await
        .map_err(db)?;
    rows.iter()
        .map(|row| Ok((row.get(0), from_json::<Receipt>(row.get(1))?)))
        .collect()
}

async fn complete(tx: &Transaction<'_>, completion: &Completion) -> StoreResult<CompletionOutcome> {
    let id = completion.delivery_id;
    let (changed, outcome_name, error_code) = match &completion.settlement {
        Settlement::Done(receipt) => {
            let state = match receipt.outcome {
                Outcome::Delivered => DeliveryState::Delivered,
                Outcome::Declined => DeliveryState::Declined,
            };
            let changed = tx
                .execute(
                    "UPDATE deliveries
                        SET state = $1, receipt = $2, last_error = NULL, lease_owner = NULL,
                            lease_until = NULL, updated_at = $3
                      WHERE id = $4 AND state = 'leased' AND lease_owner = $5",
                    &[
                        &state.as_str(),
                        &to_json(receipt)?,
                        &completion.finished_at,
                        &id,
                        &completion.lease,
                    ],
                )
                .await
                .map_err(db)?;
            (changed, state.as_str(), None)
        }
        Settlement::Retry { error, at } => {
            let changed = tx
                .execute(
                    "UPDATE deliveries
                        SET state = 'pending', next_attempt_at = $1, last_error = $2,
                            lease_owner = NULL, lease_until = NULL, updated_at = $3
                      WHERE id = $4 AND state = 'leased' AND lease_owner = $5",
                    &[
                        at,
                        &to_json(error)?,
                        &completion.finished_at,
                        &id,
                        &completion.lease,
                    ],
                )
                .await
                .map_err(db)?;
            (changed, "retry", Some(error.code.clone()))
        }
        Settlement::Dead(error) => {
            let changed = tx
                .execute(
                    "UPDATE deliveries
                        SET state = 'dead', last_error = $1, lease_owner = NULL,
                            lease_until = NULL, updated_at = $2
                      WHERE id = $3 AND state = 'leased' AND lease_owner = $4",
                    &[
                        &to_json(error)?,
                        &completion.finished_at,
                        &id,
                        &completion.lease,
                    ],
                )
                .await
                .map_err(db)?;
            (changed, "dead", Some(error.code.clone()))
        }
        Settlement::Held(error) => {
            let changed = tx
                .execute(
                    "UPDATE deliveries
                        SET state = 'held', last_error = $1, hold_reason = $2, lease_owner = NULL,
                            lease_until = NULL, updated_at = $3
                      WHERE id = $4 AND state = 'leased' AND lease_owner = $5",
                    &[
                        &to_json(error)?,
                        &error.message,
                        &completion.finished_at,
                        &id,
                        &completion.lease,
                    ],
                )
                .await
                .map_err(db)?;
            (changed, "held", Some(error.code.clone()))
        }
    };
    if changed == 0 {
        return Ok(CompletionOutcome {
            applied: false,
            released: 0,
        });
    }
    let attempt = completion.attempt as i32;
    tx.execute(
        "INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, outcome, error_code)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (delivery_id, attempt, finished_at) DO UPDATE SET
           started_at = excluded.started_at, outcome = excluded.outcome,
           error_code = excluded.error_code",
        &[
            &id,
            &attempt,
            &completion.started_at,
            &completion.finished_at,
            &outcome_name,
            &error_code,
        ],
    )
    .await
    .map_err(db)?;
    let Settlement::Done(receipt) = &completion.settlement else {
        return Ok(CompletionOutcome {
            applied: true,
            released: 0,
        });
    };
    for artifact in &receipt.artifacts {
        tx.execute(
            "INSERT INTO artifacts (delivery_id, name, media_type, content) VALUES ($1, $2, $3, $4)
             ON CONFLICT (delivery_id, name) DO UPDATE SET
               media_type = excluded.media_type, content = excluded.content",
            &[&id, &artifact.name, &artifact.media_type, &artifact.content],
        )
        .await
        .map_err(db)?;
    }
    let released = match super::hold_reason(receipt) {
        Some(reason) => {
            // Everything downstream, however deep, is held with the reason.
            tx.execute(
                "WITH RECURSIVE downstream(id) AS (
                     SELECT delivery_id FROM delivery_dependencies WHERE depends_on = $1
                     UNION
                     SELECT d.delivery_id FROM delivery_dependencies d
                       JOIN downstream ON d.depends_on = downstream.id)
                 UPDATE deliveries SET state = 'held', hold_reason = $2, updated_at = $3
                  WHERE state = 'waiting' AND id IN (SELECT id FROM downstream)",
                &[&id, &reason, &completion.finished_at],
            )
            .await
            .map_err(db)?;
            0
        }
        None => tx
            .execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = $2, updated_at = $2
                  WHERE state = 'waiting'
                    AND id IN (SELECT delivery_id FROM delivery_dependencies WHERE depends_on = $1)
                    AND NOT EXISTS (
                        SELECT 1 FROM delivery_dependencies d JOIN deliveries u ON u.id = d.depends_on
                         WHERE d.delivery_id = deliveries.id AND u.state <> 'delivered')",
                &[&id, &completion.finished_at],
            )
            .await
            .map_err(db)? as usize,
    };
    if let Some(event) = &completion.trace {
        append_trace(tx, &[event]).await?;
    }
    Ok(CompletionOutcome {
        applied: true,
        released,
    })
}

const DELIVERY_COLUMNS: &str = "id, record_id, target, work, state, attempts, next_attempt_at, last_error, hold_reason, receipt, created_at, updated_at";

async fn delivery_views(
    client: &impl GenericClient,
    sql_filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Vec<DeliveryView>> {
    let rows = client
        .query(
            &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries {sql_filter}"),
            params,
        )
        .await
        .map_err(db)?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Uuid = row.get(0);
        let state = parse_state(row.get(4))?;
        let waiting_for = client
            .query(
                "SELECT u.id, u.target, u.state FROM delivery_dependencies d
                   JOIN deliveries u ON u.id = d.depends_on WHERE d.delivery_id = $1",
                &[&id],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(Dependency {
                    id: r.get(0),
                    target: r.get(1),
                    state: parse_state(r.get(2))?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .filter(|dependency| dependency.state != DeliveryState::Delivered)
            .collect();
        let artifacts = client
            .query(
                "SELECT name, media_type, length(content)::BIGINT FROM artifacts
                  WHERE delivery_id = $1 ORDER BY name",
                &[&id],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| ArtifactInfo {
                name: r.get(0),
                media_type: r.get(1),
                size: r.get::<_, i64>(2) as usize,
            })
            .collect();
        let acknowledgements = client
            .query(
                "SELECT recipient, status, code, label, kind, received_at FROM acknowledgements
                  WHERE delivery_id = $1 ORDER BY received_at, recipient",
                &[&id],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| AcknowledgementView {
                recipient: r.get(0),
                status: r.get(1),
                code: r.get(2),
                label: r.get(3),
                kind: r.get(4),
                received_at: r.get(5),
            })
            .collect();
        let error: Option<&str> = row.get(7);
        let receipt: Option<&str> = row.get(9);
        views.push(DeliveryView {
            id,
            record_id: row.get(1),
            target: row.get(2),
            work: from_json(row.get(3))?,
            state,
            attempts: row.get::<_, i32>(5) as u32,
            next_attempt_at: (state == DeliveryState::Pending).then(|| row.get(6)),
            last_error: error.map(from_json::<DeliveryError>).transpose()?,
            hold_reason: row.get(8),
            receipt: receipt.map(from_json::<Receipt>).transpose()?,
            waiting_for,
            artifacts,
            acknowledgements,
            created_at: row.get(10),
            updated_at: row.get(11),
        });
    }
    Ok(views)
}

fn partner_entry(row: &Row) -> PartnerEntry {
    PartnerEntry {
        platform: row.get(0),
        remote_id: row.get(1),
        crt_finess_et: row.get(2),
        beneficiary_ref: row.get(3),
        kind: row.get(4),
        topic: row.get(5),
        author: row.get(6),
        written_at: row.get(7),
        text: row.get(8),
        changed_at: row.get(9),
        received_at: row.get(10),
    }
}

impl PostgresStore {
    /// Runs `work` in one transaction and commits it; an error rolls everything back.
    async fn in_transaction<T>(
        &self,
        work: impl for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, StoreResult<(T, bool)>>,
    ) -> StoreResult<T> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let (value, commit) = work(&tx).await?;
        if commit {
            tx.commit().await.map_err(db)?;
        } else {
            tx.rollback().await.map_err(db)?;
        }
        Ok(value)
    }
}

impl DeliveryQueue for PostgresStore {
    fn accept(&self, mut intake: Intake) -> BoxFuture<'_, StoreResult<IntakeOutcome>> {
        Box::pin(async move {
            self.at_rest.seal_intake(&mut intake)?;
            let trace = std::mem::take(&mut intake.trace);
            let outcome = self
                .in_transaction(|tx| {
                    Box::pin(async move {
                        let outcome = accept(tx, &intake).await?;
                        // A replayed or conflicting key keeps nothing of this intake.
                        let commit = outcome == IntakeOutcome::Stored;
                        Ok((outcome, commit))
                    })
                })
                .await?;
            // The trace's chain is one advisory lock for every instance: its lines go
            // through the batching tracer after the commit rather than holding that lock
            // in every intake's transaction.
            if outcome == IntakeOutcome::Stored
                && let Err(e) = self.trace(trace).await
            {
                tracing::warn!(error = %e, "writing the intake's access trace failed");
            }
            Ok(outcome)
        })
    }

    fn lease(
        &self,
        owner: &str,
        limit: usize,
        now: Millis,
        lease_until: Millis,
    ) -> BoxFuture<'_, StoreResult<Vec<LeasedDelivery>>> {
        let owner = owner.to_string();
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(db)?;
            let (token, taken) = lease(&tx, &owner, limit, now, lease_until).await?;
            tx.commit().await.map_err(db)?;
            let mut leased = Vec::with_capacity(taken.len());
            for delivery in taken {
                leased.push(LeasedDelivery {
                    id: delivery.id,
                    record_id: delivery.record_id,
                    target: delivery.target,
                    work: from_json::<Work>(&delivery.work)?,
                    attempt: delivery.attempt as u32,
                    lease: token.clone(),
                    payload: self
                        .at_rest
                        .open_record(delivery.record_id, delivery.payload)?,
                    upstream: upstream_receipts(&**client, delivery.id).await?,
                });
            }
            Ok(leased)
        })
    }

    fn complete(
        &self,
        mut completion: Completion,
    ) -> BoxFuture<'_, StoreResult<CompletionOutcome>> {
        Box::pin(async move {
            self.at_rest.seal_artifacts(&mut completion)?;
            self.in_transaction(|tx| {
                Box::pin(async move {
                    let outcome = complete(tx, &completion).await?;
                    Ok((outcome, true))
                })
            })
            .await
        })
    }

    fn release(&self, id: Uuid, lease: String, now: Millis) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let client = self.client().await?;
            let changed = client
                .execute(
                    "UPDATE deliveries SET state = 'pending', next_attempt_at = $1,
                            lease_owner = NULL, lease_until = NULL, updated_at = $1
                      WHERE id = $2 AND state = 'leased' AND lease_owner = $3",
                    &[&now, &id, &lease],
                )
                .await
                .map_err(db)?;
            Ok(changed == 1)
        })
    }

    fn replay(&self, id: Uuid, now: Millis) -> BoxFuture<'_, StoreResult<ReplayOutcome>> {
        Box::pin(async move {
            let client = self.client().await?;
            let changed = client
                .execute(
                    "UPDATE deliveries SET state = 'pending', attempts = 0, hold_reason = NULL,
                            next_attempt_at = $1, updated_at = $1
                      WHERE id = $2 AND state IN ('dead', 'held')",
                    &[&now, &id],
                )
                .await
                .map_err(db)?;
            if changed == 1 {
                return Ok(ReplayOutcome::Replayed);
            }
            let state = client
                .query_opt("SELECT state FROM deliveries WHERE id = $1", &[&id])
                .await
                .map_err(db)?;
            Ok(match state {
                None => ReplayOutcome::NotFound,
                Some(row) => ReplayOutcome::NotDead(parse_state(row.get(0))?),
            })
        })
    }

    fn acknowledge(
        &self,
        ack: NewAcknowledgement,
    ) -> BoxFuture<'_, StoreResult<AcknowledgeOutcome>> {
        Box::pin(async move {
            let client = self.client().await?;
            let inserted = client
                .execute(
                    "INSERT INTO acknowledgements
                       (delivery_id, recipient, status, code, label, kind, notification_id, received_at)
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8
                      WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = $1)
                     ON CONFLICT DO NOTHING",
                    &[
                        &ack.delivery_id,
                        &ack.recipient,
                        &ack.status,
                        &ack.code,
                        &ack.label,
                        &ack.kind,
                        &ack.notification_id,
                        &ack.received_at,
                    ],
                )
                .await
                .map_err(db)?;
            if inserted == 1 {
                return Ok(AcknowledgeOutcome::Recorded);
            }
            let known = client
                .query_opt(
                    "SELECT 1 FROM deliveries WHERE id = $1",
                    &[&ack.delivery_id],
                )
                .await
                .map_err(db)?;
            Ok(match known {
                Some(_) => AcknowledgeOutcome::Duplicate,
                None => AcknowledgeOutcome::UnknownDelivery,
            })
        })
    }

    fn record(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<RecordView>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let Some(head) = client
                .query_opt(
                    "SELECT received_at, crt_finess_et, beneficiary_ref, source_ref
                       FROM records WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(db)?
            else {
                return Ok(None);
            };
            let deliveries = delivery_views(
                &**client,
                "WHERE record_id = $1 ORDER BY created_at, id",
                &[&id],
            )
            .await?;
            Ok(Some(RecordView {
                id,
                received_at: head.get(0),
                crt_finess_et: head.get(1),
                beneficiary_ref: head.get(2),
                source_ref: head.get(3),
                deliveries,
            }))
        })
    }

    fn latest_record(
        &self,
        crt_finess_et: String,
        beneficiary_ref: String,
    ) -> BoxFuture<'_, StoreResult<Option<StoredRecord>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    &crate::LATEST_RECORD.replace('?', "$"),
                    &[&crt_finess_et, &beneficiary_ref],
                )
                .await
                .map_err(db)?;
            row.map(|row| {
                let id: Uuid = row.get(0);
                let payload = self.at_rest.open_record(id, row.get(1))?;
                Ok(StoredRecord { id, payload })
            })
            .transpose()
        })
    }

    fn previous_consents(
        &self,
        crt_finess_et: String,
        beneficiary_ref: String,
    ) -> BoxFuture<'_, StoreResult<PreviousConsents>> {
        Box::pin(async move {
            let client = self.client().await?;
            let kept = client
                .query_opt(
                    "SELECT record_id, consents FROM beneficiary_consents
                      WHERE crt_finess_et = $1 AND beneficiary_ref = $2",
                    &[&crt_finess_et, &beneficiary_ref],
                )
                .await
                .map_err(db)?;
            if let Some(row) = kept {
                let record_id: Uuid = row.get(0);
                return Ok(PreviousConsents::Kept(
                    self.at_rest.open_consents(record_id, row.get(1))?,
                ));
            }
            drop(client);
            Ok(
                match self.latest_record(crt_finess_et, beneficiary_ref).await? {
                    Some(newest) => PreviousConsents::InRecord(newest.payload),
                    None => PreviousConsents::None,
                },
            )
        })
    }

    fn newest_records(
        &self,
        crt_finess_et: String,
    ) -> BoxFuture<'_, StoreResult<Vec<StoredRecord>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    &crate::NEWEST_RECORDS.replace("?1", "$1"),
                    &[&crt_finess_et],
                )
                .await
                .map_err(db)?;
            rows.into_iter()
                .map(|row| {
                    let id: Uuid = row.get(0);
                    let payload = self.at_rest.open_record(id, row.get(1))?;
                    Ok(StoredRecord { id, payload })
                })
                .collect()
        })
    }

    fn record_payload(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<Vec<u8>>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_opt("SELECT payload FROM records WHERE id = $1", &[&id])
                .await
                .map_err(db)?;
            row.map(|row| self.at_rest.open_record(id, row.get(0)))
                .transpose()
        })
    }

    fn crts(&self) -> BoxFuture<'_, StoreResult<Vec<String>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query("SELECT DISTINCT crt_finess_et FROM records ORDER BY 1", &[])
                .await
                .map_err(db)?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn deliveries(&self, filter: DeliveryFilter) -> BoxFuture<'_, StoreResult<Vec<DeliveryView>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let state = filter.state.map(|s| s.as_str().to_string());
            let limit = filter.limit.clamp(1, 1000) as i64;
            delivery_views(
                &**client,
                "WHERE ($1::TEXT IS NULL OR state = $1) AND ($2::TEXT IS NULL OR target = $2)
                   AND ($3::UUID IS NULL OR id > $3) ORDER BY id LIMIT $4",
                &[&state, &filter.target, &filter.after, &limit],
            )
            .await
        })
    }

    fn artifact(
        &self,
        delivery_id: Uuid,
        name: String,
    ) -> BoxFuture<'_, StoreResult<Option<Artifact>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT name, media_type, content FROM artifacts
                      WHERE delivery_id = $1 AND name = $2",
                    &[&delivery_id, &name],
                )
                .await
                .map_err(db)?;
            row.map(|row| {
                let name: String = row.get(0);
                let content = self.at_rest.open_artifact(delivery_id, &name, row.get(2))?;
                Ok(Artifact {
                    name,
                    media_type: row.get(1),
                    content,
                })
            })
            .transpose()
        })
    }

    fn delivery(&self, delivery_id: Uuid) -> BoxFuture<'_, StoreResult<Option<DeliveryView>>> {
        Box::pin(async move {
            let client = self.client().await?;
            Ok(delivery_views(&**client, "WHERE id = $1", &[&delivery_id])
                .await?
                .into_iter()
                .next())
        })
    }

    fn delivery_subject(
        &self,
        delivery_id: Uuid,
    ) -> BoxFuture<'_, StoreResult<Option<(String, String)>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT r.crt_finess_et, r.beneficiary_ref FROM deliveries d
                       JOIN records r ON r.id = d.record_id WHERE d.id = $1",
                    &[&delivery_id],
                )
                .await
                .map_err(db)?;
            Ok(row.map(|row| (row.get(0), row.get(1))))
        })
    }

    fn state_counts(&self) -> BoxFuture<'_, StoreResult<Vec<(DeliveryState, u64)>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query("SELECT state, COUNT(*) FROM deliveries GROUP BY state", &[])
                .await
                .map_err(db)?;
            rows.iter()
                .map(|row| Ok((parse_state(row.get(0))?, row.get::<_, i64>(1) as u64)))
                .collect()
        })
    }

    fn next_due(&self) -> BoxFuture<'_, StoreResult<Option<Millis>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "SELECT LEAST(
                        (SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'),
                        (SELECT MIN(lease_until) FROM deliveries WHERE state = 'leased'))",
                    &[],
                )
                .await
                .map_err(db)?;
            Ok(row.get(0))
        })
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let client = self.client().await?;
            client.query_one("SELECT 1", &[]).await.map_err(db)?;
            Ok(())
        })
    }
}

impl AccessTrace for PostgresStore {
    fn trace(&self, events: Vec<TraceEvent>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            if events.is_empty() {
                return Ok(());
            }
            let (reply, answer) = oneshot::channel();
            self.tracer
                .send(TraceWrite { events, reply })
                .await
                .map_err(|_| StoreError::WriterGone)?;
            answer.await.map_err(|_| StoreError::WriterGone)?
        })
    }

    fn trace_lines(&self, after: i64, limit: usize) -> BoxFuture<'_, StoreResult<Vec<TraceLine>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = client
                .query(
                    "SELECT seq, entry, prev, hash FROM audit_trail WHERE seq > $1
                      ORDER BY seq LIMIT $2",
                    &[&after, &limit],
                )
                .await
                .map_err(db)?;
            Ok(rows
                .iter()
                .map(|row| TraceLine {
                    seq: row.get(0),
                    entry: row.get(1),
                    prev: row.get(2),
                    hash: row.get(3),
                })
                .collect())
        })
    }
}

impl FollowUps for PostgresStore {
    fn keep_admission_request(
        &self,
        mut request: NewAdmissionRequest,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            self.at_rest.seal_request(&mut request)?;
            let payload = std::mem::take(&mut request.payload);
            let client = self.client().await?;
            let changed = client
                .execute(
                    "INSERT INTO admission_requests (crt_finess_et, request_id, remote_id, changed_at,
                                                     withdrawn, payload, received_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                     ON CONFLICT (crt_finess_et, request_id) DO UPDATE SET
                       remote_id = excluded.remote_id, changed_at = excluded.changed_at,
                       withdrawn = excluded.withdrawn, payload = excluded.payload,
                       updated_at = excluded.updated_at
                     WHERE excluded.changed_at > admission_requests.changed_at",
                    &[
                        &request.crt_finess_et,
                        &request.request_id,
                        &request.remote_id,
                        &request.changed_at,
                        &request.withdrawn,
                        &payload,
                        &request.received_at,
                    ],
                )
                .await
                .map_err(db)?;
            Ok(changed > 0)
        })
    }

    fn update_standing(&self, standing: AdmissionStanding) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let client = self.client().await?;
            let known = client
                .query_opt(
                    "SELECT 1 FROM admission_requests WHERE crt_finess_et = $1 AND request_id = $2",
                    &[&standing.crt_finess_et, &standing.request_id],
                )
                .await
                .map_err(db)?;
            if known.is_none() {
                return Ok(false);
            }
            let rank = standing.rank.map(i64::from);
            client
                .execute(
                    "UPDATE admission_requests
                        SET status = $3, rank = $4, reason = $5, status_at = $6, updated_at = $7
                      WHERE crt_finess_et = $1 AND request_id = $2
                        AND (status_at IS NULL OR status_at <= $6)",
                    &[
                        &standing.crt_finess_et,
                        &standing.request_id,
                        &standing.status,
                        &rank,
                        &standing.reason,
                        &standing.status_at,
                        &standing.updated_at,
                    ],
                )
                .await
                .map_err(db)?;
            Ok(true)
        })
    }

    fn waiting_list(&self, crt: Option<String>) -> BoxFuture<'_, StoreResult<Vec<WaitingEntry>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT crt_finess_et, request_id, remote_id, status, rank, reason, status_at,
                                withdrawn, received_at, updated_at, payload
                           FROM admission_requests
                          WHERE ($1::TEXT IS NULL OR crt_finess_et = $1)
                          ORDER BY {WAITING_ORDER}"
                    ),
                    &[&crt],
                )
                .await
                .map_err(db)?;
            let mut entries = Vec::with_capacity(rows.len());
            for row in rows {
                let mut entry = WaitingEntry {
                    crt_finess_et: row.get(0),
                    request_id: row.get(1),
                    remote_id: row.get(2),
                    status: row.get(3),
                    rank: row.get::<_, Option<i64>>(4).map(|r| r as u32),
                    reason: row.get(5),
                    status_at: row.get(6),
                    withdrawn: row.get(7),
                    received_at: row.get(8),
                    updated_at: row.get(9),
                    request: serde_json::Value::Null,
                };
                entry.request = self.at_rest.open_request(&entry, row.get(10))?;
                entries.push(entry);
            }
            Ok(entries)
        })
    }

    fn keep_partner_entry(&self, entry: PartnerEntry) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let client = self.client().await?;
            let changed = client
                .execute(
                    "INSERT INTO partner_entries (platform, remote_id, crt_finess_et, beneficiary_ref,
                                                  kind, topic, author, written_at, body, changed_at,
                                                  received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (platform, remote_id) DO UPDATE SET
                       crt_finess_et = excluded.crt_finess_et,
                       beneficiary_ref = excluded.beneficiary_ref, kind = excluded.kind,
                       topic = excluded.topic, author = excluded.author,
                       written_at = excluded.written_at, body = excluded.body,
                       changed_at = excluded.changed_at, received_at = excluded.received_at
                     WHERE excluded.changed_at > partner_entries.changed_at",
                    &[
                        &entry.platform,
                        &entry.remote_id,
                        &entry.crt_finess_et,
                        &entry.beneficiary_ref,
                        &entry.kind,
                        &entry.topic,
                        &entry.author,
                        &entry.written_at,
                        &entry.text,
                        &entry.changed_at,
                        &entry.received_at,
                    ],
                )
                .await
                .map_err(db)?;
            Ok(changed > 0)
        })
    }

    fn partner_entries(
        &self,
        filter: PartnerEntryFilter,
    ) -> BoxFuture<'_, StoreResult<Vec<PartnerEntry>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
            let rows = client
                .query(
                    "SELECT platform, remote_id, crt_finess_et, beneficiary_ref, kind, topic,
                            author, written_at, body, changed_at, received_at
                       FROM partner_entries
                      WHERE ($1::TEXT IS NULL OR crt_finess_et = $1)
                        AND ($2::TEXT IS NULL OR beneficiary_ref = $2)
                      ORDER BY written_at DESC, remote_id
                      LIMIT $3",
                    &[&filter.crt, &filter.beneficiary, &limit],
                )
                .await
                .map_err(db)?;
            Ok(rows.iter().map(partner_entry).collect())
        })
    }

    fn keep_volet1_action(&self, action: NewVolet1Action) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let client = self.client().await?;
            let changed = client
                .execute(
                    "INSERT INTO volet1_actions (crt_finess_et, source_ref, updated_at, received_at, payload)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (crt_finess_et, source_ref) DO UPDATE SET
                       updated_at = excluded.updated_at, received_at = excluded.received_at,
                       payload = excluded.payload
                     WHERE excluded.updated_at >= volet1_actions.updated_at",
                    &[
                        &action.crt_finess_et,
                        &action.source_ref,
                        &action.updated_at,
                        &action.received_at,
                        &action.payload,
                    ],
                )
                .await
                .map_err(db)?;
            Ok(changed > 0)
        })
    }

    fn volet1_actions(&self, crt_finess_et: String) -> BoxFuture<'_, StoreResult<Vec<Vec<u8>>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT payload FROM volet1_actions WHERE crt_finess_et = $1
                      ORDER BY source_ref COLLATE \"C\"",
                    &[&crt_finess_et],
                )
                .await
                .map_err(db)?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }
}

impl ReportReads for PostgresStore {
    fn crt_exchanges(&self, crt_finess_et: String) -> BoxFuture<'_, StoreResult<Vec<Exchange>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT d.id, r.beneficiary_ref, d.target, d.work, d.state, d.created_at,
                            d.updated_at, d.receipt
                       FROM records r JOIN deliveries d ON d.record_id = r.id
                      WHERE r.crt_finess_et = $1
                      ORDER BY d.created_at, d.id",
                    &[&crt_finess_et],
                )
                .await
                .map_err(db)?;
            rows.iter()
                .map(|row| {
                    let receipt: Option<&str> = row.get(7);
                    Ok(Exchange {
                        delivery_id: row.get(0),
                        beneficiary_ref: row.get(1),
                        target: row.get(2),
                        work: from_json(row.get(3))?,
                        state: parse_state(row.get(4))?,
                        created_at: row.get(5),
                        updated_at: row.get(6),
                        receipt: receipt.map(from_json).transpose()?,
                    })
                })
                .collect()
        })
    }

    fn crt_record_payloads(
        &self,
        crt_finess_et: String,
    ) -> BoxFuture<'_, StoreResult<Vec<Vec<u8>>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, payload FROM records WHERE crt_finess_et = $1
                      ORDER BY received_at, id",
                    &[&crt_finess_et],
                )
                .await
                .map_err(db)?;
            rows.into_iter()
                .map(|row| {
                    let id: Uuid = row.get(0);
                    self.at_rest.open_record(id, row.get(1))
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests;
