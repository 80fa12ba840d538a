//! The contract shared by every part of crt-gateway: the CRT record model and its
//! validation, the identifiers it carries, and the [`sink::Sink`] trait that each target
//! (INS, DMP, MSSanté, ROR, ViaTrajectoire, regional platforms) implements.
//!
//! It also holds the wire pieces every adapter shares: bounded XML reading and quick-xml
//! writing ([`xml`]), TLS with one crypto provider ([`tls`]), and an HTTPS client with
//! mutual TLS ([`http`]).

pub mod alert;
pub mod certificate;
#[cfg(feature = "corpus")]
pub mod corpus;
pub mod directory;
pub mod fhir_json;
pub mod fhir_patient;
pub mod http;
pub mod identifiers;
pub mod identity;
pub mod idle;
pub mod multipart;
pub mod oauth;
pub mod record;
pub mod simulate;
pub mod sink;
pub mod soap;
pub mod structures;
pub mod target;
pub mod terminology;
pub mod tls;
pub mod transcript;
pub mod validation;
pub mod volet1;
pub mod xml;

pub use record::CrtRecord;
pub use validation::{RecordError, RecordValidator, Violation};
