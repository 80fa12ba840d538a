//! ViaTrajectoire: volet 2 admission requests, which the Occitanie calls require to go
//! through ViaTrajectoire, and the statuses that make the CRT's waiting list.
//!
//! ViaTrajectoire Grand Âge publishes no interface for this exchange. The adapter follows
//! the national "Suivi des décisions d'orientation" guide that ViaTrajectoire implements
//! for the disability side (FHIR R4 `Task` for the request and its statuses, mutual TLS
//! with an IGC-Santé certificate, OAuth2 client credentials, the `struct_idnat` header,
//! polling by `_lastUpdated`), and carries the national EHPAD admission file (Cerfa
//! 14732*03) as two `QuestionnaireResponse`s. The contract is written down in
//! `schemas/viatrajectoire/README.md`; the simulator enforces it.
//!
//! - [`request`]: a record → the transaction Bundle;
//! - [`status`]: Task ↔ the waiting-list statuses;
//! - [`rules`]: the contract, as the simulator checks it;
//! - [`client`], [`sink`]: the wire and the `Sink`;
//! - [`simulator`]: ViaTrajectoire on loopback, with a control endpoint for tests.

pub mod client;
pub mod config;
pub mod request;
pub mod rules;
pub mod simulator;
pub mod sink;
pub mod status;

pub use config::ViatrajectoireConfig;
pub use sink::ViatrajectoireSink;
