//! The on-call services' alerts on PostgreSQL.

use crt_core::sink::BoxFuture;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, db};
use crate::{
    AlertCall, AlertDuty, AlertFilter, AlertOriginal, AlertStatus, AlertStep, AlertStepOutcome,
    AlertView, Alerts, DutyKind, DutySettlement, KeptAlert, Millis, NewAlert, StoreError,
    StoreResult, from_json, to_json,
};

const COLUMNS: &str = "id, crt_finess_et, source, alert_id, beneficiary_ref, reason, status,
                       raised_at, received_at, taken_by, taken_at, outcome, closed_at,
                       calls, duty, due_at, last_error, regulation";
/// The column after [`COLUMNS`] in a `SELECT {COLUMNS}, …`.
const NEXT: usize = 18;

fn view(row: &Row) -> StoreResult<AlertView> {
    let status: String = row.get(6);
    Ok(AlertView {
        id: row.get(0),
        crt_finess_et: row.get(1),
        source: row.get(2),
        alert_id: row.get(3),
        beneficiary_ref: row.get(4),
        reason: row.get(5),
        status: status.parse()?,
        raised_at: row.get(7),
        received_at: row.get(8),
        taken_by: row.get(9),
        taken_at: row.get(10),
        outcome: row.get(11),
        closed_at: row.get(12),
        calls: from_json(row.get(13))?,
        duty: row.get(14),
        duty_due_at: row.get(15),
        last_error: row.get(16),
        regulation: row.get::<_, Option<&str>>(17).map(from_json).transpose()?,
    })
}

async fn one(
    client: &impl GenericClient,
    clause: &str,
    key: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> StoreResult<Option<AlertView>> {
    client
        .query_opt(&format!("SELECT {COLUMNS} FROM alerts WHERE {clause}"), key)
        .await
        .map_err(db)?
        .as_ref()
        .map(view)
        .transpose()
}

impl Alerts for PostgresStore {
    fn keep_alert(&self, mut alert: NewAlert) -> BoxFuture<'_, StoreResult<KeptAlert>> {
        Box::pin(async move {
            self.at_rest.seal_alert(&mut alert)?;
            let client = self.client().await?;
            let inserted = client
                .execute(
                    "INSERT INTO alerts (id, crt_finess_et, source, alert_id, beneficiary_ref,
                         reason, status, raised_at, received_at, payload, duty, due_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, 'call', $8)
                     ON CONFLICT (crt_finess_et, source, alert_id) DO NOTHING",
                    &[
                        &alert.id,
                        &alert.crt_finess_et,
                        &alert.source,
                        &alert.alert_id,
                        &alert.beneficiary_ref,
                        &alert.reason,
                        &alert.raised_at,
                        &alert.received_at,
                        &alert.payload,
                    ],
                )
                .await
                .map_err(db)?;
            let kept = one(
                &client,
                "crt_finess_et = $1 AND source = $2 AND alert_id = $3",
                &[&alert.crt_finess_et, &alert.source, &alert.alert_id],
            )
            .await?
            .ok_or_else(|| StoreError::Database(format!("alert {} vanished", alert.id)))?;
            Ok(if inserted > 0 {
                KeptAlert::Kept(Box::new(kept))
            } else {
                KeptAlert::Duplicate(Box::new(kept))
            })
        })
    }

    fn alerts(&self, filter: AlertFilter) -> BoxFuture<'_, StoreResult<Vec<AlertView>>> {
        Box::pin(async move {
            let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
            let status = filter.status.map(AlertStatus::as_str);
            self.client()
                .await?
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM alerts
                          WHERE ($1::TEXT IS NULL OR crt_finess_et = $1)
                            AND ($2::TEXT IS NULL OR status = $2)
                          ORDER BY raised_at DESC, id
                          LIMIT $3"
                    ),
                    &[&filter.crt, &status, &limit],
                )
                .await
                .map_err(db)?
                .iter()
                .map(view)
                .collect()
        })
    }

    fn alert(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<AlertOriginal>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let Some(row) = client
                .query_opt(
                    &format!("SELECT {COLUMNS}, payload FROM alerts WHERE id = $1"),
                    &[&id],
                )
                .await
                .map_err(db)?
            else {
                return Ok(None);
            };
            let payload = self.at_rest.open_alert(id, row.get(NEXT))?;
            Ok(Some((view(&row)?, payload)))
        })
    }

    fn step_alert(
        &self,
        id: Uuid,
        step: AlertStep,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<AlertStepOutcome>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(db)?;
            let Some(current) = one(&tx, "id = $1 FOR UPDATE", &[&id]).await? else {
                return Ok(AlertStepOutcome::NotFound);
            };
            if !step.applies_to(current.status) {
                return Ok(AlertStepOutcome::Conflict(Box::new(current)));
            }
            match &step {
                AlertStep::Take { by } => tx
                    .execute(
                        "UPDATE alerts SET status = 'taken', taken_by = $2, taken_at = $3,
                                duty = NULL, due_at = NULL
                          WHERE id = $1",
                        &[&id, by, &now],
                    )
                    .await
                    .map_err(db)?,
                AlertStep::Close {
                    by,
                    outcome,
                    regulate,
                } => tx
                    .execute(
                        "UPDATE alerts SET status = 'closed', outcome = $2, closed_at = $3,
                                taken_by = COALESCE(taken_by, $4),
                                taken_at = COALESCE(taken_at, $3),
                                duty = CASE WHEN $5 THEN 'regulation' END,
                                due_at = CASE WHEN $5 THEN $3::BIGINT END,
                                duty_attempts = 0, last_error = NULL
                          WHERE id = $1",
                        &[&id, outcome, &now, by, regulate],
                    )
                    .await
                    .map_err(db)?,
            };
            let changed = one(&tx, "id = $1", &[&id]).await?;
            tx.commit().await.map_err(db)?;
            changed
                .map(|view| AlertStepOutcome::Done(Box::new(view)))
                .ok_or_else(|| StoreError::Database(format!("alert {id} vanished")))
        })
    }

    fn lease_alert_duties(
        &self,
        owner: &str,
        limit: usize,
        now: Millis,
        lease_until: Millis,
    ) -> BoxFuture<'_, StoreResult<Vec<AlertDuty>>> {
        let token = format!("{owner}/{}", Uuid::now_v7());
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self
                .client()
                .await?
                .query(
                    &format!(
                        "WITH due AS (
                             SELECT id FROM alerts
                              WHERE duty IS NOT NULL AND due_at <= $1
                                AND (lease_until IS NULL OR lease_until < $1)
                              ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                         UPDATE alerts a SET lease_owner = $3, lease_until = $4,
                                duty_attempts = a.duty_attempts + 1
                           FROM due WHERE a.id = due.id
                         RETURNING {}, a.payload, a.call_position, a.duty_attempts",
                        COLUMNS
                            .split(',')
                            .map(|c| format!("a.{}", c.trim()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    &[&now, &limit, &token, &lease_until],
                )
                .await
                .map_err(db)?;
            let mut duties = Vec::with_capacity(rows.len());
            for row in rows {
                let alert = view(&row)?;
                let position: i32 = row.get(NEXT + 1);
                let attempt: i32 = row.get(NEXT + 2);
                let kind = DutyKind::parse(
                    alert.duty.as_deref().unwrap_or_default(),
                    u32::try_from(position).unwrap_or_default(),
                )?;
                duties.push(AlertDuty {
                    payload: self.at_rest.open_alert(alert.id, row.get(NEXT))?,
                    alert,
                    kind,
                    attempt: u32::try_from(attempt).unwrap_or_default(),
                    lease: token.clone(),
                });
            }
            Ok(duties)
        })
    }

    fn settle_alert_duty(
        &self,
        id: Uuid,
        lease: String,
        kind: DutyKind,
        settlement: DutySettlement,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(db)?;
            let Some(row) = tx
                .query_opt(
                    "SELECT lease_owner, duty, calls FROM alerts WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await
                .map_err(db)?
            else {
                return Ok(false);
            };
            let owner: Option<String> = row.get(0);
            if owner.as_deref() != Some(lease.as_str()) {
                return Ok(false);
            }
            let duty: Option<String> = row.get(1);
            tx.execute(
                "UPDATE alerts SET lease_owner = NULL, lease_until = NULL WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(db)?;
            if duty.as_deref() == Some(kind.as_str()) {
                match &settlement {
                    DutySettlement::Called { call, next } => {
                        let mut made: Vec<AlertCall> = from_json(row.get(2))?;
                        made.push(call.clone());
                        let position = i32::try_from(call.position + 1).unwrap_or(i32::MAX);
                        tx.execute(
                            "UPDATE alerts SET calls = $2, call_position = $3, duty_attempts = 0,
                                    last_error = NULL, due_at = $4,
                                    duty = CASE WHEN $4::BIGINT IS NULL THEN NULL ELSE duty END
                              WHERE id = $1",
                            &[&id, &to_json(&made)?, &position, next],
                        )
                        .await
                        .map_err(db)?;
                    }
                    DutySettlement::Regulated(sent) => {
                        tx.execute(
                            "UPDATE alerts SET regulation = $2, duty = NULL, due_at = NULL,
                                    duty_attempts = 0, last_error = NULL
                              WHERE id = $1",
                            &[&id, &to_json(sent)?],
                        )
                        .await
                        .map_err(db)?;
                    }
                    DutySettlement::Finished => {
                        tx.execute(
                            "UPDATE alerts SET duty = NULL, due_at = NULL, duty_attempts = 0
                              WHERE id = $1",
                            &[&id],
                        )
                        .await
                        .map_err(db)?;
                    }
                    DutySettlement::Retry { at, error } => {
                        tx.execute(
                            "UPDATE alerts SET due_at = $2, last_error = $3 WHERE id = $1",
                            &[&id, &(*at).max(now), error],
                        )
                        .await
                        .map_err(db)?;
                    }
                }
            }
            tx.commit().await.map_err(db)?;
            Ok(true)
        })
    }
}
