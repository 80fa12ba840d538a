//! The identity a delivery may carry out of the gateway.
//!
//! The INS check writes an [`IdentityCheck`] in its receipt's details; every sink that
//! sends the INS (DMP, MSSanté, regional platforms, ViaTrajectoire) reads it back with
//! [`qualified_identity`], which is the one place where "only a qualified INS leaves" is
//! decided, and where the traits that travel with it are chosen: a qualified identity
//! carries its reference traits (the *traits INS* the teleservice holds), not the DUI's
//! spelling of them.

pub mod traits;

use serde::{Deserialize, Serialize};

use crate::record::{IdentityStatus, IdentityTraits, Ins, Sex};
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
    /// The traits the teleservice returned with the identity it found (`TIQ`), as it
    /// returned them: what documents carry once the identity is qualified, and what the
    /// DUI may take back to update its own copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traits: Option<InsTraits>,
}

/// The reference traits of an identity (*traits INS*): upper case without diacritics,
/// as the INSi teleservice holds and returns them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsTraits {
    pub birth_name: String,
    /// The birth given names, one space between them (INSi `ListePrenom`).
    pub given_names: String,
    /// The first birth given name (INSi `Prenom`).
    pub first_given_name: String,
    /// `M` or `F`; `I` (indéterminé) when the INS has no other.
    pub sex: String,
    /// `YYYY-MM-DD`, `00` for an unknown day or month.
    pub birth_date: String,
    /// INSEE COG code of the birth place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_place: Option<String>,
}

impl std::fmt::Debug for InsTraits {
    // Identity traits stay out of debug output, hence out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InsTraits(..)")
    }
}

impl InsTraits {
    /// The reference traits of a record whose DUI qualified the identity itself: its
    /// birth traits in the INS form, which is how the teleservice returned them to the DUI.
    /// `None` when they cannot be put in that form (intake refuses such records).
    pub fn of_record(identity: &IdentityTraits) -> Option<InsTraits> {
        let normalised = traits::normalise(identity).ok()?;
        Some(InsTraits {
            first_given_name: normalised.first_given_name().to_string(),
            given_names: normalised.given_names_list(),
            birth_name: normalised.birth_name,
            sex: normalised.sex.to_string(),
            birth_date: normalised.birth_date,
            birth_place: normalised.birth_place,
        })
    }

    /// The sex as the record model names it.
    pub fn sex(&self) -> Sex {
        match self.sex.as_str() {
            "M" => Sex::Male,
            "F" => Sex::Female,
            _ => Sex::Undetermined,
        }
    }
}

/// An identity that may leave the gateway: a qualified INS and its reference traits.
#[derive(Debug, Clone, PartialEq)]
pub struct QualifiedIdentity {
    pub ins: Ins,
    pub traits: InsTraits,
}

impl QualifiedIdentity {
    /// The record's INS with its traits in the INS form, whatever its status says: what a
    /// DUI that qualified the identity holds. `None` without an INS.
    pub fn of_record(record: &crate::CrtRecord) -> Option<QualifiedIdentity> {
        let beneficiary = &record.beneficiary;
        Some(QualifiedIdentity {
            ins: beneficiary.ins.clone()?,
            traits: InsTraits::of_record(&beneficiary.identity)?,
        })
    }
}

/// The identity the delivery may send: the record's own INS when the record says the
/// identity is qualified, or the one an upstream INS check qualified, each with its
/// reference traits (those the teleservice returned, when the gateway asked it). `None` in
/// every other case.
pub fn qualified_identity(task: &DeliveryTask) -> Option<QualifiedIdentity> {
    let beneficiary = &task.record.beneficiary;
    if beneficiary.identity_status == IdentityStatus::Qualified {
        return QualifiedIdentity::of_record(&task.record);
    }
    let check = task
        .upstream
        .iter()
        .filter(|upstream| {
            upstream.target == INS_TARGET && upstream.receipt.outcome == Outcome::Delivered
        })
        .filter_map(|upstream| {
            serde_json::from_value::<IdentityCheck>(upstream.receipt.details.clone()).ok()
        })
        .find(|check| check.status == IdentityStatus::Qualified)?;
    let traits = match check.traits {
        Some(traits) => traits,
        None => InsTraits::of_record(&beneficiary.identity)?,
    };
    Some(QualifiedIdentity {
        ins: check.ins?,
        traits,
    })
}

/// The INS the delivery may send (see [`qualified_identity`]).
pub fn qualified_ins(task: &DeliveryTask) -> Option<Ins> {
    qualified_identity(task).map(|identity| identity.ins)
}
