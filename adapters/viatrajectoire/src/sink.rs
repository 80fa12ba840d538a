//! The `viatrajectoire` sink: a record's volet 2 admission request, sent once per
//! delivery; its statuses are then read back by the gateway's waiting-list poller.

use std::sync::Arc;

use chrono::Utc;
use crt_core::identity::qualified_ins;
use crt_core::sink::{
    Artifact, BoxFuture, DeliveryError, DeliveryTask, Health, Receipt, RetryPolicy, Sink,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::ViatrajectoireClient;
use crate::config::ViatrajectoireConfig;
use crate::request::{self, RequestError};
use crate::status::Status;

pub const TARGET: &str = "viatrajectoire";

/// What the receipt's `details` say, for the waiting list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// `Task/<id>` in ViaTrajectoire.
    pub task: String,
    /// The CRT's establishment (FINESS ET) whose waiting list the request joins.
    pub crt: String,
    /// The structure the request is made for (`1` + FINESS ET), sent as `struct_idnat`.
    pub struct_idnat: String,
    pub status: Status,
}

pub struct ViatrajectoireSink {
    client: Arc<ViatrajectoireClient>,
    retry: RetryPolicy,
}

impl ViatrajectoireSink {
    pub fn new(client: Arc<ViatrajectoireClient>, config: &ViatrajectoireConfig) -> Self {
        ViatrajectoireSink {
            client,
            retry: config.retry.clone(),
        }
    }

    async fn submit(&self, task: &DeliveryTask) -> Result<Receipt, DeliveryError> {
        let record = &task.record;
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
        let ins = qualified_ins(task);
        let bundle = request::admission_bundle(record, task.delivery_id, ins.as_ref(), Utc::now())
            .map_err(|e| match e {
                RequestError::NoVolet2 => DeliveryError::final_error("no-volet2", e.to_string()),
                RequestError::Model(_) => DeliveryError::final_error("encode", e.to_string()),
            })?;
        let struct_idnat = record.crt.id_nat_struct();
        let task_reference = self
            .client
            .submit(&bundle, &struct_idnat)
            .await
            .map_err(|e| e.into_delivery_error())?;
        let submitted = Submitted {
            task: task_reference.clone(),
            crt: record.crt.finess_et.clone(),
            struct_idnat,
            status: Status::Sent,
        };
        let details = serde_json::to_value(&submitted)
            .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
        let kept = serde_json::to_vec_pretty(&redacted(bundle))
            .map_err(|e| DeliveryError::final_error("encode", e.to_string()))?;
        Ok(Receipt::delivered(format!(
            "admission request registered in ViaTrajectoire ({task_reference})"
        ))
        .with_remote_id(task_reference)
        .with_details(details)
        .with_artifact(Artifact {
            name: "admission-request.json".into(),
            media_type: "application/fhir+json".into(),
            content: kept,
        }))
    }
}

/// The request as the gateway keeps it: the medical part's answers are left out, since
/// only the coordinating physician may read them.
pub fn redacted(mut bundle: Value) -> Value {
    if let Some(entries) = bundle["entry"].as_array_mut() {
        for entry in entries {
            let resource = &mut entry["resource"];
            if resource["questionnaire"] == request::MEDICAL
                && let Some(fields) = resource.as_object_mut()
            {
                fields.remove("item");
                fields.insert(
                    "text".into(),
                    json!({"status": "generated",
                           "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Volet médical transmis au médecin coordonnateur, non conservé par la passerelle.</div>"}),
                );
            }
        }
    }
    bundle
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

    fn deliver<'a>(
        &'a self,
        task: &'a DeliveryTask,
    ) -> BoxFuture<'a, Result<Receipt, DeliveryError>> {
        Box::pin(self.submit(task))
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}
