//! An offer → the ROR resources that describe it: the legal entity and the establishment
//! (`ror-organization`), the place the CRT works from (`ror-location`), and one
//! `ror-healthcareservice` per volet.
//!
//! Pure and deterministic: the same offer and the same references give byte-identical
//! JSON, which is what lets a second publish find nothing to change.

use fhir_sdk::Time;
use fhir_sdk::r4b::codes::{BundleType, ContactPointSystem, DaysOfWeek};
use fhir_sdk::r4b::resources::{
    Bundle, BundleEntry, HealthcareService, HealthcareServiceAvailableTime, Location, Organization,
    Resource,
};
use fhir_sdk::r4b::types::{Address, Identifier};
use serde_json::Value;

use crate::codes::system;
use crate::fhir::{self, ModelError, Result, channel, identifier_system, profile};
use crate::offer::{Day, Offer, Theme};

/// Which of the offer's resources, and how to find it again in the ROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    LegalEntity,
    Establishment,
    Location,
    Volet1,
    Volet2,
}

impl Part {
    /// In the order they are published: each refers only to parts before it.
    pub const ALL: [Part; 5] = [
        Part::LegalEntity,
        Part::Establishment,
        Part::Location,
        Part::Volet1,
        Part::Volet2,
    ];

    pub fn resource_type(self) -> &'static str {
        match self {
            Part::LegalEntity | Part::Establishment => "Organization",
            Part::Location => "Location",
            Part::Volet1 | Part::Volet2 => "HealthcareService",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Part::LegalEntity => "legal entity (EJ)",
            Part::Establishment => "establishment (ET)",
            Part::Location => "location",
            Part::Volet1 => "volet 1 offer",
            Part::Volet2 => "volet 2 offer",
        }
    }

    /// The `identifier` search parameter that finds this part in the ROR: the FINESS of
    /// an organisation, the `idExterneSynchro` of the place. The ROR gives an offer its
    /// identifier; an offer is found among its establishment's by its activity.
    pub fn search(self, offer: &Offer) -> String {
        match self {
            Part::LegalEntity => {
                format!("{}|{}", identifier_system::FINESS, offer.porteur.finess_ej)
            }
            Part::Establishment | Part::Volet1 | Part::Volet2 => {
                format!("{}|{}", identifier_system::FINESS, offer.porteur.finess_et)
            }
            Part::Location => place_id(offer),
        }
    }

    /// The operational activity (J17, TRE_R211) of an offer, by which it is told from the
    /// establishment's other offers.
    pub fn activity(self) -> Option<&'static str> {
        match self {
            Part::Volet1 => Some(VOLET1_ACTIVITY),
            Part::Volet2 => Some(VOLET2_ACTIVITY),
            _ => None,
        }
    }
}

/// TRE_R211 340 Coordination plan de soins, 298 Accompagnements pour vivre dans un logement.
const VOLET1_ACTIVITY: &str = "340";
const VOLET2_ACTIVITY: &str = "298";

/// The place's `idExterneSynchro`: the establishment's idNat_Struct and the code the GRADeS
/// gave the place, separated by `/`, as the ROR documents it.
pub fn place_id(offer: &Offer) -> String {
    format!("1{}/{}", offer.porteur.finess_et, offer.crt.place_code)
}

/// How the resources refer to each other: `urn:uuid:` within a bundle, `Type/id` once the
/// ROR has given ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    pub legal_entity: String,
    pub establishment: String,
    pub location: String,
}

impl Links {
    /// Stable `urn:uuid:` references for a standalone bundle.
    pub fn in_bundle(offer: &Offer) -> Links {
        Links {
            legal_entity: bundle_url(offer, Part::LegalEntity),
            establishment: bundle_url(offer, Part::Establishment),
            location: bundle_url(offer, Part::Location),
        }
    }
}

fn bundle_url(offer: &Offer, part: Part) -> String {
    let name = format!(
        "{}:{}:{}",
        part.resource_type(),
        part.label(),
        part.search(offer)
    );
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes());
    format!("urn:uuid:{id}")
}

/// One part as fhir-sdk's model.
fn resource(offer: &Offer, part: Part, links: &Links) -> Result<Resource> {
    Ok(match part {
        Part::LegalEntity => legal_entity(offer)?.into(),
        Part::Establishment => establishment(offer, links)?.into(),
        Part::Location => location(offer, links)?.into(),
        Part::Volet1 | Part::Volet2 => healthcare_service(offer, part, links)?.into(),
    })
}

/// One part as FHIR JSON.
pub fn render(offer: &Offer, part: Part, links: &Links) -> Result<Value> {
    serde_json::to_value(resource(offer, part, links)?)
        .map_err(|e| ModelError::from_message(e.to_string()))
}

/// Every part in a `collection` Bundle, for review or for another tool.
pub fn bundle(offer: &Offer) -> Result<Value> {
    let links = Links::in_bundle(offer);
    let mut entries = Vec::new();
    for part in Part::ALL {
        entries.push(Some(
            BundleEntry::builder()
                .full_url(bundle_url(offer, part))
                .resource(resource(offer, part, &links)?)
                .build()?,
        ));
    }
    let bundle = Bundle::builder()
        .r#type(BundleType::Collection)
        .entry(entries)
        .build()?;
    serde_json::to_value(&bundle).map_err(|e| ModelError::from_message(e.to_string()))
}

fn region(offer: &Offer) -> &'static str {
    offer.crt.region.code()
}

fn address(offer: &Offer) -> Result<Address> {
    let a = &offer.porteur.address;
    Ok(Address::builder()
        .line(a.lines.iter().cloned().map(Some).collect())
        .postal_code(a.postal_code.clone())
        .city(a.city.clone())
        .country("FR".into())
        .build()?)
}

/// The idNatSt (`1` + FINESS) and FINESS identifier slices of a structure.
fn structure_identifiers(finess: &str) -> Result<Vec<Option<Identifier>>> {
    Ok(vec![
        Some(fhir::identifier(
            system::TYPE_IDENTIFIANT_STRUCTURE,
            "40",
            Some(identifier_system::ID_NAT_STRUCT),
            &format!("1{finess}"),
        )?),
        Some(fhir::identifier(
            system::TYPE_IDENTIFIANT_STRUCTURE,
            "1",
            Some(identifier_system::FINESS),
            finess,
        )?),
    ])
}

fn legal_entity(offer: &Offer) -> Result<Organization> {
    let p = &offer.porteur;
    Ok(Organization::builder()
        .meta(fhir::meta(profile::ORGANIZATION, region(offer))?)
        .extension(vec![fhir::meta_creation_date(offer.crt.created)?])
        .identifier(structure_identifiers(&p.finess_ej)?)
        .r#type(vec![Some(fhir::concept(
            system::STATUT_JURIDIQUE,
            &p.legal_status,
        )?)])
        .name(p.legal_name.clone())
        .build()?)
}

fn establishment(offer: &Offer, links: &Links) -> Result<Organization> {
    let p = &offer.porteur;
    Ok(Organization::builder()
        .meta(fhir::meta(profile::ORGANIZATION, region(offer))?)
        .extension(vec![fhir::meta_creation_date(offer.crt.created)?])
        .identifier({
            let mut identifiers = structure_identifiers(&p.finess_et)?;
            identifiers.push(Some(fhir::identifier(
                system::TYPE_IDENTIFIANT_STRUCTURE,
                "3",
                Some(identifier_system::SIRET),
                &p.siret,
            )?));
            identifiers
        })
        .r#type(vec![Some(fhir::concept(
            system::CATEGORIE_ETABLISSEMENT,
            p.category(),
        )?)])
        .name(p.site_name.clone())
        .address(vec![Some(address(offer)?)])
        .part_of(fhir::reference(&links.legal_entity)?)
        .build()?)
}

fn location(offer: &Offer, links: &Links) -> Result<Location> {
    let insee = offer
        .porteur
        .address
        .city_insee_code
        .as_deref()
        .unwrap_or_default();
    Ok(Location::builder()
        .meta(fhir::meta(profile::LOCATION, region(offer))?)
        .extension(vec![
            fhir::commune_cog(insee)?,
            fhir::meta_creation_date(offer.crt.created)?,
        ])
        .identifier(vec![Some(fhir::identifier(
            system::TYPE_IDENTIFIANT_LIEU,
            // The porteur's own identifier of the place; `idLocation` (25) is the ROR's.
            "26",
            None,
            &place_id(offer),
        )?)])
        .name(offer.crt.name.clone())
        .telecom(vec![Some(fhir::telecom(
            ContactPointSystem::Phone,
            channel::LANDLINE,
            &offer.crt.phone,
        )?)])
        .address(address(offer)?)
        .managing_organization(fhir::reference(&links.establishment)?)
        .build()?)
}

fn healthcare_service(offer: &Offer, part: Part, links: &Links) -> Result<HealthcareService> {
    let volet2 = part == Part::Volet2;
    let (suffix, care_mode) = if volet2 {
        ("volet 2, accompagnement renforcé à domicile", "49")
    } else {
        ("volet 1, appui aux professionnels du territoire", "58")
    };
    let activity = part.activity().unwrap_or_default();
    let mut extensions = vec![
        fhir::meta_creation_date(offer.crt.created)?,
        fhir::sensitive_unit(false)?,
        fhir::patient_type(
            &["01"],
            offer.volet2.public.age_min,
            offer.volet2.public.age_max,
        )?,
    ];
    for commune in &offer.territory.communes {
        extensions.push(fhir::territorial_division_commune(commune)?);
    }
    let available = if volet2 {
        round_the_clock()?
    } else {
        match &offer.opening_hours {
            Some(hours) => opening_hours(hours)?,
            None => Vec::new(),
        }
    };
    Ok(HealthcareService::builder()
        .meta(fhir::meta(profile::HEALTHCARE_SERVICE, region(offer))?)
        .extension(extensions)
        .provided_by(fhir::reference(&links.establishment)?)
        .category(vec![Some(fhir::concept(
            system::CATEGORIE_ORGANISATION,
            "136",
        )?)])
        .r#type(vec![Some(fhir::concept(system::CHAMP_ACTIVITE, "04")?)])
        .specialty(vec![Some(fhir::concept(
            system::ACTIVITE_OPERATIONNELLE,
            activity,
        )?)])
        .location(vec![Some(fhir::reference(&links.location)?)])
        .name(format!("{} ({suffix})", offer.crt.name))
        .extra_details(if volet2 {
            volet2_details(offer)
        } else {
            volet1_details(offer)
        })
        .telecom(vec![Some(fhir::telecom(
            ContactPointSystem::Email,
            channel::EMAIL,
            &offer.crt.mssante_mailbox,
        )?)])
        .characteristic(vec![Some(fhir::concept(
            system::MODE_PRISE_EN_CHARGE,
            care_mode,
        )?)])
        .available_time(available)
        .build()?)
}

fn day(d: Day) -> DaysOfWeek {
    match d {
        Day::Mon => DaysOfWeek::Mon,
        Day::Tue => DaysOfWeek::Tue,
        Day::Wed => DaysOfWeek::Wed,
        Day::Thu => DaysOfWeek::Thu,
        Day::Fri => DaysOfWeek::Fri,
        Day::Sat => DaysOfWeek::Sat,
        Day::Sun => DaysOfWeek::Sun,
    }
}

fn time(hh_mm: &str) -> Result<Time> {
    let (h, m) = hh_mm
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<u8>().ok()?, m.parse::<u8>().ok()?)))
        .ok_or_else(|| ModelError::from_message(format!("time {hh_mm}")))?;
    fhir_sdk::time::Time::from_hms(h, m, 0)
        .map(Time::from)
        .map_err(|e| ModelError::from_message(e.to_string()))
}

/// TRE_R252 types of *horaire*: opening hours (volet 1), operating hours (volet 2).
const OPENING_HOURS: &str = "01";
const OPERATING_HOURS: &str = "02";

/// One *horaire* as the ROR models it: one day (its number in the
/// `ror-available-time-number-days-of-week` extension, and the native `daysOfWeek` the
/// guide's examples also give), a start and an end, and the type of hours.
fn horaire(
    d: Day,
    from: &str,
    to: &str,
    type_of_time: &str,
) -> Result<HealthcareServiceAvailableTime> {
    Ok(HealthcareServiceAvailableTime::builder()
        .extension(vec![
            fhir::available_day_number(day_number(d))?,
            fhir::available_type_of_time(type_of_time)?,
        ])
        .days_of_week(vec![Some(day(d))])
        .available_start_time(time(from)?)
        .available_end_time(time(to)?)
        .build()?)
}

/// 1 (Monday) to 7 (Sunday).
fn day_number(d: Day) -> i32 {
    match d {
        Day::Mon => 1,
        Day::Tue => 2,
        Day::Wed => 3,
        Day::Thu => 4,
        Day::Fri => 5,
        Day::Sat => 6,
        Day::Sun => 7,
    }
}

fn opening_hours(
    hours: &crate::offer::OpeningHours,
) -> Result<Vec<Option<HealthcareServiceAvailableTime>>> {
    hours
        .days
        .iter()
        .map(|d| horaire(*d, &hours.from, &hours.to, OPENING_HOURS).map(Some))
        .collect()
}

/// Every day, the whole day, as the guide's example writes a day (00:00 to 23:59).
fn round_the_clock() -> Result<Vec<Option<HealthcareServiceAvailableTime>>> {
    Day::ALL
        .iter()
        .map(|d| horaire(*d, "00:00", "23:59", OPERATING_HOURS).map(Some))
        .collect()
}

/// Volet 1's services by theme, as the ROR shows them to professionals (markdown).
fn volet1_details(offer: &Offer) -> String {
    let mut text = String::new();
    for theme in Theme::ALL {
        text.push_str(&format!("**{}**\n", theme.label()));
        for service in offer.volet1.services.iter().filter(|s| s.theme == theme) {
            text.push_str(&format!("- {}\n", service.description));
        }
    }
    text.trim_end().to_string()
}

/// Volet 2's commitments, which the ROR's HealthcareService has no coded element for.
fn volet2_details(offer: &Offer) -> String {
    let v = &offer.volet2;
    let gir = v
        .public
        .gir
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "- Public : GIR {gir}, à partir de {} ans\n- Places simultanées : {}\n- Personnes accompagnées par an : {}\n- Astreinte 24 h/24, 7 j/7 : {}\n- Chambres d'urgence temporaire : {}\n- Temps de trajet maximal : {} min",
        v.public.age_min,
        v.simultaneous_places,
        v.places_per_year,
        if v.on_call_24_7 { "oui" } else { "non" },
        v.emergency_temporary_rooms,
        offer.territory.max_travel_minutes,
    );
    if !offer.partners.is_empty() {
        text.push_str("\n- Partenaires :");
        for partner in &offer.partners {
            text.push_str(&format!("\n  - {} ({})", partner.name, partner.role));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::offer::tests::example_offer as offer;
    use serde_json::json;

    #[test]
    fn rendering_is_deterministic() {
        let offer = offer();
        assert_eq!(bundle(&offer).unwrap(), bundle(&offer).unwrap());
        let links = Links::in_bundle(&offer);
        for part in Part::ALL {
            let a = serde_json::to_string(&render(&offer, part, &links).unwrap()).unwrap();
            let b = serde_json::to_string(&render(&offer, part, &links).unwrap()).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn the_volet_2_offer_carries_the_ror_elements() {
        let offer = offer();
        let hs = render(&offer, Part::Volet2, &Links::in_bundle(&offer)).unwrap();
        assert_eq!(hs["resourceType"], "HealthcareService");
        assert_eq!(hs["category"][0]["coding"][0]["code"], "136");
        assert_eq!(hs["meta"]["tag"][0]["code"], "52");
        // Seven horaires, a day each, as the guide models them.
        let days = hs["availableTime"].as_array().unwrap();
        assert_eq!(days.len(), 7);
        assert_eq!(days[6]["daysOfWeek"], json!(["sun"]));
        assert_eq!(days[6]["availableStartTime"], "00:00:00");
        assert_eq!(days[6]["availableEndTime"], "23:59:00");
        let number = days[6]["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["url"] == crate::fhir::extension::AVAILABLE_DAY_NUMBER)
            .unwrap();
        assert_eq!(number["valueInteger"], 7);
        assert_eq!(
            hs["telecom"][0]["value"],
            "crt.perche@ehpad-tilleuls.mssante.fr"
        );
        let urls: Vec<&str> = hs["extension"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["url"].as_str())
            .collect();
        assert!(urls.contains(&crate::fhir::extension::PATIENT_TYPE));
        assert_eq!(
            urls.iter()
                .filter(|u| **u == crate::fhir::extension::TERRITORIAL_DIVISION)
                .count(),
            3
        );
    }
}
