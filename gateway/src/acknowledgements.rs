//! The mailbox reader: reads the structures' MSSanté mailboxes over IMAPS for MDNs and
//! DSNs, recorded against the delivery their message came from, and for documents
//! partners send, which [`crate::inbox`] imports.
//!
//! A message's Message-ID is `<delivery id@domain>`, so an acknowledgement names its
//! delivery directly. A message is marked seen only once it is recorded (and answered,
//! for documents): a crash between the two reads it again, and the store records it once.
//! Messages that are neither (people write to the structure's mailbox too) are left
//! unread for the structure's own mail client.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crt_mssante::imap::{self, Session};
use crt_mssante::sink::Sender;
use crt_mssante::{MssanteSink, ack};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use uuid::Uuid;

use crate::inbox::{Imported, Importer};
use crate::store::{AcknowledgeOutcome, NewAcknowledgement, Store, now_millis};

/// Runs until `shutdown`, reading every sender mailbox each `poll_interval`.
pub fn spawn(
    sink: Arc<MssanteSink>,
    store: Arc<dyn Store>,
    pseudonyms: Arc<crate::audit::Pseudonyms>,
    mut shutdown: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    let endpoint = match sink.config().imap.as_deref().map(imap::Endpoint::parse) {
        Some(Ok(endpoint)) => endpoint,
        Some(Err(e)) => {
            warn!(error = %e, "mssante.imap unusable: acknowledgements are not read");
            return None;
        }
        None => return None,
    };
    let interval = sink.config().poll_interval;
    let timeout = sink.config().retry.timeout;
    Some(tokio::spawn(async move {
        // UIDs already found not to be notifications, per mailbox.
        let mut ignored: HashMap<String, HashSet<u32>> = HashMap::new();
        loop {
            for sender in sink.senders() {
                let ignored = ignored.entry(sender.address.to_string()).or_default();
                let importer = Importer {
                    store: store.as_ref(),
                    sink: sink.as_ref(),
                    pseudonyms: Some(pseudonyms.as_ref()),
                    caller: "mailbox-reader",
                };
                if let Err(e) = read_mailbox(&endpoint, &sender, &importer, ignored, timeout).await
                {
                    warn!(mailbox = %sender.address, error = %e, "reading acknowledgements failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }))
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Imap(#[from] imap::ImapError),
    #[error("store: {0}")]
    Store(String),
    #[error(transparent)]
    Import(#[from] crate::inbox::ImportError),
}

async fn read_mailbox(
    endpoint: &imap::Endpoint,
    sender: &Sender,
    importer: &Importer<'_>,
    ignored: &mut HashSet<u32>,
    timeout: Duration,
) -> Result<usize, ReadError> {
    let store = importer.store;
    let mut beneficiaries = None;
    let mut session = Session::open(
        endpoint,
        sender.tls.clone(),
        &sender.address.to_string(),
        timeout,
    )
    .await?;
    let mut recorded = 0;
    for uid in session.unseen().await? {
        if ignored.contains(&uid) {
            continue;
        }
        let Some(message) = session.fetch(uid).await? else {
            // Gone from the mailbox since the search (the operator's retention, another
            // reader): nothing to read.
            debug!(uid, "message gone before it was read");
            continue;
        };
        let acknowledgements = ack::read(&message);
        if acknowledgements.is_empty() {
            match importer
                .import(sender, &message, &mut beneficiaries)
                .await?
            {
                Imported::NotDocuments => {
                    ignored.insert(uid);
                }
                Imported::Kept { answered: true, .. } => session.mark_seen(uid).await?,
                // The MDN owed goes at the next reading.
                Imported::Kept { .. } => {}
            }
            continue;
        }
        for acknowledgement in acknowledgements {
            let Some(delivery_id) = delivery_of(&acknowledgement.original_message_id) else {
                debug!(message_id = %acknowledgement.original_message_id, "acknowledgement of a message this gateway did not send");
                continue;
            };
            let outcome = store
                .acknowledge(NewAcknowledgement {
                    delivery_id,
                    recipient: acknowledgement.recipient,
                    status: acknowledgement.status.as_str().to_string(),
                    code: acknowledgement.code,
                    label: acknowledgement.label,
                    kind: acknowledgement.kind.to_string(),
                    notification_id: acknowledgement.notification_id,
                    received_at: now_millis(),
                })
                .await
                .map_err(|e| ReadError::Store(e.to_string()))?;
            match outcome {
                AcknowledgeOutcome::Recorded => recorded += 1,
                AcknowledgeOutcome::Duplicate => {}
                AcknowledgeOutcome::UnknownDelivery => {
                    debug!(%delivery_id, "acknowledgement of an unknown delivery")
                }
            }
        }
        session.mark_seen(uid).await?;
    }
    session.logout().await;
    Ok(recorded)
}

/// The delivery a gateway Message-ID names (`<uuid@domain>`).
fn delivery_of(message_id: &str) -> Option<Uuid> {
    let local = message_id
        .trim_matches(|c| c == '<' || c == '>')
        .split('@')
        .next()?;
    Uuid::parse_str(local).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_name_their_delivery() {
        let id = Uuid::now_v7();
        assert_eq!(delivery_of(&format!("{id}@x.mssante.fr")), Some(id));
        assert_eq!(delivery_of(&format!("<{id}@x.mssante.fr>")), Some(id));
        assert_eq!(delivery_of("199509192301.23456@example"), None);
    }
}
