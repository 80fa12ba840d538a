//! The bounded XML reader every SOAP, ebRS and CDA answer goes through.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_core::xml::parse(data, crt_core::xml::Limits::default());
});
