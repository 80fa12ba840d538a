//! The care team of a beneficiary: who may read or write their health data (CSP
//! L.1110-4 limits sharing to the team that takes care of the person). The team is the
//! care circle of the beneficiary's latest record (by RPPS) and the CRT's own staff as
//! configured; anyone else is refused, or uses *bris de glace* where the policy allows it.

use http::HeaderMap;
use serde::Deserialize;

use super::actor::Actor;
use super::auth::Caller;
use crate::config::Staff;

/// The header that asks for an emergency access (*bris de glace*), with its reason.
pub const BREAK_GLASS: &str = "crt-break-glass";
/// A reason longer than this is refused: it is a sentence, not a document.
const MAX_REASON_CHARS: usize = 500;

/// Where a professional stands towards one beneficiary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// In the care circle, or on the CRT's staff.
    Member,
    /// Neither: health data only through *bris de glace*.
    Outside,
    /// Named by a system that may not name professionals for this CRT.
    NotDelegated,
}

/// Where `caller` stands towards a beneficiary of the CRT `crt` whose latest record's care
/// circle holds `circle` (idNat_PS). Systems and operators are not professionals: the
/// access policy alone decides for them.
pub fn standing(caller: &Caller, crt: &str, circle: &[String], staff: &[Staff]) -> Standing {
    let Actor::Professional { id, .. } = &caller.actor else {
        return Standing::Member;
    };
    if !caller.may_act_for(crt) {
        return Standing::NotDelegated;
    }
    let on_staff = staff
        .iter()
        .any(|s| s.crt == crt && s.members.iter().any(|m| m == id));
    if on_staff || circle.iter().any(|member| member == id) {
        Standing::Member
    } else {
        Standing::Outside
    }
}

/// The idNat_PS (`8` + RPPS) of the care-circle members of a stored record's payload; an
/// unreadable payload has none.
pub fn care_circle_of(payload: &[u8]) -> Vec<String> {
    #[derive(Deserialize)]
    struct Circle {
        #[serde(default)]
        care_circle: Vec<Member>,
    }
    #[derive(Deserialize)]
    struct Member {
        #[serde(default)]
        rpps: Option<String>,
    }
    serde_json::from_slice::<Circle>(payload)
        .map(|circle| {
            circle
                .care_circle
                .into_iter()
                .filter_map(|m| m.rpps)
                .map(|rpps| format!("8{rpps}"))
                .collect()
        })
        .unwrap_or_default()
}

/// The header that says which emergency a *bris de glace* is: `bris_de_glace` (the
/// default) or `centre_15`, a medical regulation centre's physician (TRE_R248 codes).
pub const EMERGENCY_MODE: &str = "crt-emergency-mode";

/// An emergency access a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAsked {
    pub reason: String,
    /// Asked by a medical regulation centre (SAMU - centre 15), not at the bedside.
    pub regulation: bool,
}

/// The emergency access the request asks for: `None` without [`BREAK_GLASS`], an error
/// naming the rule when its reason or its [`EMERGENCY_MODE`] is wrong.
pub fn emergency_asked(headers: &HeaderMap) -> Result<Option<EmergencyAsked>, String> {
    let regulation = match headers.get(EMERGENCY_MODE).map(|v| v.to_str()) {
        None | Some(Ok("bris_de_glace")) => false,
        Some(Ok("centre_15")) => true,
        Some(_) => {
            return Err(format!(
                "{EMERGENCY_MODE}: expected bris_de_glace or centre_15 (TRE_R248)"
            ));
        }
    };
    match break_glass_reason(headers)? {
        Some(reason) => Ok(Some(EmergencyAsked { reason, regulation })),
        None if headers.contains_key(EMERGENCY_MODE) => Err(format!(
            "{EMERGENCY_MODE} goes with {BREAK_GLASS}: an emergency access needs its reason"
        )),
        None => Ok(None),
    }
}

/// The reason of a *bris de glace* the request asks for: `None` without the header, an
/// error naming the rule when the reason is empty, too long or not text.
pub fn break_glass_reason(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get(BREAK_GLASS) else {
        return Ok(None);
    };
    let reason = value
        .to_str()
        .map_err(|_| format!("{BREAK_GLASS}: expected text (percent-encode other characters)"))?;
    let reason = crt_core::oauth::decode(reason).trim().to_string();
    if reason.is_empty() {
        return Err(format!(
            "{BREAK_GLASS}: an emergency access needs its reason, in a sentence"
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(format!(
            "{BREAK_GLASS}: the reason is one line of at most {MAX_REASON_CHARS} characters"
        ));
    }
    Ok(Some(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn professional(id: &str, delegated_for: Option<Vec<String>>) -> Caller {
        Caller {
            principal: "test".into(),
            structure: None,
            actor: Actor::Professional {
                id: id.into(),
                profession: "physician".into(),
                role: None,
            },
            assurance: None,
            specialty: None,
            delegated_for,
        }
    }

    #[test]
    fn the_team_is_the_care_circle_and_the_crt_staff() {
        let record = br#"{"care_circle": [{"rpps": "10001234565"}, {"id": "x"}]}"#;
        let circle = care_circle_of(record);
        assert_eq!(circle, ["810001234565"]);
        let staff = [Staff {
            crt: "720004563".into(),
            members: vec!["810002345675".into()],
        }];
        let standing_of = |caller: &Caller, crt: &str| standing(caller, crt, &circle, &staff);
        assert_eq!(
            standing_of(&professional("810001234565", None), "110010030"),
            Standing::Member
        );
        assert_eq!(
            standing_of(&professional("810002345675", None), "720004563"),
            Standing::Member
        );
        assert_eq!(
            standing_of(&professional("810002345675", None), "110010030"),
            Standing::Outside
        );
        assert_eq!(
            standing_of(
                &professional("810001234565", Some(vec!["720004563".into()])),
                "110010030"
            ),
            Standing::NotDelegated
        );
    }

    #[test]
    fn a_break_glass_needs_a_reason() {
        let headers = |value: &str| crate::security::test_headers(&[(BREAK_GLASS, value)]);
        assert_eq!(break_glass_reason(&HeaderMap::new()), Ok(None));
        assert!(break_glass_reason(&headers("  ")).is_err());
        assert_eq!(
            break_glass_reason(&headers("Chute%20%C3%A0%20domicile")),
            Ok(Some("Chute à domicile".into()))
        );
    }

    #[test]
    fn a_regulation_is_an_emergency_with_its_mode() {
        let headers = |pairs: &[(&'static str, &str)]| crate::security::test_headers(pairs);
        assert_eq!(
            emergency_asked(&headers(&[
                (BREAK_GLASS, "appel"),
                (EMERGENCY_MODE, "centre_15")
            ])),
            Ok(Some(EmergencyAsked {
                reason: "appel".into(),
                regulation: true
            }))
        );
        assert_eq!(
            emergency_asked(&headers(&[(BREAK_GLASS, "chute")])).map(|a| a.map(|a| a.regulation)),
            Ok(Some(false))
        );
        assert!(emergency_asked(&headers(&[(EMERGENCY_MODE, "centre_15")])).is_err());
        assert!(
            emergency_asked(&headers(&[(BREAK_GLASS, "x"), (EMERGENCY_MODE, "samu")]))
                .unwrap_err()
                .contains("centre_15")
        );
        assert_eq!(emergency_asked(&HeaderMap::new()), Ok(None));
    }
}
