//! The INSi teleservice's SOAP answer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_ins::answer::parse(data);
});
