//! The messages a task exchanges with national services, kept when someone asks for them.
//!
//! Conformity campaigns attach every exchanged message to their report. Rather than threading
//! a recorder through every client, a campaign runs a scenario inside [`recorded`]; the
//! transports (the HTTPS client, the MSSanté SMTP client) call [`record`], which does
//! nothing outside such a scope. A scenario may also ask for one outgoing body to be
//! altered ([`Tamper`]), to check that a platform refuses what the real service refuses:
//! that too applies only inside a campaign's scope.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;

/// One request and its answer, as they went over the wire.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// `POST`, `GET`, `SMTP`…
    pub method: String,
    pub url: String,
    /// Request headers; credentials (Authorization) are masked.
    pub request_headers: Vec<(String, String)>,
    #[serde(skip)]
    pub request_body: Bytes,
    /// The status (`201`, `250`…), or `None` when no answer came.
    pub status: Option<u16>,
    pub response_content_type: Option<String>,
    #[serde(skip)]
    pub response_body: Bytes,
    /// Why there was no answer (TLS refused, connection failed, timeout).
    pub error: Option<String>,
    /// Whether a [`Tamper`] altered the request.
    pub tampered: bool,
}

/// A change to the first outgoing request body that contains `find`.
#[derive(Debug, Clone)]
pub struct Tamper {
    pub find: String,
    pub replace: String,
}

#[derive(Default)]
struct State {
    exchanges: Vec<Exchange>,
    tamper: Option<Tamper>,
}

/// What a scope recorded. Cheap to clone: clones share the record.
#[derive(Clone, Default)]
pub struct Transcript {
    state: Arc<Mutex<State>>,
}

impl Transcript {
    pub fn new(tamper: Option<Tamper>) -> Transcript {
        Transcript {
            state: Arc::new(Mutex::new(State {
                exchanges: Vec::new(),
                tamper,
            })),
        }
    }

    /// The exchanges recorded so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state
            .lock()
            .map(|s| s.exchanges.clone())
            .unwrap_or_default()
    }

    /// Whether the tamper (if any) found its text and was applied.
    pub fn tamper_applied(&self) -> bool {
        self.state
            .lock()
            .map(|s| s.exchanges.iter().any(|e| e.tampered))
            .unwrap_or(false)
    }
}

tokio::task_local! {
    static CURRENT: Transcript;
}

/// Runs `future` with `transcript` recording what its transports exchange.
pub async fn recorded<F: Future>(transcript: Transcript, future: F) -> F::Output {
    CURRENT.scope(transcript, future).await
}

/// Whether the current task records: transports skip the copies otherwise.
pub fn active() -> bool {
    CURRENT.try_with(|_| ()).is_ok()
}

/// Records an exchange, if the current task records.
pub fn record(exchange: Exchange) {
    let _ = CURRENT.try_with(|transcript| {
        if let Ok(mut state) = transcript.state.lock() {
            state.exchanges.push(exchange);
        }
    });
}

/// The body to send: `body`, or `body` altered by the scope's pending tamper (applied once).
pub fn tampered(body: Bytes) -> (Bytes, bool) {
    CURRENT
        .try_with(|transcript| {
            let Ok(mut state) = transcript.state.lock() else {
                return (body.clone(), false);
            };
            let Some(tamper) = state.tamper.as_ref() else {
                return (body.clone(), false);
            };
            let Some(at) = crate::multipart::find(&body, tamper.find.as_bytes(), 0) else {
                return (body.clone(), false);
            };
            let mut altered = Vec::with_capacity(body.len() + tamper.replace.len());
            altered.extend_from_slice(&body[..at]);
            altered.extend_from_slice(tamper.replace.as_bytes());
            altered.extend_from_slice(&body[at + tamper.find.len()..]);
            state.tamper = None;
            (Bytes::from(altered), true)
        })
        .unwrap_or((body, false))
}

/// Request headers as recorded: names kept, credentials masked.
pub fn headers(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name.eq_ignore_ascii_case("authorization") {
                match value.split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} …"),
                    None => "…".to_string(),
                }
            } else if name.eq_ignore_ascii_case("esante-api-key") {
                // The Annuaire Santé's API key is a credential too.
                "…".to_string()
            } else {
                value.to_string()
            };
            (name.to_string(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_only_inside_a_scope_and_tampers_once() {
        assert!(!active());
        record(Exchange {
            method: "POST".into(),
            url: "https://x".into(),
            request_headers: Vec::new(),
            request_body: Bytes::new(),
            status: None,
            response_content_type: None,
            response_body: Bytes::new(),
            error: None,
            tampered: false,
        });
        assert_eq!(tampered(Bytes::from_static(b"abc")).0, "abc");

        let transcript = Transcript::new(Some(Tamper {
            find: "b".into(),
            replace: "XY".into(),
        }));
        let (first, second) = recorded(transcript.clone(), async {
            assert!(active());
            (
                tampered(Bytes::from_static(b"abc")),
                tampered(Bytes::from_static(b"abc")),
            )
        })
        .await;
        assert_eq!(first, (Bytes::from_static(b"aXYc"), true));
        assert_eq!(second, (Bytes::from_static(b"abc"), false));
        assert!(transcript.exchanges().is_empty());
        assert_eq!(
            headers(&[("Authorization", "Bearer secret"), ("Accept", "x")])[0].1,
            "Bearer …"
        );
    }
}
