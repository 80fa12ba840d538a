//! The professional acting: every request names them (headers), or the caller is a system
//! acting for its structure (a token declared `actor = "automate"`), or an operator of the
//! gateway (a token declared `actor = "operator"`).

use crt_core::record::{CareRole, Profession};
use http::HeaderMap;

/// idNat_PS of the professional (`8` + RPPS or RPPS+ number).
pub const ACTOR_ID: &str = "crt-actor-id";
/// The professional's profession, as the record names it (`physician`, `coordinator`…).
pub const ACTOR_PROFESSION: &str = "crt-actor-profession";
/// Their role for the beneficiaries concerned (`coordinating_physician`…), optional.
pub const ACTOR_ROLE: &str = "crt-actor-role";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A system acting for its structure.
    Automate,
    /// A person who runs the gateway (the structure's or the GRADeS's technical team):
    /// follows the deliveries and replays them, never reads health content.
    Operator,
    Professional {
        id: String,
        profession: String,
        role: Option<String>,
    },
}

impl Actor {
    /// For refusals and the trace: never a name, only the identifier and the profile.
    pub fn describe(&self) -> String {
        match self {
            Actor::Automate => "automate".into(),
            Actor::Operator => "operator".into(),
            Actor::Professional {
                id,
                profession,
                role,
            } => match role {
                Some(role) => format!("{profession}/{role} {id}"),
                None => format!("{profession} {id}"),
            },
        }
    }

    /// The actor the headers name, `None` when they name none; an error names the header
    /// and what it expects.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Actor>, String> {
        let value = |name: &str| -> Result<Option<String>, String> {
            match headers.get(name) {
                None => Ok(None),
                Some(value) => value
                    .to_str()
                    .map(|v| Some(v.trim().to_string()))
                    .map_err(|_| format!("{name}: expected ASCII text")),
            }
        };
        let (id, profession, role) = (
            value(ACTOR_ID)?,
            value(ACTOR_PROFESSION)?,
            value(ACTOR_ROLE)?,
        );
        let (id, profession) = match (id, profession) {
            (None, None) if role.is_none() => return Ok(None),
            (Some(id), Some(profession)) => (id, profession),
            _ => {
                return Err(format!(
                    "{ACTOR_ID} and {ACTOR_PROFESSION} go together (and {ACTOR_ROLE} with them)"
                ));
            }
        };
        if id.len() != 12 || !id.starts_with('8') || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{ACTOR_ID}: expected the idNat_PS, 8 followed by the 11-digit RPPS or RPPS+ number"
            ));
        }
        if serde_json::from_value::<Profession>(serde_json::Value::String(profession.clone()))
            .is_err()
        {
            return Err(format!(
                "{ACTOR_PROFESSION}: {profession:?} is not a profession of the record schema (physician, nurse, coordinator, administrative…)"
            ));
        }
        if let Some(role) = &role
            && serde_json::from_value::<CareRole>(serde_json::Value::String(role.clone())).is_err()
        {
            return Err(format!(
                "{ACTOR_ROLE}: {role:?} is not a care role of the record schema (general_practitioner, coordinating_physician, nurse_coordinator…)"
            ));
        }
        Ok(Some(Actor::Professional {
            id,
            profession,
            role,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::test_headers as headers;

    #[test]
    fn a_professional_is_read_from_the_headers() {
        let actor = Actor::from_headers(&headers(&[
            (ACTOR_ID, "810003456786"),
            (ACTOR_PROFESSION, "nurse"),
            (ACTOR_ROLE, "nurse_coordinator"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(actor.describe(), "nurse/nurse_coordinator 810003456786");
        assert_eq!(Actor::from_headers(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn malformed_headers_say_what_is_expected() {
        let error =
            Actor::from_headers(&headers(&[(ACTOR_ID, "123"), (ACTOR_PROFESSION, "nurse")]))
                .unwrap_err();
        assert!(error.contains("idNat_PS"), "{error}");
        let error = Actor::from_headers(&headers(&[
            (ACTOR_ID, "810003456786"),
            (ACTOR_PROFESSION, "wizard"),
        ]))
        .unwrap_err();
        assert!(error.contains("not a profession"), "{error}");
        let error = Actor::from_headers(&headers(&[(ACTOR_ID, "810003456786")])).unwrap_err();
        assert!(error.contains("go together"), "{error}");
    }
}
