//! Telemonitoring at home, as the CRT's on-call service receives it: a telemonitoring
//! platform sends FHIR R4 `Observation`s following the ANS *Télésurveillance* guide
//! (profile `tlsv-observation`); those that are vital signs follow the FHIR vital-signs
//! profiles as well (the FHIR specification requires it of any observation with one of
//! their LOINC codes). Both sets of rules are read from the official definitions shipped
//! in `schemas/telemonitoring/`, not typed here.
//!
//! A measure outside the bounds the beneficiary's record sets (`telemonitoring`
//! thresholds) raises an on-call alert; the gateway keeps no other observation.

pub mod observation;
pub mod profile;
pub mod threshold;

pub use observation::{Issue, Measure, Measurement, Subject, check, outcome};
pub use threshold::{Crossing, Incomparable, ThresholdRecordRule, crossings};
