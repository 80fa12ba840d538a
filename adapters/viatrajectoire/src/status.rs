//! Where an admission request stands, as ViaTrajectoire's `Task` says it and as the CRT's
//! waiting list shows it.
//!
//! | status | `Task.status` | `Task.businessStatus` | also |
//! |---|---|---|---|
//! | sent | `requested` | | |
//! | received | `received` | | |
//! | waiting list | `accepted` | `liste-attente` | `output[rang].valueUnsignedInt` |
//! | admission proposed | `accepted` | `admission-proposee` | |
//! | accepted | `accepted` | `acceptee` | |
//! | refused | `rejected` | | `statusReason.text` |
//! | cancelled | `cancelled` | | `statusReason.text` |
//! | admitted | `completed` | | |

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Code system of the business statuses (a contract of crt-gateway, see
/// `schemas/viatrajectoire/README.md`).
pub const BUSINESS_STATUS: &str = "urn:crt-gateway:fhir:CodeSystem:viatrajectoire-statut";
/// Code system of the Task input and output types this contract defines.
pub const PARAMETER: &str = "urn:crt-gateway:fhir:CodeSystem:viatrajectoire-parametre";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Sent,
    Received,
    WaitingList,
    AdmissionProposed,
    Accepted,
    Refused,
    Cancelled,
    Admitted,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Sent,
        Status::Received,
        Status::WaitingList,
        Status::AdmissionProposed,
        Status::Accepted,
        Status::Refused,
        Status::Cancelled,
        Status::Admitted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Received => "received",
            Status::WaitingList => "waiting_list",
            Status::AdmissionProposed => "admission_proposed",
            Status::Accepted => "accepted",
            Status::Refused => "refused",
            Status::Cancelled => "cancelled",
            Status::Admitted => "admitted",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// No status comes after these.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Refused | Status::Cancelled | Status::Admitted)
    }

    /// `Task.status` and the business status code, if any.
    fn task_codes(self) -> (&'static str, Option<&'static str>) {
        match self {
            Status::Sent => ("requested", None),
            Status::Received => ("received", None),
            Status::WaitingList => ("accepted", Some("liste-attente")),
            Status::AdmissionProposed => ("accepted", Some("admission-proposee")),
            Status::Accepted => ("accepted", Some("acceptee")),
            Status::Refused => ("rejected", None),
            Status::Cancelled => ("cancelled", None),
            Status::Admitted => ("completed", None),
        }
    }
}

/// What a Task says of its request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub status: Status,
    /// Rank on the waiting list, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// Why it was refused or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Task status {status:?} with business status {business:?} is not in the contract")]
pub struct UnknownStatus {
    pub status: String,
    pub business: Option<String>,
}

impl Standing {
    /// Reads a Task's standing.
    pub fn of_task(task: &Value) -> Result<Standing, UnknownStatus> {
        let status = task["status"].as_str().unwrap_or_default();
        let business = task["businessStatus"]["coding"]
            .as_array()
            .and_then(|codings| codings.iter().find(|c| c["system"] == BUSINESS_STATUS))
            .and_then(|c| c["code"].as_str());
        let found = Status::ALL
            .into_iter()
            .find(|s| s.task_codes() == (status, business))
            .ok_or_else(|| UnknownStatus {
                status: status.to_string(),
                business: business.map(str::to_string),
            })?;
        let rank = task["output"].as_array().and_then(|outputs| {
            outputs
                .iter()
                .find(|o| o["type"]["coding"][0]["code"] == "rang")
                .and_then(|o| o["valueUnsignedInt"].as_u64())
                .and_then(|r| u32::try_from(r).ok())
        });
        let reason = task["statusReason"]["text"].as_str().map(str::to_string);
        Ok(Standing {
            status: found,
            rank,
            reason,
        })
    }

    /// Writes this standing into a Task (the simulator's side).
    pub fn apply_to(&self, task: &mut Value) {
        let (status, business) = self.status.task_codes();
        let Some(fields) = task.as_object_mut() else {
            return;
        };
        fields.insert("status".into(), json!(status));
        match business {
            Some(code) => {
                fields.insert(
                    "businessStatus".into(),
                    json!({"coding": [{"system": BUSINESS_STATUS, "code": code}]}),
                );
            }
            None => {
                fields.remove("businessStatus");
            }
        }
        match &self.reason {
            Some(reason) => {
                fields.insert("statusReason".into(), json!({ "text": reason }));
            }
            None => {
                fields.remove("statusReason");
            }
        }
        match self.rank {
            Some(rank) => {
                fields.insert(
                    "output".into(),
                    json!([{
                        "type": {"coding": [{"system": PARAMETER, "code": "rang"}]},
                        "valueUnsignedInt": rank
                    }]),
                );
            }
            None => {
                fields.remove("output");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_task() {
        for status in Status::ALL {
            let standing = Standing {
                status,
                rank: (status == Status::WaitingList).then_some(3),
                reason: (status == Status::Refused).then(|| "places complètes".to_string()),
            };
            let mut task = json!({"resourceType": "Task", "intent": "order"});
            standing.apply_to(&mut task);
            assert_eq!(Standing::of_task(&task), Ok(standing));
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn a_status_outside_the_contract_is_an_error() {
        let task = json!({"status": "on-hold"});
        assert!(Standing::of_task(&task).is_err());
    }
}
