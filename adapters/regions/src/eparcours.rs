//! A generic e-parcours platform on the ANS Cercle de soins guide, for the regions whose
//! platform has no adapter of its own: by default every region but Pays de la Loire and
//! Occitanie.

use crt_core::record::Region;

use crate::dialect::Dialect;

const OTHER_REGIONS: [Region; 16] = {
    let mut regions = [Region::Guadeloupe; 16];
    let mut from = 0;
    let mut to = 0;
    while from < Region::ALL.len() {
        let region = Region::ALL[from];
        if !matches!(region, Region::PaysDeLaLoire | Region::Occitanie) {
            regions[to] = region;
            to += 1;
        }
        from += 1;
    }
    regions
};

pub const DIALECT: Dialect = Dialect {
    name: "eparcours",
    section: "regions.eparcours",
    title: "e-parcours (Cercle de soins)",
    operator: "the region's GRADeS",
    regions: &OTHER_REGIONS,
    secret_variable: "CRT_EPARCOURS_CLIENT_SECRET",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_without_its_own_adapter_is_served() {
        for region in Region::ALL {
            let own = [crate::parcours::DIALECT, crate::spico::DIALECT]
                .iter()
                .any(|d| d.regions.contains(&region));
            assert_eq!(DIALECT.regions.contains(&region), !own, "{region:?}");
        }
    }
}
