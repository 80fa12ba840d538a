//! `submit FILE|-`: send records (or, with `--volet1`, volet 1 actions) to a running
//! gateway, one JSON document or JSON Lines, several at a time, with a progress line and a
//! summary.

use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use serde::de::IgnoredAny;
use tokio::sync::Semaphore;

use super::Status;
use super::records::problem_text;
use crate::client::ApiClient;
use crate::digest::sha256_hex;

/// Input larger than this is refused: split it.
const MAX_INPUT_BYTES: usize = 1024 * 1024 * 1024;

enum Outcome {
    Accepted { replayed: bool },
    Rejected(String),
    Failed(String),
}

/// What the documents are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// CRT records (`POST /v1/records`, answered 202).
    Record,
    /// Volet 1 actions (`POST /v1/volet1/actions`, answered 200).
    Volet1Action,
}

impl Kind {
    fn route(self) -> (&'static str, StatusCode) {
        match self {
            Kind::Record => ("/v1/records", StatusCode::ACCEPTED),
            Kind::Volet1Action => ("/v1/volet1/actions", StatusCode::OK),
        }
    }
}

pub async fn run(input: &str, url: &str, concurrency: usize, kind: Kind) -> Status {
    let (path, success) = kind.route();
    let client = match ApiClient::new(url) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failed;
        }
    };
    let bytes = match read_input(input) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failed;
        }
    };
    let (documents, trailing_error) = split_documents(&bytes);
    let total = documents.len();
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(total);
    for document in documents {
        let client = client.clone();
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            // The same document always gets the same key, so submitting a file twice does
            // not create records twice.
            let key = format!("submit-{}", &sha256_hex(&document)[..32]);
            match client.post_json(path, document, Some(&key)).await {
                Ok(answer) if answer.status == success => Outcome::Accepted {
                    // A volet 1 action older than the one kept is known already.
                    replayed: answer.replayed || answer.json()["kept"] == false,
                },
                Ok(answer) => {
                    let body = answer.json();
                    let mut text = problem_text(&body, answer.status);
                    for violation in body["violations"].as_array().into_iter().flatten() {
                        text.push_str(&format!(
                            "\n    {}: {} [{}]",
                            violation["pointer"].as_str().unwrap_or(""),
                            violation["message"].as_str().unwrap_or(""),
                            violation["rule"].as_str().unwrap_or("")
                        ));
                    }
                    Outcome::Rejected(text)
                }
                Err(e) => Outcome::Failed(e.to_string()),
            }
        }));
    }
    let progress = std::io::stderr().is_terminal();
    let (mut accepted, mut replayed, mut rejected, mut failed) = (0, 0, 0, 0);
    let mut messages = Vec::new();
    for (index, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Outcome::Accepted { replayed: again }) => {
                accepted += 1;
                replayed += usize::from(again);
            }
            Ok(Outcome::Rejected(text)) => {
                rejected += 1;
                messages.push(format!("document {}: {text}", index + 1));
            }
            Ok(Outcome::Failed(text)) => {
                failed += 1;
                messages.push(format!("document {}: {text}", index + 1));
            }
            Err(e) => {
                failed += 1;
                messages.push(format!("document {}: {e}", index + 1));
            }
        }
        if progress {
            draw(index + 1, total, accepted, rejected, failed);
        }
    }
    if progress {
        eprintln!();
    }
    for message in &messages {
        eprintln!("{message}");
    }
    if let Some(error) = &trailing_error {
        eprintln!("stopped reading the input: {error}");
    }
    println!(
        "{total} submitted: {accepted} accepted ({replayed} already known), {rejected} rejected, {failed} failed"
    );
    if failed > 0 || trailing_error.is_some() {
        Status::Failed
    } else if rejected > 0 {
        Status::Found
    } else {
        Status::Ok
    }
}

fn draw(done: usize, total: usize, accepted: usize, rejected: usize, failed: usize) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let mut stderr = std::io::stderr();
    let _ = write!(
        stderr,
        "\r[{}{}] {done}/{total}  accepted {accepted}  rejected {rejected}  failed {failed}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled)
    );
    let _ = stderr.flush();
}

fn read_input(input: &str) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if input == "-" {
        std::io::stdin()
            .take(MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(input)?
            .take(MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)?;
    }
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(std::io::Error::other(format!(
            "input larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

/// Splits a stream of JSON documents (one pretty document, JSON Lines, or documents one
/// after the other) into the bytes of each. Stops at the first malformed document and
/// says where.
fn split_documents(bytes: &[u8]) -> (Vec<Bytes>, Option<String>) {
    let mut documents = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<IgnoredAny>();
    let mut start = 0;
    loop {
        match stream.next() {
            None => return (documents, None),
            Some(Ok(_)) => {
                let end = stream.byte_offset();
                let document = bytes[start..end].trim_ascii();
                documents.push(Bytes::copy_from_slice(document));
                start = end;
            }
            Some(Err(e)) => {
                let error = format!("document {} is not JSON: {e}", documents.len() + 1);
                return (documents, Some(error));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_and_pretty_documents_split_the_same_way() {
        let (docs, error) = split_documents(b"{\"a\":1}\n{\"b\":\n 2}\n\n{\"c\":3}");
        assert!(error.is_none());
        assert_eq!(docs.len(), 3);
        assert_eq!(&docs[1][..], b"{\"b\":\n 2}");
    }

    #[test]
    fn a_malformed_document_stops_the_reading_and_says_which() {
        let (docs, error) = split_documents(b"{\"a\":1}\n{oops}\n{\"c\":3}");
        assert_eq!(docs.len(), 1);
        assert!(error.unwrap().starts_with("document 2"));
    }
}
