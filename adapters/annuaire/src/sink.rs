//! The `directory` sink: checks each care-circle member of a record against the Annuaire
//! Santé, and offers the directory's MSSanté mailbox for members the record gives none.
//!
//! The check informs, it does not gate: a member the directory does not know, or cannot
//! be asked about, is flagged in the report and the delivery is delivered all the same,
//! so that an outage of the directory never holds a record's documents back.

use std::time::Duration;

use crt_core::directory::{CARE_CIRCLE_CHECK, DIRECTORY_TARGET, MemberCheck, MemberStatus};
use crt_core::record::{Profession, Professional};
use crt_core::sink::{
    Artifact, Attempt, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink,
    Work,
};
use tokio::time::Instant;

use crate::client::{Directory, DirectoryError};
use crate::config::AnnuaireConfig;
use crate::entry::PractitionerEntry;

/// Time kept at the end of an attempt, so that the report is written before the engine's
/// timeout ends it.
const MARGIN: Duration = Duration::from_secs(1);

pub struct DirectorySink {
    directory: Directory,
    retry: RetryPolicy,
    /// Time allowed for one search: no search starts later than this before the end of
    /// the attempt.
    search_timeout: Duration,
}

impl DirectorySink {
    pub fn new(directory: Directory, config: &AnnuaireConfig) -> Self {
        DirectorySink {
            directory,
            retry: config.retry.clone(),
            search_timeout: config.timeout(),
        }
    }

    /// Checks every member; the report is the artifact, the counts the summary.
    async fn check_care_circle(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        let deadline = Instant::now()
            + self
                .retry
                .timeout
                .saturating_sub(self.search_timeout + MARGIN);
        // Once the directory is down or refuses the gateway, it will be for the members
        // that follow too: they are not asked, which keeps the attempt short.
        let mut stop: Option<String> = None;
        let mut checks = Vec::with_capacity(task.record.care_circle.len());
        for member in &task.record.care_circle {
            let Some(id_nat_ps) = id_nat_ps(member) else {
                checks.push(not_checked(member, None, "no RPPS in the record"));
                continue;
            };
            if let Some(reason) = &stop {
                checks.push(not_checked(member, Some(id_nat_ps), reason));
                continue;
            }
            if Instant::now() > deadline {
                let reason = "the time for one attempt ran out before this member";
                checks.push(not_checked(member, Some(id_nat_ps), reason));
                stop = Some(reason.into());
                continue;
            }
            let check = match self.directory.practitioner(&id_nat_ps).await {
                Ok(entry) => judge(member, id_nat_ps, entry.as_ref()),
                Err(error) => {
                    if stops_the_check(&error) {
                        tracing::warn!(
                            delivery = %task.delivery_id,
                            error = %error,
                            "the directory cannot be asked; the remaining members are not checked"
                        );
                        stop = Some(error.to_string());
                    }
                    not_checked(member, Some(id_nat_ps), &error.to_string())
                }
            };
            checks.push(check);
        }
        let content = serde_json::to_vec_pretty(&checks)
            .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
        Ok(Receipt::delivered(summary(&checks))
            .with_details(serde_json::json!({ "counts": counts(&checks), "members": checks }))
            .with_artifact(Artifact {
                name: CARE_CIRCLE_CHECK.into(),
                media_type: "application/json".into(),
                content,
            }))
    }

    /// Hands a task to the job it asks for; this sink has one, checking a care circle.
    async fn route(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        match &task.work {
            Work::CheckCareCircle => self.check_care_circle(task).await,
            other => Err(DeliveryError::unsupported("directory", other)),
        }
    }
}

/// Whether an error will be the same for every member: the directory is down, or it
/// refuses the gateway's key. A refusal of one search, or an answer that cannot be read,
/// concerns that member only.
fn stops_the_check(error: &DirectoryError) -> bool {
    matches!(
        error,
        DirectoryError::Unavailable(_)
            | DirectoryError::Refused {
                status: 401 | 403,
                ..
            }
    )
}

/// `8` + RPPS, when the record gives a well-formed RPPS.
fn id_nat_ps(member: &Professional) -> Option<String> {
    member
        .rpps
        .as_deref()
        .filter(|r| r.len() == 11 && r.bytes().all(|b| b.is_ascii_digit()))
        .map(|rpps| format!("8{rpps}"))
}

fn not_checked(member: &Professional, id_nat_ps: Option<String>, reason: &str) -> MemberCheck {
    MemberCheck {
        member: member.id.clone(),
        id_nat_ps,
        status: MemberStatus::NotChecked,
        mssante_from_directory: None,
        detail: Some(reason.to_string()),
    }
}

/// The member's status from the directory's entry. A mailbox is offered only for a
/// member found as the record describes them: messages carry health data, and a
/// mismatch may mean the record names the wrong person.
pub fn judge(
    member: &Professional,
    id_nat_ps: String,
    entry: Option<&PractitionerEntry>,
) -> MemberCheck {
    let mut check = MemberCheck {
        member: member.id.clone(),
        id_nat_ps: Some(id_nat_ps),
        status: MemberStatus::Known,
        mssante_from_directory: None,
        detail: None,
    };
    let Some(entry) = entry else {
        check.status = MemberStatus::Unknown;
        check.detail = Some("the directory lists no practitioner with this RPPS".into());
        return check;
    };
    if !entry.active {
        check.status = MemberStatus::Inactive;
        check.detail = Some("the directory lists this practitioner as inactive".into());
        return check;
    }
    if let Some((g15, _)) = member.profession.g15_code()
        && !has_profession(entry, member.profession, g15)
    {
        check.status = MemberStatus::ProfessionMismatch;
        check.detail = Some(if entry.professions.is_empty() {
            format!("the directory lists no health profession (TRE_G15), the record says {g15}")
        } else {
            format!(
                "the directory lists profession {} (TRE_G15), the record says {g15}",
                entry.professions.join(", ")
            )
        });
        return check;
    }
    if member.mssante_address.is_none() {
        check.mssante_from_directory = entry.preferred_mailbox().map(|m| m.address.clone());
    }
    check
}

/// Whether the directory's professions include the record's (a psychiatric nurse, G15
/// `69`, is a nurse).
fn has_profession(entry: &PractitionerEntry, profession: Profession, g15: &str) -> bool {
    entry
        .professions
        .iter()
        .any(|code| code == g15 || Profession::from_directory_codes(code, None) == Some(profession))
}

const STATUSES: [(MemberStatus, &str); 5] = [
    (MemberStatus::Known, "known"),
    (MemberStatus::Inactive, "inactive"),
    (MemberStatus::ProfessionMismatch, "profession mismatch"),
    (MemberStatus::Unknown, "unknown"),
    (MemberStatus::NotChecked, "not checked"),
];

fn counts(checks: &[MemberCheck]) -> serde_json::Map<String, serde_json::Value> {
    STATUSES
        .iter()
        .map(|(status, _)| {
            let name = serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let count = checks.iter().filter(|c| c.status == *status).count();
            (name, count.into())
        })
        .collect()
}

/// `6 members checked: 4 known, 1 unknown, 1 not checked`.
pub fn summary(checks: &[MemberCheck]) -> String {
    if checks.is_empty() {
        return "no care-circle member to check".into();
    }
    let parts: Vec<String> = STATUSES
        .iter()
        .filter_map(|(status, label)| {
            let count = checks.iter().filter(|c| c.status == *status).count();
            (count > 0).then(|| format!("{count} {label}"))
        })
        .collect();
    let noun = if checks.len() == 1 {
        "member"
    } else {
        "members"
    };
    format!("{} {noun} checked: {}", checks.len(), parts.join(", "))
}

impl Sink for DirectorySink {
    fn target(&self) -> &str {
        DIRECTORY_TARGET
    }

    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(crt_core::http::reachable(
            "Annuaire Santé",
            self.directory.base_url(),
        ))
    }

    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(self.route(task))
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use crt_core::CrtRecord;
    use crt_core::directory::checks_upstream;
    use crt_core::simulate::layout;
    use crt_core::sink::{ErrorClass, Outcome, UpstreamReceipt};
    use uuid::Uuid;

    use super::*;
    use crate::simulator::tests::{pki, running, sandbox_config};
    use crate::simulator::{Person, SANDBOX_API_KEY, SimulatorTls, sandbox_population};

    pub(crate) fn example_record() -> CrtRecord {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/examples/home-volet2-pays-de-la-loire.json");
        let text = std::fs::read_to_string(path).expect("the example record");
        serde_json::from_str(&text).expect("a record")
    }

    /// A section pointing at a loopback port where nothing listens.
    pub(crate) async fn unreachable_config() -> AnnuaireConfig {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        drop(listener);
        AnnuaireConfig {
            base_url: Some(format!("https://localhost:{port}/fhir/v2")),
            api_key: Some(SANDBOX_API_KEY.into()),
            trust: Some(pki().join(layout::CHAIN)),
            ..AnnuaireConfig::default()
        }
    }

    fn task(record: CrtRecord, work: Work) -> DeliveryTask {
        DeliveryTask {
            delivery_id: Uuid::now_v7(),
            record_id: Uuid::now_v7(),
            attempt: 1,
            work,
            record: Arc::new(record),
            upstream: Vec::new(),
        }
    }

    fn sink(config: &AnnuaireConfig) -> DirectorySink {
        let directory = Directory::with_api_key(config, SANDBOX_API_KEY.into()).expect("a client");
        DirectorySink::new(directory, config)
    }

    fn report(receipt: &Receipt) -> Vec<MemberCheck> {
        let upstream = [UpstreamReceipt {
            target: DIRECTORY_TARGET.into(),
            receipt: receipt.clone(),
        }];
        checks_upstream(&upstream)
    }

    fn by_member<'a>(checks: &'a [MemberCheck], member: &str) -> &'a MemberCheck {
        checks
            .iter()
            .find(|c| c.member == member)
            .unwrap_or_else(|| panic!("no check for {member}"))
    }

    #[tokio::test]
    async fn reports_each_member_of_a_record() {
        let mut record = example_record();
        // The home nurse's mailbox is left for the directory to give; one more member
        // has no RPPS.
        let mut no_rpps = record.care_circle[0].clone();
        no_rpps.id = "pro-sans-rpps".into();
        no_rpps.rpps = None;
        record.care_circle.push(no_rpps);
        for member in &mut record.care_circle {
            if member.id == "pro-idel" {
                member.mssante_address = None;
            }
        }
        // The directory: everyone of the record but the occupational therapist, the
        // coordinating nurse inactive, the physician registered as a pharmacist; the home
        // nurse as the sandbox lists her.
        let mut people: Vec<Person> = record
            .care_circle
            .iter()
            .filter(|m| m.id != "pro-ergo" && m.id != "pro-idel")
            .filter_map(Person::from_care_circle)
            .collect();
        people.extend(sandbox_population());
        for person in &mut people {
            match person.id_nat_ps.as_str() {
                "810003456786" => person.active = false,
                "810001234565" => person.profession_g15 = Some("21".into()),
                _ => {}
            }
        }
        let (sim, population) = running(people).await;
        let sink = sink(&sandbox_config(&sim));
        let receipt = sink
            .deliver(&task(record, Work::CheckCareCircle))
            .await
            .expect("delivered");
        assert_eq!(receipt.outcome, Outcome::Delivered);
        assert_eq!(
            receipt.summary,
            "7 members checked: 3 known, 1 inactive, 1 profession mismatch, 1 unknown, 1 not checked"
        );
        assert_eq!(receipt.details["counts"]["known"], 3);
        let checks = report(&receipt);
        assert_eq!(checks.len(), 7);
        let status = |member| by_member(&checks, member).status;
        assert_eq!(status("pro-mt"), MemberStatus::ProfessionMismatch);
        assert_eq!(status("pro-med-crt"), MemberStatus::Known);
        assert_eq!(status("pro-ide-coord"), MemberStatus::Inactive);
        assert_eq!(status("pro-ergo"), MemberStatus::Unknown);
        // RPPS+ staff have no TRE_G15 profession to compare.
        assert_eq!(status("pro-as-coord"), MemberStatus::Known);
        let nurse = by_member(&checks, "pro-idel");
        assert_eq!(nurse.status, MemberStatus::Known);
        assert_eq!(nurse.id_nat_ps.as_deref(), Some("810004567896"));
        assert_eq!(
            nurse.mssante_from_directory.as_deref(),
            Some("julien.roux@infirmier.mssante.fr")
        );
        // Members whose record gives a mailbox keep theirs.
        assert_eq!(
            by_member(&checks, "pro-med-crt").mssante_from_directory,
            None
        );
        let unchecked = by_member(&checks, "pro-sans-rpps");
        assert_eq!(unchecked.status, MemberStatus::NotChecked);
        assert_eq!(unchecked.detail.as_deref(), Some("no RPPS in the record"));
        // One search per RPPS; a second record of the same care circle asks nothing new.
        assert_eq!(population.requests(), 6);
        let again = sink
            .deliver(&task(example_record(), Work::CheckCareCircle))
            .await
            .expect("delivered");
        assert_eq!(population.requests(), 6);
        assert!(again.summary.starts_with("6 members checked"));
        sim.task.abort();
    }

    #[tokio::test]
    async fn an_outage_leaves_members_not_checked_and_the_delivery_delivered() {
        let sink = sink(&unreachable_config().await);
        let receipt = sink
            .deliver(&task(example_record(), Work::CheckCareCircle))
            .await
            .expect("delivered despite the outage");
        assert_eq!(receipt.outcome, Outcome::Delivered);
        assert_eq!(receipt.summary, "6 members checked: 6 not checked");
        let checks = report(&receipt);
        assert!(checks.iter().all(|c| {
            c.status == MemberStatus::NotChecked
                && c.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("could not be asked"))
        }));
    }

    #[tokio::test]
    async fn a_refused_key_stops_the_check_after_one_search() {
        let (sim, population) = running(sandbox_population()).await;
        let directory =
            Directory::with_api_key(&sandbox_config(&sim), "revoked-key".into()).expect("a client");
        let sink = DirectorySink::new(directory, &sandbox_config(&sim));
        let receipt = sink
            .deliver(&task(example_record(), Work::CheckCareCircle))
            .await
            .expect("delivered");
        assert_eq!(receipt.summary, "6 members checked: 6 not checked");
        assert_eq!(population.requests(), 1);
        assert!(
            report(&receipt)
                .iter()
                .all(|c| c.detail.as_deref().is_some_and(|d| d.contains("HTTP 401")))
        );
        sim.task.abort();
    }

    #[tokio::test]
    async fn an_unreadable_answer_leaves_the_member_not_checked() {
        crt_core::tls::install_default_provider();
        let tls = crt_core::tls::server_config(&SimulatorTls::from_pki(&pki()).server, None)
            .expect("TLS files");
        let running = crt_core::simulate::serve(
            ([127, 0, 0, 1], 0).into(),
            tokio_rustls::TlsAcceptor::from(tls),
            |_request, _peer| async {
                crt_core::simulate::fhir::respond(
                    http::StatusCode::OK,
                    "text/html",
                    "<html>maintenance</html>".into(),
                )
            },
        )
        .await
        .expect("listening");
        let config = AnnuaireConfig {
            base_url: Some(running.url("/fhir/v2")),
            ..unreachable_config().await
        };
        let mut record = example_record();
        record.care_circle.truncate(2);
        let receipt = sink(&config)
            .deliver(&task(record, Work::CheckCareCircle))
            .await
            .expect("delivered");
        assert_eq!(receipt.summary, "2 members checked: 2 not checked");
        let checks = report(&receipt);
        assert!(checks.iter().all(|c| {
            c.detail
                .as_deref()
                .is_some_and(|d| d.contains("cannot be read"))
        }));
        running.task.abort();
    }

    #[tokio::test]
    async fn other_work_is_refused() {
        let sink = sink(&unreachable_config().await);
        let error = sink
            .deliver(&task(example_record(), Work::Journal))
            .await
            .expect_err("not this sink's work");
        assert_eq!(error.class, ErrorClass::Final);
        assert_eq!(error.code, "unsupported-work");
        assert_eq!(sink.target(), DIRECTORY_TARGET);
        assert!(!sink.check().await.healthy);
    }

    #[test]
    fn summaries() {
        assert_eq!(summary(&[]), "no care-circle member to check");
        let one = MemberCheck {
            member: "a".into(),
            id_nat_ps: None,
            status: MemberStatus::Unknown,
            mssante_from_directory: None,
            detail: None,
        };
        assert_eq!(
            summary(std::slice::from_ref(&one)),
            "1 member checked: 1 unknown"
        );
    }
}
