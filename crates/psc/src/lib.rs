//! Pro Santé Connect, the OpenID Connect provider of the French health and medico-social
//! professions: the professional a PSC access token stands for ([`provider`]), the
//! web login with PKCE, and a simulator of the provider for the sandbox ([`simulator`]).
//!
//! The gateway decides access by what PSC says of a person (their idNat_PS, profession and
//! structures, and how they authenticated), never by what a caller writes about them.

pub mod jwt;
pub mod provider;
pub mod simulator;
pub mod userinfo;

pub use provider::{Login, LoginRequest, Provider, PscConfig, PscError};
pub use userinfo::{Assurance, Professional};
