//! Whom a received message is about: the patient its documents name, matched against the
//! beneficiaries of the CRT whose mailbox received it, as identity vigilance asks.
//!
//! An INS names a beneficiary when it is the INS of exactly one of them and the traits the
//! document gives (birth name, first given name, birth date, sex) are those of that
//! beneficiary; the volet's errors say why not otherwise (902 unknown, 904 traits that
//! differ, 905 traits missing). Without an INS (903), the four traits together name a
//! beneficiary when exactly one has them all; anything less goes to the inbox for a
//! person to decide.

use std::collections::BTreeMap;

use crt_core::CrtRecord;
use crt_core::identity::traits::normalise_name;
use crt_mssante::mdn::IntegrationError;
use crt_mssante::patient::NamedPatient;

use crate::store::Store;

/// A beneficiary as their newest record describes them.
#[derive(Clone)]
struct Followed {
    crt: String,
    local_id: String,
    ins: Option<String>,
    birth_name: Option<String>,
    given_names: Vec<String>,
    birth_date: String,
    sex: crt_core::record::Sex,
}

/// The beneficiaries of the CRTs that send from one mailbox.
#[derive(Default)]
pub struct Beneficiaries {
    /// The CRTs (FINESS ET) whose records name the mailbox.
    pub crts: Vec<String>,
    followed: Vec<Followed>,
}

/// How a patient was matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Beneficiary {
        crt: String,
        local_id: String,
        /// `ins` or `traits`.
        by: &'static str,
    },
    /// Nobody, or nobody for sure: the message waits in the inbox.
    None(IntegrationError, &'static str),
}

impl Beneficiaries {
    /// Reads the newest record of each beneficiary of the CRTs whose records name
    /// `mailbox` as theirs.
    pub async fn of_mailbox(store: &dyn Store, mailbox: &str) -> Result<Beneficiaries, String> {
        let mut gathering = Gathering::default();
        for crt in store.crts().await.map_err(|e| e.to_string())? {
            let payloads = store
                .crt_record_payloads(crt.clone())
                .await
                .map_err(|e| e.to_string())?;
            let records = payloads
                .iter()
                .filter_map(|payload| serde_json::from_slice::<CrtRecord>(payload).ok());
            gathering.add(&crt, records, mailbox);
        }
        Ok(gathering.finish())
    }

    /// The beneficiaries of `records` (oldest first) whose CRT names `mailbox` as its
    /// own: for a reading that does not go through the stored records.
    pub fn of_records(records: &[CrtRecord], mailbox: &str) -> Beneficiaries {
        let mut gathering = Gathering::default();
        for record in records {
            gathering.add(
                &record.crt.finess_et,
                std::iter::once(record.clone()),
                mailbox,
            );
        }
        gathering.finish()
    }

    /// The beneficiary `patient` names, if one is named for sure.
    pub fn find(&self, patient: &NamedPatient) -> Match {
        let traits = Traits::of(patient);
        match &patient.ins {
            Some(ins) => {
                let holders: Vec<&Followed> = self
                    .followed
                    .iter()
                    .filter(|f| f.ins.as_deref() == Some(ins.number.as_str()))
                    .collect();
                let [holder] = holders.as_slice() else {
                    return Match::None(
                        IntegrationError::UNKNOWN_PATIENT,
                        if holders.is_empty() {
                            "no beneficiary of the structure has this INS"
                        } else {
                            "several beneficiaries of the structure have this INS"
                        },
                    );
                };
                let Some(traits) = traits else {
                    return Match::None(
                        IntegrationError::INS_INCOMPLETE,
                        "the documents give the INS without all of its traits",
                    );
                };
                if !traits.are_those_of(holder) {
                    return Match::None(
                        IntegrationError::INS_MISMATCH,
                        "the traits given with the INS are not the beneficiary's",
                    );
                }
                Match::Beneficiary {
                    crt: holder.crt.clone(),
                    local_id: holder.local_id.clone(),
                    by: "ins",
                }
            }
            None => {
                let found: Vec<&Followed> = match &traits {
                    Some(traits) => self
                        .followed
                        .iter()
                        .filter(|f| traits.are_those_of(f))
                        .collect(),
                    None => Vec::new(),
                };
                match found.as_slice() {
                    [only] => Match::Beneficiary {
                        crt: only.crt.clone(),
                        local_id: only.local_id.clone(),
                        by: "traits",
                    },
                    _ => Match::None(
                        IntegrationError::NO_INS,
                        "the documents name no INS, and their traits name no one beneficiary",
                    ),
                }
            }
        }
    }
}

/// The four traits a document gives, normalised as the INS writes them.
struct Traits {
    birth_name: String,
    given: String,
    birth_date: String,
    sex: crt_core::record::Sex,
}

/// Beneficiaries being gathered, CRT by CRT: the newest record of each.
#[derive(Default)]
struct Gathering {
    newest: BTreeMap<(String, String), Followed>,
    crts: Vec<String>,
}

impl Gathering {
    /// Adds the records of CRT `crt`, oldest first, that name `mailbox`: a newer version
    /// of a beneficiary replaces an older one.
    fn add(&mut self, crt: &str, records: impl Iterator<Item = CrtRecord>, mailbox: &str) {
        let mut theirs = false;
        for record in records {
            if !record
                .crt
                .mssante_mailbox
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(mailbox))
            {
                continue;
            }
            theirs = true;
            let beneficiary = &record.beneficiary;
            let traits = &beneficiary.identity;
            self.newest.insert(
                (crt.to_string(), beneficiary.local_id.clone()),
                Followed {
                    crt: crt.to_string(),
                    local_id: beneficiary.local_id.clone(),
                    ins: beneficiary.ins.as_ref().map(|i| i.number.clone()),
                    birth_name: normalise_name("birth_name", &traits.birth_name).ok(),
                    given_names: traits
                        .birth_given_names
                        .iter()
                        .filter_map(|g| normalise_name("given", g).ok())
                        .collect(),
                    birth_date: traits.birth_date.clone(),
                    sex: traits.sex,
                },
            );
        }
        if theirs && !self.crts.iter().any(|c| c == crt) {
            self.crts.push(crt.to_string());
        }
    }

    fn finish(self) -> Beneficiaries {
        Beneficiaries {
            crts: self.crts,
            followed: self.newest.into_values().collect(),
        }
    }
}

impl Traits {
    fn of(patient: &NamedPatient) -> Option<Traits> {
        Some(Traits {
            birth_name: normalise_name("birth_name", patient.family.as_deref()?).ok()?,
            given: normalise_name("given", patient.given.as_deref()?).ok()?,
            birth_date: patient.birth_date.clone()?,
            sex: patient.sex?,
        })
    }

    /// The document may give one given name or several (the INS's list): the first must
    /// be the beneficiary's first birth given name.
    fn are_those_of(&self, followed: &Followed) -> bool {
        let first_given = self.given.split(' ').next().unwrap_or_default();
        followed.birth_name.as_deref() == Some(self.birth_name.as_str())
            && followed.given_names.first().map(String::as_str) == Some(first_given)
            && followed.birth_date == self.birth_date
            && followed.sex == self.sex
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crt_core::record::{InsOid, Sex};
    use crt_mssante::patient::NamedIns;

    fn followed(local_id: &str, ins: Option<&str>) -> Followed {
        Followed {
            crt: "440000057".into(),
            local_id: local_id.into(),
            ins: ins.map(str::to_string),
            birth_name: Some("DUPONT".into()),
            given_names: vec!["MARIE".into(), "THERESE".into()],
            birth_date: "1938-03-17".into(),
            sex: Sex::Female,
        }
    }

    fn named(ins: Option<&str>) -> NamedPatient {
        NamedPatient {
            ins: ins.map(|number| NamedIns {
                number: number.into(),
                oid: InsOid::TestNir,
            }),
            family: Some("Dupont".into()),
            given: Some("Marie".into()),
            birth_date: Some("1938-03-17".into()),
            sex: Some(Sex::Female),
        }
    }

    #[test]
    fn an_ins_with_its_traits_names_its_beneficiary() {
        let known = Beneficiaries {
            crts: vec!["440000057".into()],
            followed: vec![
                followed("B-1", Some("238039263001064")),
                followed("B-2", None),
            ],
        };
        assert_eq!(
            known.find(&named(Some("238039263001064"))),
            Match::Beneficiary {
                crt: "440000057".into(),
                local_id: "B-1".into(),
                by: "ins"
            }
        );
        let Match::None(error, _) = known.find(&named(Some("100000000000000"))) else {
            panic!("unknown");
        };
        assert_eq!(error, IntegrationError::UNKNOWN_PATIENT);
        let mut other_traits = named(Some("238039263001064"));
        other_traits.birth_date = Some("1938-03-18".into());
        assert!(matches!(
            known.find(&other_traits),
            Match::None(IntegrationError::INS_MISMATCH, _)
        ));
        let mut incomplete = named(Some("238039263001064"));
        incomplete.sex = None;
        assert!(matches!(
            known.find(&incomplete),
            Match::None(IntegrationError::INS_INCOMPLETE, _)
        ));
    }

    #[test]
    fn without_an_ins_only_one_beneficiary_with_all_four_traits_is_named() {
        let one = Beneficiaries {
            crts: vec![],
            followed: vec![followed("B-1", Some("238039263001064"))],
        };
        assert!(matches!(
            one.find(&named(None)),
            Match::Beneficiary { by: "traits", .. }
        ));
        let two = Beneficiaries {
            crts: vec![],
            followed: vec![followed("B-1", None), followed("B-2", None)],
        };
        assert!(matches!(
            two.find(&named(None)),
            Match::None(IntegrationError::NO_INS, _)
        ));
    }
}
