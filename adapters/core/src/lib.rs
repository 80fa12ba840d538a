//! The contract shared by every part of crt-gateway: the CRT record model and its
//! validation, the identifiers it carries, and the [`sink::Sink`] trait that each target
//! (INS, DMP, MSSanté, ROR, ViaTrajectoire, regional platforms) implements.
//!
//! Nothing here does I/O: adapters bring the wire, the gateway brings storage and HTTP.

pub mod identifiers;
pub mod record;
pub mod sink;
pub mod validation;

pub use record::CrtRecord;
pub use validation::{RecordError, RecordValidator, Violation};
