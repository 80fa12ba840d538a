//! The CDA checks `crt-gateway validate` and `/v1/validate` run on uploaded documents.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_documents::check::check(data);
});
