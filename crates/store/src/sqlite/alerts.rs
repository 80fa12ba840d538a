//! The on-call services' alerts in the embedded database.

use crt_core::sink::BoxFuture;
use rusqlite::{Connection, OptionalExtension, Row as SqlRow, params};
use uuid::Uuid;

use super::{SqliteStore, WriteOp, Written, unexpected};
use crate::{
    AlertDuty, AlertFilter, AlertOriginal, AlertStatus, AlertStep, AlertStepOutcome, AlertView,
    Alerts, DutyKind, DutySettlement, KeptAlert, Millis, NewAlert, StoreError, StoreResult,
    from_json, parse_uuid, to_json,
};

const COLUMNS: &str = "id, crt_finess_et, source, alert_id, beneficiary_ref, reason, status,
                       raised_at, received_at, taken_by, taken_at, outcome, closed_at,
                       calls, duty, due_at, last_error, regulation";

/// A row with the fields SQLite keeps as text still as text: id, status, calls and the
/// regulation.
type Raw = (AlertView, String, String, String, Option<String>);

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
            calls: Vec::new(),
            duty: row.get(14)?,
            duty_due_at: row.get(15)?,
            last_error: row.get(16)?,
            regulation: None,
        },
        row.get(0)?,
        row.get(6)?,
        row.get(13)?,
        row.get(17)?,
    ))
}

fn finish((mut view, id, status, calls, regulation): Raw) -> StoreResult<AlertView> {
    view.id = parse_uuid(&id)?;
    view.status = status.parse()?;
    view.calls = from_json(&calls)?;
    view.regulation = regulation.as_deref().map(from_json).transpose()?;
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
                             status, raised_at, received_at, payload, duty, due_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9, 'call', ?8)",
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
                "UPDATE alerts SET status = 'taken', taken_by = ?2, taken_at = ?3,
                        duty = NULL, due_at = NULL
                  WHERE id = ?1",
            )?
            .execute(params![key, by, now])?,
        AlertStep::Close {
            by,
            outcome,
            regulate,
        } => tx
            .prepare_cached(
                "UPDATE alerts SET status = 'closed', outcome = ?2, closed_at = ?3,
                        taken_by = COALESCE(taken_by, ?4), taken_at = COALESCE(taken_at, ?3),
                        duty = CASE WHEN ?5 THEN 'regulation' END,
                        due_at = CASE WHEN ?5 THEN ?3 END,
                        duty_attempts = 0, last_error = NULL
                  WHERE id = ?1",
            )?
            .execute(params![key, outcome, now, by, regulate])?,
    };
    select_one(tx, "id = ?1", &[&key])?
        .map(|view| AlertStepOutcome::Done(Box::new(view)))
        .ok_or_else(|| StoreError::Database(format!("alert {id} vanished")))
}

/// Leases the duties due at `now`: `(lease, [(alert, payload, kind, attempt)])`.
pub(super) fn lease(
    tx: &Connection,
    token: &str,
    limit: usize,
    now: Millis,
    lease_until: Millis,
) -> StoreResult<Vec<AlertDuty>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM alerts
              WHERE duty IS NOT NULL AND due_at <= ?1
                AND (lease_until IS NULL OR lease_until < ?1)
              ORDER BY due_at LIMIT ?2",
        )?
        .query_map(params![now, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut duties = Vec::with_capacity(ids.len());
    for key in ids {
        tx.prepare_cached(
            "UPDATE alerts SET lease_owner = ?2, lease_until = ?3,
                    duty_attempts = duty_attempts + 1
              WHERE id = ?1",
        )?
        .execute(params![key, token, lease_until])?;
        let (duty, position, attempt, payload): (String, u32, u32, Vec<u8>) = tx
            .prepare_cached(
                "SELECT duty, call_position, duty_attempts, payload FROM alerts WHERE id = ?1",
            )?
            .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        let alert = select_one(tx, "id = ?1", &[&key])?
            .ok_or_else(|| StoreError::Database(format!("alert {key} vanished")))?;
        duties.push(AlertDuty {
            alert,
            payload,
            kind: DutyKind::parse(&duty, position)?,
            attempt,
            lease: token.to_string(),
        });
    }
    Ok(duties)
}

/// Settles a leased duty; `false` when the lease is not `lease` any more.
pub(super) fn settle(
    tx: &Connection,
    id: Uuid,
    lease: &str,
    kind: DutyKind,
    settlement: &DutySettlement,
    now: Millis,
) -> StoreResult<bool> {
    let key = id.to_string();
    let held: Option<(Option<String>, Option<String>, String)> = tx
        .prepare_cached("SELECT lease_owner, duty, calls FROM alerts WHERE id = ?1")?
        .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((Some(owner), duty, calls)) = held else {
        return Ok(false);
    };
    if owner != lease {
        return Ok(false);
    }
    tx.prepare_cached("UPDATE alerts SET lease_owner = NULL, lease_until = NULL WHERE id = ?1")?
        .execute([&key])?;
    // The alert moved on while the duty was done (taken, closed): its new duty stands.
    if duty.as_deref() != Some(kind.as_str()) {
        return Ok(true);
    }
    match settlement {
        DutySettlement::Called { call, next } => {
            let mut made: Vec<crate::AlertCall> = from_json(&calls)?;
            made.push(call.clone());
            tx.prepare_cached(
                "UPDATE alerts SET calls = ?2, call_position = ?3, duty_attempts = 0,
                        last_error = NULL, due_at = ?4,
                        duty = CASE WHEN ?4 IS NULL THEN NULL ELSE duty END
                  WHERE id = ?1",
            )?
            .execute(params![key, to_json(&made)?, call.position + 1, next])?;
        }
        DutySettlement::Regulated(sent) => {
            tx.prepare_cached(
                "UPDATE alerts SET regulation = ?2, duty = NULL, due_at = NULL,
                        duty_attempts = 0, last_error = NULL
                  WHERE id = ?1",
            )?
            .execute(params![key, to_json(sent)?])?;
        }
        DutySettlement::Finished => {
            tx.prepare_cached(
                "UPDATE alerts SET duty = NULL, due_at = NULL, duty_attempts = 0 WHERE id = ?1",
            )?
            .execute([&key])?;
        }
        DutySettlement::Retry { at, error } => {
            tx.prepare_cached("UPDATE alerts SET due_at = ?2, last_error = ?3 WHERE id = ?1")?
                .execute(params![key, at.max(&now), error])?;
        }
    }
    Ok(true)
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

    fn lease_alert_duties(
        &self,
        owner: &str,
        limit: usize,
        now: Millis,
        lease_until: Millis,
    ) -> BoxFuture<'_, StoreResult<Vec<AlertDuty>>> {
        let token = format!("{owner}/{}", Uuid::now_v7());
        Box::pin(async move {
            let op = WriteOp::LeaseAlertDuties {
                token,
                limit,
                now,
                lease_until,
            };
            let Written::AlertDuties(mut duties) = self.write(op).await? else {
                return Err(unexpected());
            };
            for duty in &mut duties {
                duty.payload = self
                    .at_rest
                    .open_alert(duty.alert.id, std::mem::take(&mut duty.payload))?;
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
            let op = WriteOp::SettleAlertDuty(Box::new((id, lease, kind, settlement, now)));
            match self.write(op).await? {
                Written::DutySettled(applied) => Ok(applied),
                _ => Err(unexpected()),
            }
        })
    }
}
