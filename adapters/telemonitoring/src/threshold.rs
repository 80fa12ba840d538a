//! The beneficiary's bounds, as the record sets them, and the measures that cross them.

use crt_core::record::{CrtRecord, MonitoringThreshold, Terminology};
use crt_core::validation::{RecordRule, Violations};

use crate::observation::{LOINC, Measure, Measurement, SNOMED_CT};
use crate::profile::rules;

/// The code system URL of a record terminology, for the ones observations are coded in.
fn system_url(system: Terminology) -> Option<&'static str> {
    match system {
        Terminology::Loinc => Some(LOINC),
        Terminology::SnomedCt => Some(SNOMED_CT),
        _ => None,
    }
}

/// The record's thresholds: coded in LOINC or SNOMED CT, and a vital sign's bounds in
/// one of the units its FHIR profile allows, so that every observation the profile
/// accepts can be compared with them.
pub struct ThresholdRecordRule;

impl RecordRule for ThresholdRecordRule {
    fn check(&self, record: &CrtRecord, out: &mut Violations) {
        for (i, threshold) in record.telemonitoring.iter().enumerate() {
            let at = format!("/telemonitoring/{i}");
            if system_url(threshold.code.system).is_none() {
                out.push(
                    format!("{at}/code/system"),
                    "threshold-code",
                    "expected loinc or snomed_ct: the codes telemonitoring observations carry",
                );
                continue;
            }
            if threshold.code.system != Terminology::Loinc {
                continue;
            }
            if let Some(units) = rules().units_of(&threshold.code.code)
                && !units.codes.contains(&threshold.unit)
            {
                out.push(
                    format!("{at}/unit"),
                    "threshold-unit",
                    format!(
                        "expected one of {} for LOINC {} ({})",
                        units.codes.join(", "),
                        threshold.code.code,
                        units.source
                    ),
                );
            }
        }
    }
}

/// A measure outside its bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossing {
    pub measure: Measure,
    pub threshold: MonitoringThreshold,
    /// The measured value in the threshold's unit.
    pub value: f64,
}

impl Crossing {
    /// A sentence for the on-call professional: what, how much, which bound.
    pub fn describe(&self) -> String {
        let threshold = &self.threshold;
        let name = self
            .measure
            .display
            .clone()
            .or_else(|| threshold.code.display.clone())
            .unwrap_or_else(|| threshold.code.code.clone());
        let bound = match (threshold.low, threshold.high) {
            (Some(low), _) if self.value < low => format!("below the low bound {low}"),
            (_, Some(high)) => format!("above the high bound {high}"),
            _ => "outside its bounds".to_string(),
        };
        format!(
            "{name}: {} {} ({bound} {})",
            round(self.value),
            threshold.unit,
            threshold.unit
        )
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Why a measure could not be compared with its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Incomparable {
    pub at: String,
    pub unit: String,
    pub wanted: String,
}

/// `value` in `from` expressed in `to`, for the units one vital-sign value set allows
/// together (UCUM definitions: `[lb_av]` = 0.45359237 kg, `[in_i]` = 2.54 cm,
/// `[degF]` = 5/9 K with 32 °F at 0 °C).
fn convert(value: f64, from: &str, to: &str) -> Option<f64> {
    if from == to {
        return Some(value);
    }
    let in_base = |unit: &str, v: f64| match unit {
        "kg" => Some(("kg", v)),
        "g" => Some(("kg", v / 1000.0)),
        "[lb_av]" => Some(("kg", v * 0.453_592_37)),
        "cm" => Some(("cm", v)),
        "[in_i]" => Some(("cm", v * 2.54)),
        "Cel" => Some(("Cel", v)),
        "[degF]" => Some(("Cel", (v - 32.0) * 5.0 / 9.0)),
        _ => None,
    };
    let (base, in_from) = in_base(from, value)?;
    let (target, one) = in_base(to, 1.0)?;
    if base != target {
        return None;
    }
    Some(match to {
        "[degF]" => in_from * 9.0 / 5.0 + 32.0,
        _ => in_from / one,
    })
}

fn same_code(measure: &Measure, threshold: &MonitoringThreshold) -> bool {
    let Some(system) = system_url(threshold.code.system) else {
        return false;
    };
    measure
        .codes
        .iter()
        .any(|c| c.system == system && c.code == threshold.code.code)
}

/// The measures of `measurement` outside the bounds of `thresholds`; a measure with a
/// threshold but in a unit that cannot be converted to the threshold's is reported, as
/// the gateway cannot say whether it is an alert.
pub fn crossings(
    measurement: &Measurement,
    thresholds: &[MonitoringThreshold],
) -> Result<Vec<Crossing>, Incomparable> {
    let mut crossed = Vec::new();
    for measure in &measurement.measures {
        for threshold in thresholds.iter().filter(|t| same_code(measure, t)) {
            let value =
                convert(measure.value, &measure.unit, &threshold.unit).ok_or_else(|| {
                    Incomparable {
                        at: format!("{}.code", measure.at),
                        unit: measure.unit.clone(),
                        wanted: threshold.unit.clone(),
                    }
                })?;
            if threshold.crossed_by(value) {
                crossed.push(Crossing {
                    measure: measure.clone(),
                    threshold: threshold.clone(),
                    value,
                });
            }
        }
    }
    Ok(crossed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::check;
    use crt_core::record::Coding;
    use serde_json::json;

    fn threshold(
        code: &str,
        unit: &str,
        low: Option<f64>,
        high: Option<f64>,
    ) -> MonitoringThreshold {
        MonitoringThreshold {
            code: Coding {
                system: Terminology::Loinc,
                code: code.into(),
                display: None,
            },
            unit: unit.into(),
            low,
            high,
        }
    }

    fn weight(value: f64, unit: &str) -> Measurement {
        check(&json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Poids"}]},
            "subject": {"identifier": {"system": "urn:oid:1.2.3.3", "value": "IPP-1"}},
            "effectiveDateTime": "2026-03-02T06:40:00+01:00",
            "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit}
        }))
        .expect("valid")
    }

    #[test]
    fn a_measure_over_its_bound_crosses_it_in_the_thresholds_unit() {
        let bounds = [threshold("29463-7", "kg", Some(55.0), Some(70.0))];
        assert!(
            crossings(&weight(68.0, "kg"), &bounds)
                .expect("comparable")
                .is_empty()
        );
        let crossed = crossings(&weight(72_500.0, "g"), &bounds).expect("comparable");
        assert_eq!(crossed.len(), 1);
        assert!((crossed[0].value - 72.5).abs() < 1e-9);
        assert_eq!(
            crossed[0].describe(),
            "Poids: 72.5 kg (above the high bound 70 kg)"
        );
        let crossed = crossings(&weight(110.0, "[lb_av]"), &bounds).expect("comparable");
        assert!(crossed[0].describe().contains("below the low bound 55"));
        assert!(
            crossings(
                &weight(68.0, "kg"),
                &[threshold("8867-4", "/min", None, Some(100.0))]
            )
            .expect("comparable")
            .is_empty()
        );
    }

    #[test]
    fn temperatures_convert_between_celsius_and_fahrenheit() {
        assert_eq!(convert(98.6, "[degF]", "Cel").map(round), Some(37.0));
        assert_eq!(convert(38.5, "Cel", "[degF]").map(round), Some(101.3));
        assert_eq!(convert(1.0, "kg", "Cel"), None);
    }

    #[test]
    fn a_record_threshold_in_a_unit_the_profile_refuses_is_named() {
        let record: CrtRecord = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../schemas/examples/home-volet2-pays-de-la-loire.json"),
            )
            .expect("example"),
        )
        .expect("record");
        let mut record = record;
        record.telemonitoring = vec![
            threshold("29463-7", "[kg]", None, Some(70.0)),
            threshold("8867-4", "/min", Some(45.0), Some(110.0)),
        ];
        let mut out = Violations::default();
        ThresholdRecordRule.check(&record, &mut out);
        let found = out.into_vec();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/telemonitoring/0/unit");
        assert!(found[0].message.contains("ucum-bodyweight"));
    }
}
