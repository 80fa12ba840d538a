//! A volet 1 action as `POST /v1/volet1/actions` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_core::volet1::Volet1Action::parse(data);
});
