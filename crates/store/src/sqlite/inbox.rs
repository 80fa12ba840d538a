//! The inbox of received messages in the embedded database.

use crt_core::sink::BoxFuture;
use rusqlite::{Connection, OptionalExtension, Row as SqlRow, params};
use uuid::Uuid;

use super::{SqliteStore, WriteOp, Written, unexpected};
use crate::{
    Inbox, KeptReceived, Millis, NewReceivedMessage, ReceivedFilter, ReceivedOriginal,
    ReceivedStatus, ReceivedView, Resolution, ResolveOutcome, StoreError, StoreResult, from_json,
    parse_uuid, to_json,
};

const COLUMNS: &str = "id, seq, mailbox, message_id, crt_finess_et, beneficiary_ref, status,
                       reason, answers, answered, received_at, updated_at, summary";

/// A row as stored: the view without its summary, and the sealed summary.
#[derive(Debug)]
pub(super) struct Row {
    view: ReceivedView,
    summary: Vec<u8>,
}

#[derive(Debug)]
pub(super) enum Resolved {
    Done(Box<Row>),
    NotFound,
    NotInInbox(ReceivedStatus),
}

fn row(row: &SqlRow<'_>) -> rusqlite::Result<(Row, String, String, String)> {
    Ok((
        Row {
            view: ReceivedView {
                id: Uuid::nil(),
                seq: row.get(1)?,
                mailbox: row.get(2)?,
                message_id: row.get(3)?,
                crt_finess_et: row.get(4)?,
                beneficiary_ref: row.get(5)?,
                status: ReceivedStatus::Unmatched,
                reason: row.get(7)?,
                answers: Vec::new(),
                answered: row.get(9)?,
                received_at: row.get(10)?,
                updated_at: row.get(11)?,
                summary: serde_json::Value::Null,
            },
            summary: row.get(12)?,
        },
        row.get(0)?,
        row.get(6)?,
        row.get(8)?,
    ))
}

/// The typed fields SQLite keeps as text.
fn finish((mut row, id, status, answers): (Row, String, String, String)) -> StoreResult<Row> {
    row.view.id = parse_uuid(&id)?;
    row.view.status = status.parse()?;
    row.view.answers = from_json(&answers)?;
    Ok(row)
}

fn select_one(
    tx: &Connection,
    clause: &str,
    key: &[&dyn rusqlite::ToSql],
) -> StoreResult<Option<Row>> {
    tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM received_messages WHERE {clause}"
    ))?
    .query_row(key, row)
    .optional()?
    .map(finish)
    .transpose()
}

fn next_seq(tx: &Connection) -> StoreResult<i64> {
    Ok(tx
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM received_messages")?
        .query_row([], |row| row.get(0))?)
}

pub(super) fn keep(tx: &Connection, message: &NewReceivedMessage) -> StoreResult<Option<Box<Row>>> {
    if let Some(kept) = select_one(
        tx,
        "mailbox = ?1 AND message_id = ?2",
        &[&message.mailbox, &message.message_id],
    )? {
        return Ok(Some(Box::new(kept)));
    }
    let seq = next_seq(tx)?;
    tx.prepare_cached(
        "INSERT INTO received_messages (id, mailbox, message_id, crt_finess_et, beneficiary_ref,
                                        status, reason, answers, answered, summary, message,
                                        received_at, updated_at, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)",
    )?
    .execute(params![
        message.id.to_string(),
        message.mailbox,
        message.message_id,
        message.crt_finess_et,
        message.beneficiary_ref,
        message.status.as_str(),
        message.reason,
        to_json(&message.answers)?,
        message.answered,
        message.summary,
        message.message,
        message.received_at,
        seq,
    ])?;
    Ok(None)
}

pub(super) fn mark_answered(tx: &Connection, id: Uuid) -> StoreResult<()> {
    tx.prepare_cached("UPDATE received_messages SET answered = 1 WHERE id = ?1")?
        .execute([id.to_string()])?;
    Ok(())
}

pub(super) fn resolve(
    tx: &Connection,
    id: Uuid,
    resolution: &Resolution,
    now: Millis,
) -> StoreResult<Resolved> {
    let key = id.to_string();
    let Some(kept) = select_one(tx, "id = ?1", &[&key])? else {
        return Ok(Resolved::NotFound);
    };
    if kept.view.status != ReceivedStatus::Unmatched {
        return Ok(Resolved::NotInInbox(kept.view.status));
    }
    let (status, crt, beneficiary, reason) = resolution.outcome();
    let seq = next_seq(tx)?;
    tx.prepare_cached(
        "UPDATE received_messages
            SET status = ?2, beneficiary_ref = ?3, reason = COALESCE(?4, reason), updated_at = ?5,
                seq = ?6,
                crt_finess_et = COALESCE(?7, crt_finess_et)
          WHERE id = ?1",
    )?
    .execute(params![
        key,
        status.as_str(),
        beneficiary,
        reason,
        now,
        seq,
        crt
    ])?;
    select_one(tx, "id = ?1", &[&key])?
        .map(|row| Resolved::Done(Box::new(row)))
        .ok_or_else(|| StoreError::Database(format!("received message {id} vanished")))
}

impl SqliteStore {
    fn opened(&self, row: Row) -> StoreResult<ReceivedView> {
        let mut view = row.view;
        view.summary = self.at_rest.open_received_summary(view.id, row.summary)?;
        Ok(view)
    }
}

impl Inbox for SqliteStore {
    fn keep_received(
        &self,
        mut message: NewReceivedMessage,
    ) -> BoxFuture<'_, StoreResult<KeptReceived>> {
        Box::pin(async move {
            self.at_rest.seal_received(&mut message)?;
            match self.write(WriteOp::KeepReceived(Box::new(message))).await? {
                Written::KeptReceived(None) => Ok(KeptReceived::Kept),
                Written::KeptReceived(Some(row)) => {
                    Ok(KeptReceived::Duplicate(Box::new(self.opened(*row)?)))
                }
                _ => Err(unexpected()),
            }
        })
    }

    fn mark_answered(&self, id: Uuid) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            match self.write(WriteOp::MarkAnswered(id)).await? {
                Written::Answered => Ok(()),
                _ => Err(unexpected()),
            }
        })
    }

    fn received(&self, filter: ReceivedFilter) -> BoxFuture<'_, StoreResult<Vec<ReceivedView>>> {
        Box::pin(async move {
            let rows = self
                .read(move |conn| {
                    let mut statement = conn.prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM received_messages
                          WHERE (?1 IS NULL OR crt_finess_et = ?1)
                            AND (?2 IS NULL OR beneficiary_ref = ?2)
                            AND (?3 IS NULL OR status = ?3)
                            AND seq > ?4
                          ORDER BY seq
                          LIMIT ?5"
                    ))?;
                    let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
                    let rows = statement.query_map(
                        params![
                            filter.crt,
                            filter.beneficiary,
                            filter.status.map(ReceivedStatus::as_str),
                            filter.after.unwrap_or(0),
                            limit
                        ],
                        row,
                    )?;
                    let mut kept = Vec::new();
                    for raw in rows {
                        kept.push(finish(raw?)?);
                    }
                    Ok(kept)
                })
                .await?;
            rows.into_iter().map(|row| self.opened(row)).collect()
        })
    }

    fn received_message(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<ReceivedOriginal>>> {
        Box::pin(async move {
            let found = self
                .read(move |conn| {
                    let key = id.to_string();
                    let Some(row) = select_one(conn, "id = ?1", &[&key])? else {
                        return Ok(None);
                    };
                    let message: Vec<u8> = conn
                        .prepare_cached("SELECT message FROM received_messages WHERE id = ?1")?
                        .query_row([&key], |r| r.get(0))?;
                    Ok(Some((row, message)))
                })
                .await?;
            let Some((row, stored)) = found else {
                return Ok(None);
            };
            let message = self.at_rest.open_received_message(id, stored)?;
            Ok(Some(ReceivedOriginal {
                view: self.opened(row)?,
                message,
            }))
        })
    }

    fn resolve_received(
        &self,
        id: Uuid,
        resolution: Resolution,
        now: Millis,
    ) -> BoxFuture<'_, StoreResult<ResolveOutcome>> {
        Box::pin(async move {
            match self
                .write(WriteOp::Resolve {
                    id,
                    resolution,
                    now,
                })
                .await?
            {
                Written::Resolved(Resolved::Done(row)) => {
                    Ok(ResolveOutcome::Resolved(Box::new(self.opened(*row)?)))
                }
                Written::Resolved(Resolved::NotFound) => Ok(ResolveOutcome::NotFound),
                Written::Resolved(Resolved::NotInInbox(status)) => {
                    Ok(ResolveOutcome::NotInInbox(status))
                }
                _ => Err(unexpected()),
            }
        })
    }
}
