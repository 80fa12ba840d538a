//! crt-gateway: takes CRT records in over HTTP, stores them durably, and delivers what
//! each asks for to the French e-health services (INSi, DMP, MSSanté, ROR,
//! ViaTrajectoire, regional platforms), with receipts, retries and a dead-letter state.
//!
//! The way of a record: [`api`] validates it ([`crt_core::RecordValidator`]), [`routing`]
//! derives its deliveries, [`store`] commits both before the answer, [`engine`] leases each
//! delivery to its sink ([`registry`]) and settles it.

pub use crt_audit as audit;
pub use crt_audit::digest;
pub use crt_pki as certs;
pub use crt_reports as indicators;
pub use crt_store as store;

pub mod acknowledgements;
pub mod api;
pub mod backlog;
pub mod calendar;
pub mod cli;
pub mod client;
pub mod config;
pub mod conformity;
pub mod engine;
pub mod inbox;
pub mod liaison;
pub mod metrics;
pub mod oncall;
pub mod registry;
pub mod rota;
pub mod routing;
pub mod sandbox;
pub mod security;
pub mod server;
pub mod sinks;
pub mod targets;
pub mod telemetry;
pub mod waiting;
