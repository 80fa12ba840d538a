//! The national services this build delivers to, each described by its adapter. The
//! configuration reads a `[sinks.<name>]` section for each, the registry builds their sinks
//! and the sandbox starts their simulators by going through this list: adding a service is
//! its adapter crate and one line here.

use crt_core::target::AnyTarget;

/// Every target, in the order the sandbox starts their simulators.
pub static TARGETS: &[&dyn AnyTarget] = &[
    &crt_ins::target::Ins,
    &crt_dmp::target::Dmp,
    &crt_mssante::target::Mssante,
    &crt_viatrajectoire::target::Viatrajectoire,
    &crt_annuaire::target::AnnuaireTarget,
];
