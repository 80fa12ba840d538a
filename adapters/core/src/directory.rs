//! What the check of a record's care circle against the national directory of health
//! professionals (the Annuaire Santé) reports, in the form the sinks that follow it read:
//! a member unknown to the directory is flagged, not refused, and a mailbox the record
//! lacks may come from the directory.

use serde::{Deserialize, Serialize};

use crate::sink::{Outcome, UpstreamReceipt};

/// The name of the target that checks care circles.
pub const DIRECTORY_TARGET: &str = "directory";
/// The artifact of that check: a JSON array of [`MemberCheck`], which its receipt's
/// details also carry under `members` for the deliveries that wait for it (receipts
/// travel downstream; artifacts stay with their delivery).
pub const CARE_CIRCLE_CHECK: &str = "care-circle-check.json";

/// What the directory said of one care-circle member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCheck {
    /// The member's local identifier in the record (`care_circle[].id`).
    pub member: String,
    /// idNat_PS (`8` + RPPS), when the record gives the RPPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_nat_ps: Option<String>,
    pub status: MemberStatus,
    /// The directory's MSSanté mailbox for a member the record gives none, to be used by
    /// the messages that follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mssante_from_directory: Option<String>,
    /// Why, in a sentence, when the status is not `known`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Known, active, with the record's profession.
    Known,
    /// Known, but the directory lists them as inactive.
    Inactive,
    /// Known, with another profession than the record's.
    ProfessionMismatch,
    /// The directory does not know them.
    Unknown,
    /// Not checked: no RPPS in the record, or the directory could not be asked or answered
    /// something unreadable.
    NotChecked,
}

/// The checks a delivery's upstream receipts carry, when the directory's check ran first.
pub fn checks_upstream(upstream: &[UpstreamReceipt]) -> Vec<MemberCheck> {
    upstream
        .iter()
        .filter(|u| u.target == DIRECTORY_TARGET && u.receipt.outcome == Outcome::Delivered)
        .filter_map(|u| {
            serde_json::from_value::<Vec<MemberCheck>>(u.receipt.details["members"].clone()).ok()
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Receipt;

    #[test]
    fn the_checks_travel_in_the_directory_receipt_only() {
        let check = MemberCheck {
            member: "pro-idel".into(),
            id_nat_ps: Some("810004567896".into()),
            status: MemberStatus::Known,
            mssante_from_directory: Some("julien.roux@infirmier.mssante.fr".into()),
            detail: None,
        };
        let details = serde_json::json!({ "members": [check.clone()] });
        let upstream = [
            UpstreamReceipt {
                target: DIRECTORY_TARGET.into(),
                receipt: Receipt::delivered("1 member checked: 1 known")
                    .with_details(details.clone()),
            },
            UpstreamReceipt {
                target: "ins".into(),
                receipt: Receipt::delivered("identity found").with_details(details),
            },
        ];
        assert_eq!(checks_upstream(&upstream), [check]);
        assert!(checks_upstream(&[]).is_empty());
    }
}
