//! The identity a delivery may carry out of the gateway.
//!
//! The INS check writes an [`IdentityCheck`] in its receipt's details; every sink that
//! sends the INS (DMP, MSSanté, regional platforms, ViaTrajectoire) reads it back with
//! [`qualified_ins`], which is the one place where "only a qualified INS leaves" is decided.

pub mod traits;

use serde::{Deserialize, Serialize};

use crate::record::{IdentityStatus, Ins};
use crate::sink::{DeliveryTask, Outcome};

/// Target name of the INS check.
pub const INS_TARGET: &str = "ins";

/// What the INS check concluded, as its receipt's `details`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityCheck {
    /// The status the gateway assigns after the check.
    pub status: IdentityStatus,
    /// The INS recovered, when the traits matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ins: Option<Ins>,
    /// The teleservice's `CodeCR` (`00`, `01`, `02`).
    pub answer_code: String,
    /// Traits that differed, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
}

/// The INS the delivery may send: the record's own when the record says the identity is
/// qualified, or the one an upstream INS check qualified. `None` in every other case.
pub fn qualified_ins(task: &DeliveryTask) -> Option<Ins> {
    let beneficiary = &task.record.beneficiary;
    if beneficiary.identity_status == IdentityStatus::Qualified {
        return beneficiary.ins.clone();
    }
    task.upstream
        .iter()
        .filter(|upstream| {
            upstream.target == INS_TARGET && upstream.receipt.outcome == Outcome::Delivered
        })
        .filter_map(|upstream| {
            serde_json::from_value::<IdentityCheck>(upstream.receipt.details.clone()).ok()
        })
        .find(|check| check.status == IdentityStatus::Qualified)
        .and_then(|check| check.ins)
}
