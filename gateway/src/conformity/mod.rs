//! Conformity tools for GRADeS teams and DUI vendors: the inspection of a file of any kind
//! the gateway exchanges ([`inspect`]), the reports people and CI servers read
//! ([`report`]), and the campaigns of scenarios run against a platform ([`campaign`]).

pub mod campaign;
pub mod inspect;
pub mod report;
