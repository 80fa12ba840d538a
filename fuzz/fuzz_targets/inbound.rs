//! A message a partner sends to a structure's mailbox: MIME, the `IHE_XDM.zip` checked
//! against its metadata, PDFs and CDA documents, the patient they name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_mssante::inbound::read(data);
});
