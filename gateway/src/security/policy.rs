//! Access by profile: a policy of rules, each allowing some callers (by profession, role
//! or principal) some access to some resources. Deny by default.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::actor::Actor;

/// The default policy, documented in `docs/security.md`.
pub const DEFAULT_POLICY: &str = include_str!("default-policy.toml");

/// What an API call touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Record,
    Deliveries,
    Operations,
    Identity,
    Dlu,
    Plan,
    Documents,
    AdmissionAdministrative,
    AdmissionMedical,
    CareCircle,
    LiaisonBook,
    /// Checking a file offline (`POST /v1/validate`): nothing stored is read.
    Validation,
    /// Activity indicators: counts, no beneficiary named.
    Reports,
    /// The CRT's volet 1 actions: counts of participants, no one named.
    Activity,
    /// The emergency accesses (*bris de glace*) to the CRT's beneficiaries, for review.
    EmergencyAccesses,
    /// Messages received that no beneficiary matched for sure, to attach or reject, and
    /// the feed of what arrived.
    Inbox,
    /// The on-call service's alerts: raised by a téléassistance centre, taken and closed
    /// by the professionals on call.
    Alerts,
    /// The planning of the interventions: who comes when, and the calendar links.
    Planning,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Record => "record",
            Resource::Deliveries => "deliveries",
            Resource::Operations => "operations",
            Resource::Identity => "identity",
            Resource::Dlu => "dlu",
            Resource::Plan => "plan",
            Resource::Documents => "documents",
            Resource::AdmissionAdministrative => "admission_administrative",
            Resource::AdmissionMedical => "admission_medical",
            Resource::CareCircle => "care_circle",
            Resource::LiaisonBook => "liaison_book",
            Resource::Validation => "validation",
            Resource::Reports => "reports",
            Resource::Activity => "activity",
            Resource::EmergencyAccesses => "emergency_accesses",
            Resource::Inbox => "inbox",
            Resource::Alerts => "alerts",
            Resource::Planning => "planning",
        }
    }

    /// What an artifact of a delivery holds, by its name.
    pub fn of_artifact(name: &str) -> Resource {
        let name = name.to_ascii_lowercase();
        if name.contains("insi") || name.contains("identity") {
            Resource::Identity
        } else if name.contains("dlu") {
            Resource::Dlu
        } else if name.contains("plan") {
            Resource::Plan
        } else if name.contains("admission") {
            Resource::AdmissionAdministrative
        } else if name.contains("liaison") {
            Resource::LiaisonBook
        } else if name.contains("care-circle") || name.contains("summary") {
            Resource::CareCircle
        } else {
            Resource::Documents
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
    /// Reading a beneficiary's data without being in their care team, in an emergency,
    /// with a written reason (*bris de glace*).
    BreakGlass,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::BreakGlass => "break_glass",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default)]
    pub professions: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Callers that are not named professionals: `automate`, `operator`.
    #[serde(default)]
    pub principals: Vec<String>,
    pub resources: Vec<Resource>,
    pub access: Vec<Access>,
}

impl Rule {
    fn covers(&self, actor: &Actor, resource: Resource, access: Access) -> bool {
        self.resources.contains(&resource)
            && self.access.contains(&access)
            && match actor {
                Actor::Automate => self.principals.iter().any(|p| p == "automate"),
                Actor::Operator => self.principals.iter().any(|p| p == "operator"),
                Actor::Professional {
                    profession, role, ..
                } => {
                    self.professions.iter().any(|p| p == profession)
                        || role
                            .as_deref()
                            .is_some_and(|role| self.roles.iter().any(|r| r == role))
                }
            }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {path}: {reason}")]
    Read { path: String, reason: String },
}

/// Why an access was refused, for the 403 answer and the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub resource: Resource,
    pub access: Access,
    pub who: String,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no rule of the access policy lets {} {} {} (deny by default)",
            self.who,
            self.access.as_str(),
            self.resource.as_str()
        )
    }
}

impl Policy {
    pub fn default_policy() -> Policy {
        // The shipped default is checked by a test: it always reads.
        toml::from_str(DEFAULT_POLICY).unwrap_or(Policy { rules: Vec::new() })
    }

    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let read = |reason: String| PolicyError::Read {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| read(e.to_string()))?;
        toml::from_str(&text).map_err(|e: toml::de::Error| read(e.to_string()))
    }

    /// The rule that allows the access, or why none does.
    pub fn decide(
        &self,
        actor: &Actor,
        resource: Resource,
        access: Access,
    ) -> Result<&str, Denied> {
        self.rules
            .iter()
            .find(|rule| rule.covers(actor, resource, access))
            .map(|rule| rule.name.as_str())
            .ok_or_else(|| Denied {
                resource,
                access,
                who: actor.describe(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn professional(profession: &str, role: Option<&str>) -> Actor {
        Actor::Professional {
            id: "810001234567".into(),
            profession: profession.into(),
            role: role.map(str::to_string),
        }
    }

    #[test]
    fn the_default_policy_reads() {
        assert!(toml::from_str::<Policy>(DEFAULT_POLICY).is_ok());
        assert!(!Policy::default_policy().rules.is_empty());
    }

    #[test]
    fn the_medical_part_is_for_the_physicians_of_the_admission() {
        let policy = Policy::default_policy();
        let nurse = professional("nurse", Some("nurse_coordinator"));
        let denied = policy
            .decide(&nurse, Resource::AdmissionMedical, Access::Read)
            .unwrap_err();
        assert!(denied.to_string().contains("admission_medical"));
        let physician = professional("physician", Some("coordinating_physician"));
        assert_eq!(
            policy.decide(&physician, Resource::AdmissionMedical, Access::Read),
            Ok("medical-part-of-admission-files")
        );
    }

    #[test]
    fn non_clinical_staff_read_coordination_content_not_medical_content() {
        let policy = Policy::default_policy();
        let assistant = professional("care_assistant", Some("care_assistant"));
        assert!(
            policy
                .decide(&assistant, Resource::Plan, Access::Read)
                .is_ok()
        );
        assert!(
            policy
                .decide(&assistant, Resource::Dlu, Access::Read)
                .is_err()
        );
        let coordinator = professional("coordinator", Some("other"));
        assert!(
            policy
                .decide(&coordinator, Resource::LiaisonBook, Access::Read)
                .is_ok()
        );
        assert!(
            policy
                .decide(&coordinator, Resource::Record, Access::Write)
                .is_ok()
        );
    }

    #[test]
    fn systems_submit_but_do_not_read_documents() {
        let policy = Policy::default_policy();
        assert!(
            policy
                .decide(&Actor::Automate, Resource::Record, Access::Write)
                .is_ok()
        );
        assert!(
            policy
                .decide(&Actor::Automate, Resource::Dlu, Access::Read)
                .is_err()
        );
    }

    #[test]
    fn operators_follow_and_replay_deliveries_but_read_no_health_content() {
        let policy = Policy::default_policy();
        for (resource, access) in [
            (Resource::Deliveries, Access::Read),
            (Resource::Operations, Access::Write),
            (Resource::Validation, Access::Write),
        ] {
            assert!(policy.decide(&Actor::Operator, resource, access).is_ok());
        }
        for resource in [
            Resource::Record,
            Resource::Dlu,
            Resource::Plan,
            Resource::LiaisonBook,
        ] {
            assert!(
                policy
                    .decide(&Actor::Operator, resource, Access::Read)
                    .is_err()
            );
        }
        let nurse = Actor::Professional {
            id: "810003456786".into(),
            profession: "nurse".into(),
            role: None,
        };
        assert!(
            policy
                .decide(&nurse, Resource::Operations, Access::Write)
                .is_err()
        );
    }

    #[test]
    fn clinicians_may_break_glass_on_medical_content_and_physicians_review_it() {
        let policy = Policy::default_policy();
        for profession in ["physician", "nurse"] {
            assert!(
                policy
                    .decide(
                        &professional(profession, None),
                        Resource::Dlu,
                        Access::BreakGlass
                    )
                    .is_ok(),
                "{profession}"
            );
        }
        for profession in ["home_help", "coordinator"] {
            assert!(
                policy
                    .decide(
                        &professional(profession, None),
                        Resource::Dlu,
                        Access::BreakGlass
                    )
                    .is_err(),
                "{profession}"
            );
        }
        assert!(
            policy
                .decide(
                    &professional("physician", None),
                    Resource::EmergencyAccesses,
                    Access::Read
                )
                .is_ok()
        );
        assert!(
            policy
                .decide(&Actor::Automate, Resource::EmergencyAccesses, Access::Read)
                .is_err()
        );
    }

    #[test]
    fn artifacts_are_classed_by_what_they_hold() {
        assert_eq!(Resource::of_artifact("dlu.xml"), Resource::Dlu);
        assert_eq!(
            Resource::of_artifact("admission-request.json"),
            Resource::AdmissionAdministrative
        );
        assert_eq!(Resource::of_artifact("message.eml"), Resource::Documents);
    }
}
