//! The Annuaire Santé FHIR API as the care-circle check uses it: one Practitioner search
//! by idNat_PS with the practitioner's roles included, its answer kept for a while.
//!
//! The API is public data behind an API key (`ESANTE-API-KEY`), over plain server-side
//! TLS. Its gateway allows an application 17 calls a second: the client spaces its calls
//! so that a large care circle does not run into the limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use crt_core::http::{HttpError, HttpsClient};
use crt_core::oauth::form;
use crt_core::tls::{self, TlsError};
use http::Method;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::cache::{AnswerCache, MAX_CACHED};
use crate::codes::{API_KEY_HEADER, ID_NAT_PS_SYSTEM, REVINCLUDE_ROLES};
use crate::config::AnnuaireConfig;
use crate::entry::{PractitionerEntry, read_bundle};

/// Largest answer read. One practitioner and their roles take a few kilobytes.
pub const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;
/// The API gateway's limit for one application.
pub const CALLS_PER_SECOND: u32 = 17;
/// The longest idNat_PS accepted (`8` + RPPS is 12 characters, `0` + ADELI 10).
const MAX_ID_NAT_PS: usize = 20;
/// The start of a refusal kept in its error.
const MAX_DETAIL: usize = 200;

/// Why the directory gave no answer about a practitioner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Not reached, no answer in time, or a failure on its side (5xx, rate limit): the
    /// practitioner is not checked this time.
    #[error("the directory could not be asked: {0}")]
    Unavailable(String),
    /// The directory refused the request (401: the API key is missing or wrong).
    #[error("the directory refused the request (HTTP {status}): {detail}")]
    Refused { status: u16, detail: String },
    /// It answered something other than a readable Bundle.
    #[error("the directory's answer cannot be read: {0}")]
    Answer(String),
    /// Refused before asking, so that nothing but an identifier goes into the query.
    #[error("not an idNat_PS: 1 to {MAX_ID_NAT_PS} letters or digits are expected")]
    BadIdentifier,
}

/// Why a client cannot be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "sinks.directory.{0} is required when the directory check is enabled outside the sandbox"
    )]
    Missing(&'static str),
    #[error("sinks.directory.base_url must be an https:// URL")]
    BadUrl,
    #[error("the directory's API key must be printable ASCII without spaces")]
    BadKey,
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// The Annuaire Santé, for one gateway: its answers are kept for all deliveries.
pub struct Directory {
    http: HttpsClient,
    base: String,
    api_key: String,
    cache: AnswerCache,
    pacer: Pacer,
    /// One lock per idNat_PS being looked up: deliveries that ask for the same
    /// practitioner at once (a CRT's records share their care circle) wait for the one
    /// asking, then read its answer from the cache, rather than each spending a turn of
    /// the API's rate on the same question.
    asking: std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Directory {
    /// A client with the API key of the environment ([`crate::config::API_KEY_VARIABLE`])
    /// or, failing it, of the section.
    pub fn from_config(config: &AnnuaireConfig) -> Result<Directory, SetupError> {
        let api_key = config
            .resolved_api_key()
            .ok_or(SetupError::Missing("api_key"))?;
        Directory::with_api_key(config, api_key)
    }

    /// A client with this API key, whatever the environment says.
    pub fn with_api_key(config: &AnnuaireConfig, api_key: String) -> Result<Directory, SetupError> {
        let base = config
            .base_url
            .as_deref()
            .ok_or(SetupError::Missing("base_url"))?;
        if !base.starts_with("https://") {
            return Err(SetupError::BadUrl);
        }
        if api_key.is_empty() || !api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SetupError::BadKey);
        }
        let trust = config
            .trust
            .as_deref()
            .ok_or(SetupError::Missing("trust"))?;
        let tls = tls::client_config(trust, None)?;
        Ok(Directory {
            http: HttpsClient::new(tls, config.timeout(), MAX_ANSWER_BYTES),
            base: base.trim_end_matches('/').to_string(),
            api_key,
            cache: AnswerCache::new(Duration::from_secs(config.cache_seconds), MAX_CACHED),
            pacer: Pacer::new(CALLS_PER_SECOND),
            asking: std::sync::Mutex::default(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The practitioner with this idNat_PS (`8` + RPPS), with the MSSanté mailboxes of
    /// their roles; `None` when the directory does not know them. Answers, `None`
    /// included, are kept for `cache_seconds`; failures are not.
    pub async fn practitioner(
        &self,
        id_nat_ps: &str,
    ) -> Result<Option<PractitionerEntry>, DirectoryError> {
        if id_nat_ps.is_empty()
            || id_nat_ps.len() > MAX_ID_NAT_PS
            || !id_nat_ps.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(DirectoryError::BadIdentifier);
        }
        if let Some(answer) = self.cache.get(id_nat_ps) {
            return Ok(answer);
        }
        let turn = self
            .asking()
            .entry(id_nat_ps.to_string())
            .or_default()
            .clone();
        let answer = {
            let _asking = turn.lock().await;
            // Whoever held the lock before may have put the answer in the cache.
            match self.cache.get(id_nat_ps) {
                Some(answer) => Ok(answer),
                None => self.search(id_nat_ps).await.inspect(|answer| {
                    self.cache.put(id_nat_ps, answer.clone());
                }),
            }
        };
        // Handles are taken and given back under the map's lock: the last one out sees
        // the map's own handle alone, and takes the lock away.
        let mut asking = self.asking();
        drop(turn);
        if asking
            .get(id_nat_ps)
            .is_some_and(|turn| Arc::strong_count(turn) == 1)
        {
            asking.remove(id_nat_ps);
        }
        answer
    }

    fn asking(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Mutex<()>>>> {
        self.asking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `GET [base]/Practitioner?identifier=<idNat_PS system>|<id>&_revinclude=…`.
    async fn search(&self, id_nat_ps: &str) -> Result<Option<PractitionerEntry>, DirectoryError> {
        let identifier = format!("{ID_NAT_PS_SYSTEM}|{id_nat_ps}");
        let query = form(&[
            ("identifier", &identifier),
            ("_revinclude", REVINCLUDE_ROLES),
        ]);
        let url = format!("{}/Practitioner?{query}", self.base);
        self.pacer.wait().await;
        let answer = self
            .http
            .send(
                Method::GET,
                &url,
                &[
                    (API_KEY_HEADER, &self.api_key),
                    ("accept", "application/fhir+json"),
                ],
                Bytes::new(),
            )
            .await
            .map_err(from_http)?;
        let status = answer.status.as_u16();
        if status >= 500 || status == 429 {
            return Err(DirectoryError::Unavailable(format!(
                "it answered HTTP {status}"
            )));
        }
        if !answer.status.is_success() {
            return Err(DirectoryError::Refused {
                status,
                detail: refusal_detail(&answer.body),
            });
        }
        read_bundle(&answer.body, id_nat_ps).map_err(DirectoryError::Answer)
    }
}

/// An answer too large is the directory's doing, not the network's.
fn from_http(error: HttpError) -> DirectoryError {
    match error {
        HttpError::TooLarge(_) => DirectoryError::Answer(error.to_string()),
        other => DirectoryError::Unavailable(other.to_string()),
    }
}

/// What a refusal says: the diagnostics of an OperationOutcome, the `message` of the API
/// gateway's own JSON errors, else the start of the body; printable characters only.
fn refusal_detail(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(json) if json["issue"].is_array() => json["issue"]
            .as_array()
            .into_iter()
            .flatten()
            .take(5)
            .filter_map(|issue| issue["diagnostics"].as_str())
            .collect::<Vec<_>>()
            .join("; "),
        Ok(json) if json["message"].is_string() => {
            json["message"].as_str().unwrap_or_default().to_string()
        }
        _ => String::from_utf8_lossy(&body[..body.len().min(MAX_DETAIL * 4)]).into_owned(),
    };
    let text: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DETAIL)
        .collect();
    if text.trim().is_empty() {
        "no reason given".into()
    } else {
        text
    }
}

/// Spaces calls evenly so that the client stays under the API's rate.
struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(per_second: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs(1) / per_second.max(1),
            next: Mutex::new(None),
        }
    }

    /// Waits for this call's turn; callers take turns in order.
    async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        let at = next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        *next = Some(at + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::simulator::tests::{running, sandbox_config};
    use crate::simulator::{Person, SANDBOX_API_KEY};

    #[tokio::test]
    async fn finds_a_known_practitioner_with_their_mailbox() {
        let (sim, population) = running(vec![Person {
            id_nat_ps: "810004567896".into(),
            family: "ROUX".into(),
            given: "Julien".into(),
            profession_g15: Some("60".into()),
            active: true,
            mailbox: Some("julien.roux@infirmier.mssante.fr".into()),
        }])
        .await;
        let directory =
            Directory::with_api_key(&sandbox_config(&sim), SANDBOX_API_KEY.into()).expect("client");
        let entry = directory
            .practitioner("810004567896")
            .await
            .expect("answer")
            .expect("known");
        assert!(entry.active);
        assert_eq!(entry.professions, ["60"]);
        let mailbox = entry.preferred_mailbox().expect("a mailbox");
        assert_eq!(mailbox.address, "julien.roux@infirmier.mssante.fr");
        assert_eq!(mailbox.kind.as_deref(), Some("PER"));
        assert_eq!(population.requests(), 1);
        sim.task.abort();
    }

    #[tokio::test]
    async fn an_unknown_practitioner_is_none_and_answers_are_kept() {
        let (sim, population) = running(Vec::new()).await;
        let directory =
            Directory::with_api_key(&sandbox_config(&sim), SANDBOX_API_KEY.into()).expect("client");
        for _ in 0..3 {
            assert_eq!(directory.practitioner("810000000001").await, Ok(None));
        }
        assert_eq!(population.requests(), 1, "one call, then the cache");
        // Kept only as long as the section says.
        let forgetful = Directory::with_api_key(
            &AnnuaireConfig {
                cache_seconds: 0,
                ..sandbox_config(&sim)
            },
            SANDBOX_API_KEY.into(),
        )
        .expect("client");
        forgetful
            .practitioner("810000000001")
            .await
            .expect("answer");
        forgetful
            .practitioner("810000000001")
            .await
            .expect("answer");
        assert_eq!(population.requests(), 3);
        sim.task.abort();
    }

    #[tokio::test]
    async fn lookups_of_one_practitioner_at_once_ask_the_directory_once() {
        let (sim, population) = running(Vec::new()).await;
        let directory = Arc::new(
            Directory::with_api_key(&sandbox_config(&sim), SANDBOX_API_KEY.into()).expect("client"),
        );
        let mut lookups = tokio::task::JoinSet::new();
        for n in 0..20 {
            let directory = directory.clone();
            let id = if n % 2 == 0 {
                "810000000001"
            } else {
                "810000000002"
            };
            lookups.spawn(async move { directory.practitioner(id).await });
        }
        while let Some(answer) = lookups.join_next().await {
            assert_eq!(answer.expect("joined"), Ok(None));
        }
        assert_eq!(population.requests(), 2, "one call per practitioner");
        assert!(directory.asking().is_empty(), "no lock left behind");
        sim.task.abort();
    }

    #[tokio::test]
    async fn a_wrong_key_is_refused_and_not_kept() {
        let (sim, population) = running(Vec::new()).await;
        let directory =
            Directory::with_api_key(&sandbox_config(&sim), "not-the-key".into()).expect("client");
        for _ in 0..2 {
            match directory.practitioner("810000000001").await {
                Err(DirectoryError::Refused {
                    status: 401,
                    detail,
                }) => {
                    assert!(detail.contains("ESANTE-API-KEY"), "{detail}");
                }
                other => panic!("expected a 401 refusal, got {other:?}"),
            }
        }
        assert_eq!(population.requests(), 2);
        sim.task.abort();
    }

    #[tokio::test]
    async fn nothing_listening_is_unavailable_and_bad_identifiers_are_not_sent() {
        let config = crate::sink::tests::unreachable_config().await;
        let directory = Directory::with_api_key(&config, SANDBOX_API_KEY.into()).expect("client");
        assert!(matches!(
            directory.practitioner("810000000001").await,
            Err(DirectoryError::Unavailable(_))
        ));
        for bad in ["", "8100&x=1", &"8".repeat(21)] {
            assert_eq!(
                directory.practitioner(bad).await,
                Err(DirectoryError::BadIdentifier)
            );
        }
    }

    #[test]
    fn setup_needs_an_https_url_a_key_and_trust() {
        let base = AnnuaireConfig {
            base_url: Some("https://localhost:1/fhir/v2".into()),
            trust: Some("/nonexistent".into()),
            ..AnnuaireConfig::default()
        };
        let plain = AnnuaireConfig {
            base_url: Some("http://localhost:1/fhir/v2".into()),
            ..base.clone()
        };
        assert!(matches!(
            Directory::with_api_key(&plain, "k".into()),
            Err(SetupError::BadUrl)
        ));
        assert!(matches!(
            Directory::with_api_key(&base, "a key".into()),
            Err(SetupError::BadKey)
        ));
        let untrusting = AnnuaireConfig {
            trust: None,
            ..base.clone()
        };
        assert!(matches!(
            Directory::with_api_key(&untrusting, "k".into()),
            Err(SetupError::Missing("trust"))
        ));
        assert!(matches!(
            Directory::with_api_key(&base, "k".into()),
            Err(SetupError::Tls(_))
        ));
    }

    #[test]
    fn refusals_are_summarised() {
        let outcome = br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login","diagnostics":"no key"}]}"#;
        assert_eq!(refusal_detail(outcome), "no key");
        let gravitee = br#"{"message":"Unauthorized","http_status_code":401}"#;
        assert_eq!(refusal_detail(gravitee), "Unauthorized");
        assert_eq!(refusal_detail(b""), "no reason given");
        assert_eq!(refusal_detail(&[b'x'; 5000]).len(), MAX_DETAIL);
    }

    #[tokio::test]
    async fn the_pacer_spaces_calls() {
        let pacer = Arc::new(Pacer::new(20));
        let start = Instant::now();
        for _ in 0..3 {
            pacer.wait().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}
