//! Regional e-parcours platforms: where the people around a beneficiary at home share
//! the care circle, the record's summary and documents, and a liaison book.
//!
//! The regional calls ask each CRT to work with its region's platform: Parcours in Pays de
//! la Loire, SPICO in Occitanie, others elsewhere. None of them publishes its interface.
//! The national frame they come from is the ANS "Cercle de soins" guide (FHIR R4
//! `CareTeam`, RESTful or transaction), so every adapter here speaks a documented mapping
//! onto it (`schemas/regions/README.md`); its simulator enforces that mapping. Nothing
//! here pretends to be a vendor's API: when a platform publishes its own, its module
//! changes and the rest stays.
//!
//! - [`platform`]: the [`RegionalPlatform`] trait every platform implements;
//! - [`share`]: a record → the FHIR resources of the mapping; [`planning`]: its
//!   interventions as shared agendas (GAP);
//! - [`rules`]: the mapping's rules, as the simulators check them;
//! - [`client`]: the FHIR implementation of the trait; [`parcours`], [`spico`] and
//!   [`eparcours`] are its three dialects;
//! - [`sink`]: the `region:<platform>` sinks; [`simulator`]: a platform on loopback.

pub mod client;
pub mod config;
pub mod dialect;
pub mod eparcours;
pub mod gap;
pub mod parcours;
pub mod planning;
pub mod platform;
pub mod rules;
pub mod share;
pub mod simulator;
pub mod sink;
pub mod spico;

pub use config::{PlatformConfig, RegionsConfig};
pub use dialect::Dialect;
pub use platform::{PartnerEntry, PlatformError, RegionalPlatform};
pub use sink::RegionSink;

/// The platforms this build knows. Adding a platform is a module with its [`Dialect`] and
/// a line here.
pub const DIALECTS: [Dialect; 3] = [parcours::DIALECT, spico::DIALECT, eparcours::DIALECT];
