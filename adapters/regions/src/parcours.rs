//! Parcours, the e-parcours platform of Pays de la Loire (GCS e-santé Pays de la Loire).
//!
//! Its interface is not public: the adapter speaks the Cercle de soins mapping of
//! `schemas/regions/README.md` with this dialect.

use crt_core::record::Region;

use crate::dialect::Dialect;

pub const DIALECT: Dialect = Dialect {
    name: "parcours",
    section: "regions.parcours",
    title: "Parcours (Pays de la Loire)",
    operator: "GCS e-santé Pays de la Loire",
    regions: &[Region::PaysDeLaLoire],
    secret_variable: "CRT_PARCOURS_CLIENT_SECRET",
};
