//! MSSanté for crt-gateway: the documents of a record sent as IHE XDM messages over SMTP
//! with mutual TLS, acknowledgements (MDN, DSN) read back over IMAPS, and a simulator of
//! an MSSanté operator that speaks both protocols on loopback.

pub mod ack;
pub mod address;
pub mod config;
pub mod imap;
pub mod inbound;
mod line;
pub mod mdn;
pub mod message;
pub mod patient;
pub mod pdf;
pub mod prescription;
pub mod simulator;
pub mod sink;
pub mod smtp;
pub mod target;
pub mod tls;
pub mod xdm;

pub use address::{Address, AddressError};
pub use config::MssanteConfig;
pub use sink::MssanteSink;
