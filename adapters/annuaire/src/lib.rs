//! The Annuaire Santé (ANS's national directory of health professionals) for crt-gateway:
//! a record's care-circle members checked against its FHIR API, and the MSSanté mailboxes
//! it lists for members the record gives none.
//!
//! - [`config`]: the `[sinks.directory]` section;
//! - [`codes`]: the identifier systems, code systems and extensions of its resources;
//! - [`entry`]: what the directory says of a practitioner, read from a searchset Bundle;
//! - [`cache`], [`client`]: the Practitioner search by idNat_PS, answers kept a while;
//! - [`sink`]: the `directory` target of the delivery engine (`check_care_circle`);
//! - [`simulator`]: the API on loopback, for tests and the sandbox;
//! - [`target`]: all of it as the gateway lists it.
//!
//! Sources of the facts are listed in this crate's `README.md`.

pub mod cache;
pub mod client;
pub mod codes;
pub mod config;
pub mod entry;
pub mod simulator;
pub mod sink;
pub mod target;

pub use client::{Directory, DirectoryError};
pub use config::AnnuaireConfig;
pub use entry::{Mailbox, PractitionerEntry};
pub use sink::DirectorySink;
pub use target::AnnuaireTarget;
