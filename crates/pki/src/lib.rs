//! The test PKI shaped like IGC-Santé (`certs generate`) and certificate inspection
//! (`certs inspect`).
//!
//! IGC-Santé organisation certificates carry the structure's national identifier
//! (idNat_Struct: `1` + FINESS, `3` + SIRET…) in the subject's OU, the structure's name in
//! O and an application name in CN (`INSI-AUTO` for the INSi teleservice). The test PKI
//! follows that shape so that the code that reads real certificates is the code tested.

mod generate;
mod inspect;
mod issue;

pub use generate::{GeneratedPki, generate};
pub use inspect::{CertificateReport, Role, inspect_file};
pub use issue::StructureIssuer;

/// Where the files of a generated PKI live, relative to its directory. The sandbox, the
/// tests and the README all name files through these.
pub mod files {
    pub const ROOT: &str = "ca/root.pem";
    pub const ROOT_KEY: &str = "ca/root.key.pem";
    pub const INTERMEDIATE: &str = "ca/organisations.pem";
    pub const INTERMEDIATE_KEY: &str = "ca/organisations.key.pem";
    pub use crt_core::simulate::layout::{
        CHAIN, CLIENT, CLIENT_KEY, CRL, INSI, INSI_KEY, SERVER, SERVER_KEY, SIGNING, SIGNING_KEY,
    };
    pub const CLIENT_DER: &str = "crt/auth.der";
    pub const EXPIRED: &str = "invalid/expired.pem";
    pub const EXPIRED_KEY: &str = "invalid/expired.key.pem";
    pub const REVOKED: &str = "invalid/revoked.pem";
    pub const REVOKED_KEY: &str = "invalid/revoked.key.pem";
    pub const OTHER_ROOT: &str = "invalid/other-root.pem";
    pub const OTHER_CLIENT: &str = "invalid/other-client.pem";
    pub const OTHER_CLIENT_KEY: &str = "invalid/other-client.key.pem";
}
