//! The on-call services' alerts on PostgreSQL.

use crt_core::sink::BoxFuture;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, db};
use crate::{
    AlertFilter, AlertOriginal, AlertStatus, AlertStep, AlertStepOutcome, AlertView, Alerts,
    KeptAlert, Millis, NewAlert, StoreError, StoreResult,
};

const COLUMNS: &str = "id, crt_finess_et, source, alert_id, beneficiary_ref, reason, status,
                       raised_at, received_at, taken_by, taken_at, outcome, closed_at";

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
                         reason, status, raised_at, received_at, payload)
                     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9)
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
            let payload = self.at_rest.open_alert(id, row.get(13))?;
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
                        "UPDATE alerts SET status = 'taken', taken_by = $2, taken_at = $3
                          WHERE id = $1",
                        &[&id, by, &now],
                    )
                    .await
                    .map_err(db)?,
                AlertStep::Close { by, outcome } => tx
                    .execute(
                        "UPDATE alerts SET status = 'closed', outcome = $2, closed_at = $3,
                                taken_by = COALESCE(taken_by, $4),
                                taken_at = COALESCE(taken_at, $3)
                          WHERE id = $1",
                        &[&id, outcome, &now, by],
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
}
