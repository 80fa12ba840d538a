//! Activity indicators of a CRT for its annual surveys (CNSA, ARS) and its steering
//! committee, computed from the records the DUIs sent: [`activity`] reads the record
//! versions into what happened, once each; [`compute`] counts it over a period.

pub mod activity;
pub mod compute;

#[cfg(test)]
mod tests;

pub use activity::Activity;
pub use compute::{CAPACITY, FORFAIT_EUR, Indicators, Period, compute};
