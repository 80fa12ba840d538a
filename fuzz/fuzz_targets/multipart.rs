//! MIME multipart bodies (MTOM): the content type on the first line, the body after it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|b| *b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (&b"multipart/related; boundary=b"[..], data),
    };
    let content_type = String::from_utf8_lossy(head);
    let _ = crt_core::multipart::parse(&content_type, body, 64);
});
