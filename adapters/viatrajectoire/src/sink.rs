//! The `viatrajectoire` sink: the CRT's answer to an admission request that reached it,
//! sent once per delivery as a flux 4 Task; where the request stands is then read back by
//! the gateway's waiting-list reader.

use std::sync::Arc;

use chrono::Utc;
use crt_core::record::Action;
use crt_core::sink::{
    Artifact, Attempt, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink,
    Work,
};
use serde::{Deserialize, Serialize};

use crate::answer::{Answer, TASK_IDENTIFIER_SYSTEM, esms_task};
use crate::client::ViatrajectoireClient;
use crate::config::ViatrajectoireConfig;

pub const TARGET: &str = "viatrajectoire";

/// What the receipt's `details` say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    /// `Task/<id>` in ViaTrajectoire.
    pub task: String,
    /// ViaTrajectoire's national identifier of the request answered.
    pub request: String,
    /// The structure that answered (`1` + FINESS ET), sent as `struct_idnat`.
    pub struct_idnat: String,
    pub decision: crt_core::record::AdmissionAnswer,
}

pub struct ViatrajectoireSink {
    client: Arc<ViatrajectoireClient>,
    retry: RetryPolicy,
}

impl ViatrajectoireSink {
    /// The client this sink answers with, which the waiting-list reader shares.
    pub fn client(&self) -> &Arc<ViatrajectoireClient> {
        &self.client
    }

    pub fn new(client: Arc<ViatrajectoireClient>, config: &ViatrajectoireConfig) -> Self {
        ViatrajectoireSink {
            client,
            retry: config.retry.clone(),
        }
    }

    async fn answer(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        let record = &task.record;
        let Work::Action {
            action:
                Action::AnswerAdmission {
                    request,
                    decision,
                    rank,
                    date,
                    reason,
                },
        } = &task.work
        else {
            return Err(DeliveryError::final_error(
                "not-viatrajectoire",
                format!("ViaTrajectoire does not carry out {:?}", task.work),
            ));
        };
        if record
            .consents
            .viatrajectoire
            .as_ref()
            .is_some_and(|c| c.is_opposed())
        {
            return Ok(Receipt::declined(
                "the beneficiary opposed sharing with ViaTrajectoire",
            ));
        }
        let struct_idnat = record.crt.id_nat_struct();
        let answer = Answer {
            delivery_id: task.delivery_id,
            structure: struct_idnat.clone(),
            name: record.crt.name.clone(),
            request_id: request.clone(),
            decision: *decision,
            rank: *rank,
            date: *date,
            reason: reason.clone(),
        };
        let body = esms_task(&answer, Utc::now());
        let identifier = format!("{TASK_IDENTIFIER_SYSTEM}|urn:uuid:{}", task.delivery_id);
        let reference = self
            .client
            .answer(&body, &struct_idnat, &identifier)
            .await
            .map_err(|e| e.into_delivery_error())?;
        let details = serde_json::to_value(Answered {
            task: reference.clone(),
            request: request.clone(),
            struct_idnat,
            decision: *decision,
        })
        .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
        let kept = serde_json::to_vec_pretty(&body)
            .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
        Ok(Receipt::delivered(format!(
            "answer {} to admission request {request} recorded in ViaTrajectoire ({reference})",
            decision.as_str()
        ))
        .with_remote_id(reference)
        .with_details(details)
        .with_artifact(Artifact {
            name: "esms-task.json".into(),
            media_type: "application/fhir+json".into(),
            content: kept,
        }))
    }
}

impl Sink for ViatrajectoireSink {
    fn target(&self) -> &str {
        TARGET
    }

    fn check(&self) -> BoxFuture<'_, Health> {
        Box::pin(crt_core::http::reachable(
            "ViaTrajectoire",
            self.client.base_url(),
        ))
    }

    fn deliver<'a>(&'a self, task: &'a DeliveryTask) -> Attempt<'a> {
        Box::pin(self.answer(task))
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}
