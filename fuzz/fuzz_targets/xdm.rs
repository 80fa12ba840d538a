//! An IHE XDM archive (`IHE_XDM.zip`): unzipped with limits, metadata, hashes, documents.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_mssante::xdm::check(data);
});
