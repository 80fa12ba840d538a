//! The `region:<platform>` sinks: one share of a record with its region's platform.
//! Routing picks the sink by the CRT's region (`Action::ShareWithRegion`).

use std::sync::Arc;

use crt_core::identity::qualified_identity;
use crt_core::sink::{
    Artifact, Attempt, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::platform::{RegionalPlatform, Written};
use crate::share::Share;

/// The target name of a platform's sink.
pub fn target(platform: &str) -> String {
    format!("region:{platform}")
}

/// What the receipt's `details` say; the partner-entry reader uses them to know which
/// CRT a beneficiary on the platform belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    pub platform: String,
    /// The CRT's establishment (FINESS ET).
    pub crt: String,
    /// The beneficiary's identifier on the platform: system and the DUI's local id.
    pub patient_system: String,
    pub beneficiary: String,
    pub care_circle: Written,
    pub summary: Written,
    pub entries: Written,
    /// Appointments and schedules (absent in receipts written before the planning).
    #[serde(default)]
    pub planning: Written,
    pub documents: usize,
}

pub struct RegionSink {
    target: String,
    platform: Arc<dyn RegionalPlatform>,
    retry: RetryPolicy,
}

impl RegionSink {
    pub fn new(platform: Arc<dyn RegionalPlatform>, retry: RetryPolicy) -> Self {
        RegionSink {
            target: target(platform.dialect().name),
            platform,
            retry,
        }
    }

    async fn share(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        let record = task.record.clone();
        let dialect = *self.platform.dialect();
        if record
            .consents
            .regional_platform
            .as_ref()
            .is_some_and(|c| c.is_opposed())
        {
            return Ok(Receipt::declined(format!(
                "the beneficiary opposed sharing with {}",
                dialect.title
            )));
        }
        let share = Share::new(record.clone(), qualified_identity(task))
            .map_err(|e| DeliveryError::final_error("render", e.to_string()))?;
        let care_circle = self
            .platform
            .share_care_circle(&share)
            .await
            .map_err(|e| e.into_delivery_error())?;
        let summary = self
            .platform
            .push_summary(&share)
            .await
            .map_err(|e| e.into_delivery_error())?;
        let entries = self
            .platform
            .post_entries(&share)
            .await
            .map_err(|e| e.into_delivery_error())?;
        let planning = self
            .platform
            .publish_planning(&share)
            .await
            .map_err(|e| e.into_delivery_error())?;
        let shared = Shared {
            platform: dialect.name.to_string(),
            crt: record.crt.finess_et.clone(),
            patient_system: share.patient_system(),
            beneficiary: record.beneficiary.local_id.clone(),
            care_circle,
            summary,
            entries,
            planning,
            documents: share.documents.len(),
        };
        let mut total = Written::default();
        for part in [
            &shared.care_circle,
            &shared.summary,
            &shared.entries,
            &shared.planning,
        ] {
            total.add(part);
        }
        let details = serde_json::to_value(&shared)
            .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
        let mut receipt = Receipt::delivered(format!(
            "shared with {}: care circle of {} member(s), {} document(s), {} liaison-book entries, {} intervention(s); {} created, {} updated",
            dialect.title,
            share.care_team_size(),
            shared.documents,
            record.liaison_book.len(),
            record.interventions.len(),
            total.created,
            total.updated,
        ))
        .with_details(details);
        let notes = Value::Array(share.entries().to_vec());
        let bundles: [(&str, Option<&Value>); 4] = [
            ("care-circle.json", Some(share.care_circle())),
            ("summary.json", Some(share.summary())),
            // One transaction per note, kept together.
            (
                "liaison-book.json",
                Some(&notes).filter(|_| !share.entries().is_empty()),
            ),
            ("planning.json", share.planning()),
        ];
        for (name, bundle) in bundles {
            if let Some(bundle) = bundle {
                let content = serde_json::to_vec_pretty(&bundle)
                    .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
                receipt = receipt.with_artifact(Artifact {
                    name: name.into(),
                    media_type: "application/fhir+json".into(),
                    content,
                });
            }
        }
        Ok(receipt)
    }
}

impl Sink for RegionSink {
    fn target(&self) -> &str {
        &self.target
    }

    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(crt_core::http::reachable(
            self.platform.dialect().title,
            self.platform.base_url(),
        ))
    }

    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(self.share(task))
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}
