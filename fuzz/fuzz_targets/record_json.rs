//! A DUI's record as `POST /v1/records` reads it: JSON (bounded nesting), the schema, the rules.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static VALIDATOR: OnceLock<crt_core::RecordValidator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        crt_core::RecordValidator::new().with_rule(crt_ins::InsRecordRule)
    });
    let _ = validator.parse(data);
});
