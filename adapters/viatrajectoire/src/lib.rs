//! ViaTrajectoire: volet 2 admission requests and their statuses.
pub mod config;
pub mod request;
pub mod status;
