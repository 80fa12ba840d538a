//! The on-call services' alerts in the embedded database.

use crt_core::sink::BoxFuture;
use rusqlite::{Connection, OptionalExtension, Row as SqlRow, params};
use uuid::Uuid;

use super::{SqliteStore, WriteOp, Written};
use crate::{
    AlertFilter, AlertOriginal, AlertStatus, AlertStep, AlertStepOutcome, AlertView, Alerts,
    KeptAlert, Millis, NewAlert, StoreError, StoreResult, parse_uuid,
};

const COLUMNS: &str = "id, crt_finess_et, source, alert_id, beneficiary_ref, reason, status,
                       raised_at, received_at, taken_by, taken_at, outcome, closed_at";

/// A row with the fields SQLite keeps as text still as text: id and status.
type Raw = (AlertView, String, String);

fn row(row: &SqlRow<'_>) -> rusqlite::Result<Raw> {
    Ok((
        AlertView {
            id: Uuid::nil(),
            crt_finess_et: row.get(1)?,
            source: row.get(2)?,
            alert_id: row.get(3)?,
            beneficiary_ref: row.get(4)?,
            reason: row.get(5)?,
            status: AlertStatus::Open,
            raised_at: row.get(7)?,
            received_at: row.get(8)?,
            taken_by: row.get(9)?,
            taken_at: row.get(10)?,
            outcome: row.get(11)?,
            closed_at: row.get(12)?,
        },
        row.get(0)?,
        row.get(6)?,
    ))
}

fn finish((mut view, id, status): Raw) -> StoreResult<AlertView> {
    view.id = parse_uuid(&id)?;
    view.status = status.parse()?;
    Ok(view)
}

fn select_one(
    conn: &Connection,
    clause: &str,
    key: &[&dyn rusqlite::ToSql],
) -> StoreResult<Option<AlertView>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM alerts WHERE {clause}"))?
        .query_row(key, row)
        .optional()?
        .map(finish)
        .transpose()
}

/// Keeps `alert` unless the same (CRT, source, alert id) is kept: `(new, as it stands)`.
pub(super) fn keep(tx: &Connection, alert: &NewAlert) -> StoreResult<(bool, AlertView)> {
    let key: [&dyn rusqlite::ToSql; 3] = [&alert.crt_finess_et, &alert.source, &alert.alert_id];
    let clause = "crt_finess_et = ?1 AND source = ?2 AND alert_id = ?3";
    if let Some(kept) = select_one(tx, clause, &key)? {
        return Ok((false, kept));
    }
    tx.prepare_cached(
        "INSERT INTO alerts (id, crt_finess_et, source, alert_id, beneficiary_ref, reason,
                             status, raised_at, received_at, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9)",
    )?
    .execute(params![
        alert.id.to_string(),
        alert.crt_finess_et,
        alert.source,
        alert.alert_id,
        alert.beneficiary_ref,
        alert.reason,
        alert.raised_at,
        alert.received_at,
        alert.payload,
    ])?;
    let kept = select_one(tx, clause, &key)?
        .ok_or_else(|| StoreError::Database(format!("alert {} vanished", alert.id)))?;
    Ok((true, kept))
}

pub(super) fn step(
    tx: &Connection,
    id: Uuid,
    step: &AlertStep,
    now: Millis,
) -> StoreResult<AlertStepOutcome> {
    let key = id.to_string();
    let Some(current) = select_one(tx, "id = ?1", &[&key])? else {
        return Ok(AlertStepOutcome::NotFound);
    };
    if !step.applies_to(current.status) {
        return Ok(AlertStepOutcome::Conflict(Box::new(current)));
    }
    match step {
        AlertStep::Take { by } => tx
            .prepare_cached(
                "UPDATE alerts SET status = 'taken', taken_by = ?2, taken_at = ?3 WHERE id = ?1",
            )?
            .execute(params![key, by, now])?,
        AlertStep::Close { by, outcome } => tx
            .prepare_cached(
                "UPDATE alerts SET status = 'closed', outcome = ?2, closed_at = ?3,
                        taken_by = COALESCE(taken_by, ?4), taken_at = COALESCE(taken_at, ?3)
                  WHERE id = ?1",
            )?
            .execute(params![key, outcome, now, by])?,
    };
    select_one(tx, "id = ?1", &[&key])?
        .map(|view| AlertStepOutcome::Done(Box::new(view)))
        .ok_or_else(|| StoreError::Database(format!("alert {id} vanished")))
}

fn unexpected() -> StoreError {
    StoreError::Database("unexpected writer answer".into())
}

impl Alerts for SqliteStore {
    fn keep_alert(&self, mut alert: NewAlert) -> BoxFuture<'_, StoreResult<KeptAlert>> {
        Box::pin(async move {
            self.at_rest.seal_alert(&mut alert)?;
            match self.write(WriteOp::KeepAlert(Box::new(alert))).await? {
                Written::KeptAlert(true, view) => Ok(KeptAlert::Kept(view)),
                Written::KeptAlert(false, view) => Ok(KeptAlert::Duplicate(view)),
                _ => Err(unexpected()),
            }
        })
    }

    fn alerts(&self, filter: AlertFilter) -> BoxFuture<'_, StoreResult<Vec<AlertView>>> {
        Box::pin(async move {
            self.read(move |conn| {
                let mut statement = conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM alerts
                      WHERE (?1 IS NULL OR crt_finess_et = ?1)
                        AND (?2 IS NULL OR status = ?2)
                      ORDER BY raised_at DESC, id
                      LIMIT ?3"
                ))?;
                let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
                let rows = statement.query_map(
                    params![filter.crt, filter.status.map(AlertStatus::as_str), limit],
                    row,
                )?;
                let mut found = Vec::new();
                for raw in rows {
                    found.push(finish(raw?)?);
                }
                Ok(found)
            })
            .await
        })
    }

    fn alert(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<AlertOriginal>>> {
        Box::pin(async move {
            let found = self
                .read(move |conn| {
                    let key = id.to_string();
                    let Some(view) = select_one(conn, "id = ?1", &[&key])? else {
                        return Ok(None);
                    };
                    let payload: Vec<u8> = conn
                        .prepare_cached("SELECT payload FROM alerts WHERE id = ?1")?
                        .query_row([&key], |r| r.get(0))?;
                    Ok(Some((view, payload)))
                })
                .await?;
            let Some((view, stored)) = found else {
                return Ok(None);
            };
            let payload = self.at_rest.open_alert(id, stored)?;
            Ok(Some((view, payload)))
        })
    }

    fn step_alert(
        &self,
        id: Uuid,
        step: AlertStep,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<AlertStepOutcome>> {
        Box::pin(async move {
            match self.write(WriteOp::StepAlert { id, step, now }).await? {
                Written::AlertStepped(outcome) => Ok(outcome),
                _ => Err(unexpected()),
            }
        })
    }
}
