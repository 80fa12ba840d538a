//! FHIR refusals (OperationOutcome) from the ROR, ViaTrajectoire and regional platforms.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_core::fhir_json::outcome_diagnostics(data);
});
