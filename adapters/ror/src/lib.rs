//! ROR (Répertoire Opérationnel des Ressources): a CRT porteur describes the CRT's offer
//! once in an offer file, and the gateway keeps the ROR in line with it.
//!
//! - [`offer`]: the offer file (YAML or JSON), read with [`source`] so that each error
//!   names its line and field;
//! - [`render`]: the offer as FHIR R4 resources of the ROR guide (`ror-organization`,
//!   `ror-location`, `ror-healthcareservice`), built with fhir-sdk's models and the
//!   typed extension helpers of [`fhir`], coded from the shipped NOS subsets ([`codes`]);
//! - [`rules`]: the ROR profile rules, shared by `crt-gateway validate` and the simulator;
//! - [`client`] and [`publish`]: OAuth2, the `Ror-*` headers; find the organisations and
//!   the place the ROR holds, create the CRT's offers or send a FHIRPath Patch
//!   ([`fhirpatch`]) of what changed, and the bed capacity ([`capacity`]);
//! - [`simulator`]: a ROR on loopback for the sandbox and the tests.

pub mod capacity;
pub mod client;
pub mod codes;
pub mod config;
pub mod fhir;
pub mod fhirpatch;
pub mod offer;
pub mod publish;
pub mod render;
pub mod rules;
pub mod simulator;
pub mod source;
