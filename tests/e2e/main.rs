//! End-to-end tests: the real `crt-gateway` binary, started on a free loopback port with
//! its own data directory, driven over HTTP like a DUI would.

mod support;

mod alerts;
mod api;
mod audit;
mod conformance;
mod crash;
mod delivery;
mod demo;
mod dmp;
mod faults;
mod identity;
mod inbound;
mod ins;
mod mssante;
mod planning;
mod regions;
mod reports;
mod ror;
mod scale;
mod security;
mod ui;
mod viatrajectoire;
