//! A client certificate as the API reads it under mutual TLS: DER, the structure's
//! idNat_Struct from the subject.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_core::certificate::id_nat_struct_of(data);
});
