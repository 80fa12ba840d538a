//! ViaTrajectoire Grand Âge, where the CRT is a receiving service: volet 2 admission
//! requests reach it there, it answers them (received, on the waiting list at a rank,
//! accepted for a date, admitted, refused or cancelled for a reason), and the answers make
//! its waiting list.
//!
//! ViaTrajectoire Grand Âge publishes no interface for this exchange. The adapter follows
//! the national *Suivi des décisions d'orientation* guide (`ans.fhir.fr.sdo` 4.0.7) that
//! ViaTrajectoire implements for the disability side: the structure's software pulls the
//! requests made to it (flux 1), sends each answer as an `esms-task` (flux 4) and follows
//! where requests stand (flux 5), with mutual TLS, OAuth2 client credentials and the
//! `struct_idnat` header. What the guide does not say for Grand Âge is crt-gateway's
//! contract, written down in `schemas/viatrajectoire/README.md`; the simulator enforces it.
//!
//! - [`incoming`]: a request as it reaches the CRT;
//! - [`answer`]: the CRT's answer as an `esms-task`, and where a Task says a request stands;
//! - [`rules`]: flux 4 as the simulator checks it;
//! - [`directory`]: the CRT's directory card (crt-gateway's contract);
//! - [`client`], [`sink`]: the wire and the `Sink`;
//! - [`simulator`]: ViaTrajectoire on loopback, with a control endpoint for tests.

pub mod answer;
pub mod client;
pub mod config;
pub mod directory;
pub mod incoming;
pub mod rules;
pub mod simulator;
pub mod sink;
pub mod target;

pub use config::ViatrajectoireConfig;
pub use sink::ViatrajectoireSink;
