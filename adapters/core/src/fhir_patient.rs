//! The beneficiary as a FHIR `Patient`, the same for every FHIR service the gateway feeds.

use serde_json::{Value, json};

use crate::CrtRecord;
use crate::record::{Ins, Sex};

/// A DUI birth date (`00` for an unknown day or month) as a FHIR date.
pub fn fhir_date(birth_date: &str) -> String {
    match (
        birth_date.get(0..4),
        birth_date.get(5..7),
        birth_date.get(8..10),
    ) {
        (Some(year), Some("00"), _) => year.to_string(),
        (Some(year), Some(month), Some("00")) => format!("{year}-{month}"),
        _ => birth_date.to_string(),
    }
}

/// The beneficiary with their birth identity; the INS is its identifier when qualified.
pub fn patient(record: &CrtRecord, ins: Option<&Ins>) -> Value {
    let t = &record.beneficiary.identity;
    let gender = match t.sex {
        Sex::Male => "male",
        Sex::Female => "female",
        Sex::Undetermined => "unknown",
    };
    let mut patient = json!({
        "resourceType": "Patient",
        "name": [{"use": "official", "family": t.birth_name, "given": t.birth_given_names}],
        "gender": gender,
        "birthDate": fhir_date(&t.birth_date),
    });
    if let Some(ins) = ins {
        patient["identifier"] = json!([{
            "use": "official",
            "system": format!("urn:oid:{}", ins.oid.as_str()),
            "value": ins.number,
        }]);
    }
    patient
}

#[cfg(test)]
mod tests {
    use super::fhir_date;

    #[test]
    fn unknown_birth_days_and_months_become_partial_dates() {
        assert_eq!(fhir_date("1941-00-00"), "1941");
        assert_eq!(fhir_date("1941-03-00"), "1941-03");
        assert_eq!(fhir_date("1941-03-12"), "1941-03-12");
    }
}
