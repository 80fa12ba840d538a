//! Who may call the API and what they may touch: caller authentication (bearer tokens,
//! mutual TLS with IGC-Santé-shaped certificates), the acting professional each request
//! names, and the access policy evaluated on every read and write.

pub mod actor;
pub mod auth;
pub mod care_team;
pub mod policy;
pub mod session;

pub use actor::Actor;
pub use auth::{Authenticator, Caller};
pub use policy::{Access, Policy, Resource};

/// Request headers from pairs, for the tests of this module.
#[cfg(test)]
pub(crate) fn test_headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(value) = value.parse() {
            map.insert(*name, value);
        }
    }
    map
}
