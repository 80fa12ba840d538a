//! The planning's calendar links on PostgreSQL.

use crt_core::sink::BoxFuture;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, db};
use crate::{CalendarLink, Calendars, Millis, NewCalendarLink, StoreError, StoreResult};

const COLUMNS: &str =
    "id, crt_finess_et, subject_kind, subject_ref, label, created_by, created_at, revoked_at";

fn link(row: &Row) -> StoreResult<CalendarLink> {
    let subject: String = row.get(2);
    Ok(CalendarLink {
        id: row.get(0),
        crt_finess_et: row.get(1),
        subject: subject.parse()?,
        subject_ref: row.get(3),
        label: row.get(4),
        created_by: row.get(5),
        created_at: row.get(6),
        revoked_at: row.get(7),
    })
}

async fn one(
    client: &impl GenericClient,
    filter: &str,
    value: &(dyn tokio_postgres::types::ToSql + Sync),
) -> StoreResult<Option<CalendarLink>> {
    client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM calendar_links WHERE {filter} = $1"),
            &[value],
        )
        .await
        .map_err(db)?
        .as_ref()
        .map(link)
        .transpose()
}

impl Calendars for PostgresStore {
    fn keep_calendar_link(&self, new: NewCalendarLink) -> BoxFuture<'_, StoreResult<CalendarLink>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO calendar_links (id, crt_finess_et, subject_kind, subject_ref,
                         label, secret_sha256, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &new.id,
                        &new.crt_finess_et,
                        &new.subject.as_str(),
                        &new.subject_ref,
                        &new.label,
                        &new.secret_sha256,
                        &new.created_by,
                        &new.created_at,
                    ],
                )
                .await
                .map_err(db)?;
            one(&client, "id", &new.id)
                .await?
                .ok_or_else(|| StoreError::Database(format!("calendar link {} vanished", new.id)))
        })
    }

    fn calendar_links(
        &self,
        crt_finess_et: String,
    ) -> BoxFuture<'_, StoreResult<Vec<CalendarLink>>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM calendar_links WHERE crt_finess_et = $1
                          ORDER BY created_at DESC, id DESC"
                    ),
                    &[&crt_finess_et],
                )
                .await
                .map_err(db)?
                .iter()
                .map(link)
                .collect()
        })
    }

    fn calendar_link_by_secret(
        &self,
        secret_sha256: String,
    ) -> BoxFuture<'_, StoreResult<Option<CalendarLink>>> {
        Box::pin(async move {
            let client = self.client().await?;
            one(&client, "secret_sha256", &secret_sha256).await
        })
    }

    fn revoke_calendar_link(
        &self,
        id: Uuid,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<Option<CalendarLink>>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE calendar_links SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                    &[&id, &now],
                )
                .await
                .map_err(db)?;
            one(&client, "id", &id).await
        })
    }
}
