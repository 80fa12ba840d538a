//! What tells one regional platform's adapter from another.

use crt_core::record::Region;

/// What tells one platform's adapter from another: its name (the `region:<name>` target
/// and the `[regions.<name>]` block), the regions it serves by default, its operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub name: &'static str,
    /// The configuration block, `regions.<name>`.
    pub section: &'static str,
    pub title: &'static str,
    pub operator: &'static str,
    pub regions: &'static [Region],
    /// The environment variable that holds the OAuth2 client secret.
    pub secret_variable: &'static str,
}
