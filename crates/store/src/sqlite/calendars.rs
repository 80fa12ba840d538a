//! The planning's calendar links in the embedded database.

use crt_core::sink::BoxFuture;
use rusqlite::{Connection, OptionalExtension, Row as SqlRow, params};
use uuid::Uuid;

use super::{SqliteStore, WriteOp, Written, unexpected};
use crate::{
    CalendarLink, Calendars, Millis, NewCalendarLink, StoreError, StoreResult, parse_uuid,
};

const COLUMNS: &str =
    "id, crt_finess_et, subject_kind, subject_ref, label, created_by, created_at, revoked_at";

fn row(row: &SqlRow<'_>) -> rusqlite::Result<(String, String, CalendarLink)> {
    Ok((
        row.get(0)?,
        row.get(2)?,
        CalendarLink {
            id: Uuid::nil(),
            crt_finess_et: row.get(1)?,
            subject: crate::CalendarSubject::Beneficiary,
            subject_ref: row.get(3)?,
            label: row.get(4)?,
            created_by: row.get(5)?,
            created_at: row.get(6)?,
            revoked_at: row.get(7)?,
        },
    ))
}

fn finish((id, subject, mut link): (String, String, CalendarLink)) -> StoreResult<CalendarLink> {
    link.id = parse_uuid(&id)?;
    link.subject = subject.parse()?;
    Ok(link)
}

fn one(conn: &Connection, filter: &str, value: &str) -> StoreResult<Option<CalendarLink>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM calendar_links WHERE {filter} = ?1"
    ))?
    .query_row([value], row)
    .optional()?
    .map(finish)
    .transpose()
}

pub(super) fn keep(tx: &Connection, link: &NewCalendarLink) -> StoreResult<CalendarLink> {
    tx.prepare_cached(
        "INSERT INTO calendar_links (id, crt_finess_et, subject_kind, subject_ref, label,
             secret_sha256, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        link.id.to_string(),
        link.crt_finess_et,
        link.subject.as_str(),
        link.subject_ref,
        link.label,
        link.secret_sha256,
        link.created_by,
        link.created_at,
    ])?;
    one(tx, "id", &link.id.to_string())?
        .ok_or_else(|| StoreError::Database(format!("calendar link {} vanished", link.id)))
}

pub(super) fn revoke(tx: &Connection, id: Uuid, now: Millis) -> StoreResult<Option<CalendarLink>> {
    tx.prepare_cached(
        "UPDATE calendar_links SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    )?
    .execute(params![id.to_string(), now])?;
    one(tx, "id", &id.to_string())
}

impl Calendars for SqliteStore {
    fn keep_calendar_link(
        &self,
        link: NewCalendarLink,
    ) -> BoxFuture<'_, StoreResult<CalendarLink>> {
        Box::pin(async move {
            match self
                .write(WriteOp::KeepCalendarLink(Box::new(link)))
                .await?
            {
                Written::CalendarLink(Some(link)) => Ok(*link),
                _ => Err(unexpected()),
            }
        })
    }

    fn calendar_links(
        &self,
        crt_finess_et: String,
    ) -> BoxFuture<'_, StoreResult<Vec<CalendarLink>>> {
        Box::pin(self.read(move |conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM calendar_links WHERE crt_finess_et = ?1
                  ORDER BY created_at DESC, id DESC"
            ))?;
            let rows = statement.query_map([&crt_finess_et], row)?;
            let mut links = Vec::new();
            for raw in rows {
                links.push(finish(raw?)?);
            }
            Ok(links)
        }))
    }

    fn calendar_link_by_secret(
        &self,
        secret_sha256: String,
    ) -> BoxFuture<'_, StoreResult<Option<CalendarLink>>> {
        Box::pin(self.read(move |conn| one(conn, "secret_sha256", &secret_sha256)))
    }

    fn revoke_calendar_link(
        &self,
        id: Uuid,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<Option<CalendarLink>>> {
        Box::pin(async move {
            match self.write(WriteOp::RevokeCalendarLink { id, now }).await? {
                Written::CalendarLink(link) => Ok(link.map(|l| *l)),
                _ => Err(unexpected()),
            }
        })
    }
}
