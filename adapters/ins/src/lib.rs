//! INS (Identifiant National de Santé) for crt-gateway.
//!
//! - [`number`]: NIR/NIA matricules and their key, the OID that fits each;
//! - [`encode`], [`answer`], [`client`]: the INSi teleservice (SOAP 1.2 over HTTPS with
//!   mutual TLS, `ServiceIdentiteCertifiee` 1.0.0: search by traits and by Carte Vitale);
//! - [`verify`]: from an answer to the identity status (RNIV: PROV, RECUP, VALI, QUAL);
//! - [`sink`]: the `ins` target of the delivery engine;
//! - [`rules`]: record and message rules, shared by validation and the simulator;
//! - [`simulator`]: the teleservice on loopback, for tests and the sandbox.
//!
//! Sources of the facts are listed in `schemas/ins/README.md`.

pub mod answer;
pub mod client;
pub mod config;
pub mod encode;
pub mod message;
pub mod number;
pub mod rules;
pub mod simulator;
pub mod sink;
pub mod target;
pub mod verify;

pub use client::InsiClient;
pub use config::InsConfig;
pub use number::InsNumber;
pub use rules::InsRecordRule;
pub use sink::InsSink;
