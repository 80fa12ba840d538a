//! Feeding the DMP (Mon espace santé) with the documents crt-gateway produces.
//!
//! - [`encode`]: ITI-41 Provide and Register Document Set-b (SOAP 1.2, MTOM/XOP,
//!   WS-Addressing), ITI-18 FindDocuments and ITI-43 Retrieve;
//! - [`vihf`]: the SAML 2.0 assertion that identifies the acting professional, signed with
//!   [`dsig`] (XML-DSig, exclusive C14N from [`c14n`], RSA-SHA256);
//! - [`xades`]: the submission-set signature carried as its own document (`signs`);
//! - [`answer`]: RegistryResponse and friends, errors classed retryable or final;
//! - [`client`], [`sink`]: the `dmp` target; [`config`]: its block; [`identity`]: the
//!   certificates of each structure it acts for;
//! - [`rules`], [`simulator`]: what the DMP checks, and the sandbox DMP that checks it.

pub mod answer;
pub mod c14n;
pub mod client;
pub mod config;
pub mod consult;
pub mod dsig;
mod ebrim;
pub mod encode;
pub mod identity;
pub mod mhd;
pub mod rules;
pub mod simulator;
pub mod sink;
pub mod target;
pub mod vihf;
pub mod xades;

pub use client::DmpClient;
pub use config::DmpConfig;
pub use rules::DmpRecordRule;
pub use sink::DmpSink;
