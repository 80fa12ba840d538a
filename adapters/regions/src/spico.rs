//! SPICO, the e-parcours platform of Occitanie (GRADeS e-santé Occitanie): SPICO
//! Dossiers holds the shared record of the person at home, which is where the care
//! circle, the summary, the documents and the liaison book go.
//!
//! Its interface is not public: the adapter speaks the Cercle de soins mapping of
//! `schemas/regions/README.md` with this dialect.

use crt_core::record::Region;

use crate::dialect::Dialect;

pub const DIALECT: Dialect = Dialect {
    name: "spico",
    section: "regions.spico",
    title: "SPICO Dossiers (Occitanie)",
    operator: "GRADeS e-santé Occitanie",
    regions: &[Region::Occitanie],
    secret_variable: "CRT_SPICO_CLIENT_SECRET",
};
