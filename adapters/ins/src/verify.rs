//! From an INSi answer to the identity status the gateway may assign (RNIV).
//!
//! - The INSi finds exactly one identity whose traits match the local ones → the INS is
//!   recovered: RECUP, or QUAL when the structure checked an identity document.
//! - No identity, several, or traits that differ → the INS is not recovered: the status
//!   stays PROV (or VALI with a document checked) and the reason says why.
//!
//! Only QUAL lets the INS leave the gateway (DMP, MSSanté, regional platform).

use crt_core::record::{IdentityStatus, Ins};

use crate::message::{InsiAnswer, ReturnedIdentity};
use crate::number::InsNumber;
use crt_core::identity::traits::NormalisedTraits;

/// What the gateway concludes.
#[derive(Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: IdentityStatus,
    /// The INS recovered, with its OID, when the traits matched.
    pub ins: Option<(InsNumber, String)>,
    /// Local traits that differ from the INSi's (names of traits, never values).
    pub mismatches: Vec<&'static str>,
    /// Why the identity is not qualified, for the deliveries held.
    pub reason: Option<String>,
}

impl std::fmt::Debug for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decision")
            .field("status", &self.status)
            .field("mismatches", &self.mismatches)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// Decides the status. `document_checked`: the structure checked a high-trust identity
/// document (RNIV), which VALI and QUAL require. `record_ins`: the INS the record already
/// holds, if any, which the answer must confirm.
pub fn decide(
    local: &NormalisedTraits,
    record_ins: Option<&Ins>,
    document_checked: bool,
    answer: &InsiAnswer,
) -> Decision {
    let unrecovered = if document_checked {
        IdentityStatus::Validated
    } else {
        IdentityStatus::Provisional
    };
    let refuse = |mismatches: Vec<&'static str>, reason: String| Decision {
        status: unrecovered,
        ins: None,
        mismatches,
        reason: Some(reason),
    };
    let identity = match answer {
        InsiAnswer::NotFound => {
            return refuse(
                Vec::new(),
                "the INSi teleservice found no identity for these traits (CR 01)".into(),
            );
        }
        InsiAnswer::Several => {
            return refuse(
                Vec::new(),
                "several identities match these traits (CR 02): search with the Carte Vitale or complete the traits".into(),
            );
        }
        InsiAnswer::Found(identity) => identity,
    };
    let mismatches = compare(local, identity);
    if !mismatches.is_empty() {
        return refuse(
            mismatches.clone(),
            format!(
                "the INSi traits differ from the local traits on: {}; check the identity before using the INS",
                mismatches.join(", ")
            ),
        );
    }
    if let Some(known) = record_ins {
        let known = known.number.as_str();
        let matches_active = identity.ins.as_string() == known;
        let in_history = identity
            .history
            .iter()
            .any(|(ins, _)| ins.as_string() == known);
        if !matches_active && !in_history {
            return refuse(
                vec!["ins"],
                "the INSi returned an INS other than the one the record holds".into(),
            );
        }
    }
    let status = if document_checked {
        IdentityStatus::Qualified
    } else {
        IdentityStatus::Recovered
    };
    Decision {
        status,
        ins: Some((identity.ins.clone(), identity.oid.clone())),
        mismatches: Vec::new(),
        reason: (status != IdentityStatus::Qualified).then(|| {
            "the INS was recovered (RECUP) but no identity document was checked: it cannot be sent until the identity is qualified".to_string()
        }),
    }
}

/// Traits that differ, compared in their normalised forms.
fn compare(local: &NormalisedTraits, identity: &ReturnedIdentity) -> Vec<&'static str> {
    let returned = &identity.traits;
    let mut mismatches = Vec::new();
    if local.birth_name != returned.birth_name {
        mismatches.push("birth name");
    }
    let returned_first = returned.first_given_name.clone().unwrap_or_else(|| {
        returned
            .given_names
            .split(' ')
            .next()
            .unwrap_or("")
            .to_string()
    });
    if local.first_given_name() != returned_first {
        mismatches.push("first given name");
    }
    if local.given_names_list() != returned.given_names {
        mismatches.push("birth given names");
    }
    if local.sex != returned.sex {
        mismatches.push("sex");
    }
    if local.birth_date != returned.birth_date {
        mismatches.push("birth date");
    }
    // A birth place the record does not know is not a difference: the DUI takes the
    // INSi's, as it takes every returned trait once the INS is recovered.
    if let (Some(local), Some(returned)) = (&local.birth_place, &returned.birth_place)
        && local != returned
    {
        mismatches.push("birth place");
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReturnedTraits;

    fn local() -> NormalisedTraits {
        NormalisedTraits {
            birth_name: "DUPONT".into(),
            given_names: vec!["MARIE-THERESE".into(), "JEANNE".into()],
            sex: "F",
            birth_date: "1938-04-12".into(),
            birth_place: Some("72181".into()),
        }
    }

    fn found() -> InsiAnswer {
        InsiAnswer::Found(Box::new(ReturnedIdentity {
            ins: InsNumber::parse("238047218104592").unwrap(),
            oid: "1.2.250.1.213.1.4.10".into(),
            history: Vec::new(),
            traits: ReturnedTraits {
                birth_name: "DUPONT".into(),
                first_given_name: Some("MARIE-THERESE".into()),
                given_names: "MARIE-THERESE JEANNE".into(),
                sex: "F".into(),
                birth_date: "1938-04-12".into(),
                birth_place: Some("72181".into()),
            },
        }))
    }

    #[test]
    fn an_exact_match_recovers_and_a_checked_document_qualifies() {
        let recovered = decide(&local(), None, false, &found());
        assert_eq!(recovered.status, IdentityStatus::Recovered);
        assert!(recovered.ins.is_some());
        assert!(recovered.reason.as_deref().unwrap().contains("RECUP"));
        let qualified = decide(&local(), None, true, &found());
        assert_eq!(qualified.status, IdentityStatus::Qualified);
        assert!(qualified.reason.is_none());
    }

    #[test]
    fn codes_01_and_02_leave_the_identity_where_it_was() {
        let none = decide(&local(), None, false, &InsiAnswer::NotFound);
        assert_eq!(none.status, IdentityStatus::Provisional);
        assert!(none.reason.unwrap().contains("CR 01"));
        let several = decide(&local(), None, true, &InsiAnswer::Several);
        assert_eq!(several.status, IdentityStatus::Validated);
        assert!(several.ins.is_none());
        assert!(several.reason.unwrap().contains("CR 02"));
    }

    #[test]
    fn differing_traits_are_named_and_block_the_ins() {
        let mut traits = local();
        traits.birth_date = "1938-04-13".into();
        traits.given_names = vec!["MARIE-THERESE".into()];
        let decision = decide(&traits, None, true, &found());
        assert_eq!(decision.status, IdentityStatus::Validated);
        assert_eq!(decision.mismatches, vec!["birth given names", "birth date"]);
        assert!(decision.ins.is_none());
        let reason = decision.reason.unwrap();
        assert!(
            reason.contains("birth date") && !reason.contains("1938"),
            "{reason}"
        );
    }

    #[test]
    fn the_record_ins_must_be_the_active_one_or_in_its_history() {
        let other = Ins {
            number: "279035121518989".into(),
            oid: crt_core::record::InsOid::Nir,
        };
        let decision = decide(&local(), Some(&other), true, &found());
        assert_eq!(decision.mismatches, vec!["ins"]);
        let same = Ins {
            number: "238047218104592".into(),
            oid: crt_core::record::InsOid::TestNir,
        };
        assert_eq!(
            decide(&local(), Some(&same), true, &found()).status,
            IdentityStatus::Qualified
        );
    }
}
