//! MSSanté notifications read from the mailbox: MDNs (RFC 8098) and DSNs (RFC 3464).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crt_mssante::ack::read(data);
});
