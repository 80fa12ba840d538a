//! The inbox of received messages on PostgreSQL.

use crt_core::sink::BoxFuture;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, db};
use crate::{
    Inbox, KeptReceived, Millis, NewReceivedMessage, ReceivedFilter, ReceivedOriginal,
    ReceivedStatus, ReceivedView, Resolution, ResolveOutcome, StoreResult, from_json, to_json,
};

const COLUMNS: &str = "id, seq, mailbox, message_id, crt_finess_et, beneficiary_ref, status,
                       reason, answers, answered, received_at, updated_at, summary";

impl PostgresStore {
    /// The view of a row selected with [`COLUMNS`], its summary opened.
    fn received_view(&self, row: &Row) -> StoreResult<ReceivedView> {
        let id: Uuid = row.get(0);
        let status: String = row.get(6);
        let answers: String = row.get(8);
        Ok(ReceivedView {
            id,
            seq: row.get(1),
            mailbox: row.get(2),
            message_id: row.get(3),
            crt_finess_et: row.get(4),
            beneficiary_ref: row.get(5),
            status: status.parse()?,
            reason: row.get(7),
            answers: from_json(&answers)?,
            answered: row.get(9),
            received_at: row.get(10),
            updated_at: row.get(11),
            summary: self.at_rest.open_received_summary(id, row.get(12))?,
        })
    }

    async fn received_one(
        &self,
        client: &impl GenericClient,
        id: Uuid,
    ) -> StoreResult<Option<ReceivedView>> {
        client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM received_messages WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(db)?
            .map(|row| self.received_view(&row))
            .transpose()
    }
}

impl Inbox for PostgresStore {
    fn keep_received(
        &self,
        mut message: NewReceivedMessage,
    ) -> BoxFuture<'_, StoreResult<KeptReceived>> {
        Box::pin(async move {
            self.at_rest.seal_received(&mut message)?;
            let client = self.client().await?;
            let inserted = client
                .execute(
                    "INSERT INTO received_messages (id, mailbox, message_id, crt_finess_et,
                         beneficiary_ref, status, reason, answers, answered, summary, message,
                         received_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                     ON CONFLICT (mailbox, message_id) DO NOTHING",
                    &[
                        &message.id,
                        &message.mailbox,
                        &message.message_id,
                        &message.crt_finess_et,
                        &message.beneficiary_ref,
                        &message.status.as_str(),
                        &message.reason,
                        &to_json(&message.answers)?,
                        &message.answered,
                        &message.summary,
                        &message.message,
                        &message.received_at,
                    ],
                )
                .await
                .map_err(db)?;
            if inserted > 0 {
                return Ok(KeptReceived::Kept);
            }
            let row = client
                .query_one(
                    &format!(
                        "SELECT {COLUMNS} FROM received_messages
                          WHERE mailbox = $1 AND message_id = $2"
                    ),
                    &[&message.mailbox, &message.message_id],
                )
                .await
                .map_err(db)?;
            Ok(KeptReceived::Duplicate(Box::new(self.received_view(&row)?)))
        })
    }

    fn mark_answered(&self, id: Uuid) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            self.client()
                .await?
                .execute(
                    "UPDATE received_messages SET answered = TRUE WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(db)?;
            Ok(())
        })
    }

    fn received(&self, filter: ReceivedFilter) -> BoxFuture<'_, StoreResult<Vec<ReceivedView>>> {
        Box::pin(async move {
            let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
            let status = filter.status.map(ReceivedStatus::as_str);
            let rows = self
                .client()
                .await?
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM received_messages
                          WHERE ($1::TEXT IS NULL OR crt_finess_et = $1)
                            AND ($2::TEXT IS NULL OR beneficiary_ref = $2)
                            AND ($3::TEXT IS NULL OR status = $3)
                            AND seq > $4
                          ORDER BY seq
                          LIMIT $5"
                    ),
                    &[
                        &filter.crt,
                        &filter.beneficiary,
                        &status,
                        &filter.after.unwrap_or(0),
                        &limit,
                    ],
                )
                .await
                .map_err(db)?;
            rows.iter().map(|row| self.received_view(row)).collect()
        })
    }

    fn received_message(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<ReceivedOriginal>>> {
        Box::pin(async move {
            let client = self.client().await?;
            let Some(view) = self.received_one(&client, id).await? else {
                return Ok(None);
            };
            let stored: Vec<u8> = client
                .query_one(
                    "SELECT message FROM received_messages WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(db)?
                .get(0);
            let message = self.at_rest.open_received_message(id, stored)?;
            Ok(Some(ReceivedOriginal { view, message }))
        })
    }

    fn resolve_received(
        &self,
        id: Uuid,
        resolution: Resolution,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<ResolveOutcome>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(db)?;
            let status: Option<String> = tx
                .query_opt(
                    "SELECT status FROM received_messages WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await
                .map_err(db)?
                .map(|row| row.get(0));
            let Some(status) = status else {
                return Ok(ResolveOutcome::NotFound);
            };
            let status: ReceivedStatus = status.parse()?;
            if status != ReceivedStatus::Unmatched {
                return Ok(ResolveOutcome::NotInInbox(status));
            }
            let (status, crt, beneficiary, reason) = resolution.outcome();
            tx.execute(
                "UPDATE received_messages
                    SET status = $2, beneficiary_ref = $3, reason = COALESCE($4, reason),
                        updated_at = $5, seq = nextval('received_seq'),
                        crt_finess_et = COALESCE($6, crt_finess_et)
                  WHERE id = $1",
                &[&id, &status.as_str(), &beneficiary, &reason, &now, &crt],
            )
            .await
            .map_err(db)?;
            let view = self.received_one(&tx, id).await?;
            tx.commit().await.map_err(db)?;
            view.map(|view| ResolveOutcome::Resolved(Box::new(view)))
                .ok_or(crate::StoreError::Database(format!(
                    "received message {id} vanished"
                )))
        })
    }
}
