//! The documents crt-gateway produces from a record, and their sharing metadata.
//!
//! - [`cda`]: CDA R2 documents: the DLU (EHPAD model DLU-EHPAD-DLU 2022.01 and home model
//!   DLU-DOM) and the personalised support plan (no CI-SIS model exists: structured CDA on
//!   the CI-SIS minimal structuring, see `docs/documents.md`);
//! - [`check`]: structural and code checks of any CDA document (`validate FILE.xml`);
//! - [`metadata`]: the XDS metadata of a document (the same for the DMP and for MSSanté's
//!   XDM archives) and the ebRIM `SubmitObjectsRequest` that carries it;
//! - [`terminology`]: the official value sets those codes come from.
//!
//! Rendering is pure: a record and the qualified INS in, bytes out. The same inputs give the
//! same bytes, so a repeated delivery sends an identical document (same hash, same size).

pub mod cda;
pub mod check;
pub mod metadata;
pub mod terminology;

pub use cda::{CdaModel, DocumentSet, RenderContext, RenderError, RenderedDocument, render};
