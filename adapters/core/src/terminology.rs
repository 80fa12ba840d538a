//! Official value sets the gateway checks codes against, read from the ANS files copied
//! unchanged into `schemas/` (with their provenance beside them) and compiled in, so that
//! a check never depends on what happens to be on disk.

use std::sync::OnceLock;

use serde_json::Value;

/// The codes a ValueSet's `compose` lists, with their displays, in its order.
pub fn listed_codes(value_set: &str) -> Vec<(String, String)> {
    let value_set: Value = serde_json::from_str(value_set).unwrap_or_default();
    value_set["compose"]["include"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|include| include["concept"].as_array().into_iter().flatten())
        .filter_map(|concept| {
            Some((
                concept["code"].as_str()?.to_string(),
                concept["display"].as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// The system a ValueSet's first `compose.include` draws from.
pub fn listed_system(value_set: &str) -> String {
    let value_set: Value = serde_json::from_str(value_set).unwrap_or_default();
    value_set["compose"]["include"][0]["system"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

macro_rules! value_set {
    ($(#[$doc:meta])* $name:ident, $file:literal) => {
        $(#[$doc])*
        pub fn $name() -> &'static [(String, String)] {
            static CODES: OnceLock<Vec<(String, String)>> = OnceLock::new();
            CODES.get_or_init(|| listed_codes(include_str!(concat!("../../../schemas/", $file))))
        }
    };
}

value_set!(
    /// JDV_J251 MotifStatutPersonnePriseChargeESMS (TRE_R358): why an ESMS refuses or
    /// gives up an admission.
    admission_reasons,
    "viatrajectoire/terminology/ValueSet-JDV-J251-MotifStatutPersonnePriseChargeESMS.json"
);
value_set!(
    /// JDV_J252 StatutPersonnePriseChargeESMS (TRE_R357): where a person stands with an
    /// ESMS.
    admission_statuses,
    "viatrajectoire/terminology/ValueSet-JDV-J252-StatutPersonnePriseChargeESMS.json"
);

/// The display of a code of a listed value set.
pub fn display<'a>(codes: &'a [(String, String)], code: &str) -> Option<&'a str> {
    codes
        .iter()
        .find(|(known, _)| known == code)
        .map(|(_, display)| display.as_str())
}
