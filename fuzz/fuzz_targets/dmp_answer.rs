//! The DMP's answers: ITI-41 RegistryResponse (plain SOAP or MTOM), ITI-18 query answers,
//! ITI-43 retrieve answers (MTOM), ITI-65 bundles and OperationOutcomes.
#![no_main]

use libfuzzer_sys::fuzz_target;

const MTOM: &str = "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary\"; start-info=\"application/soap+xml\"";

fuzz_target!(|data: &[u8]| {
    for content_type in [Some("application/soap+xml; charset=UTF-8"), Some(MTOM), None] {
        let _ = crt_dmp::answer::provide_and_register(content_type, data);
        let _ = crt_dmp::answer::find_documents(content_type, data);
        let _ = crt_dmp::answer::retrieve(content_type, data);
    }
    let _ = crt_dmp::answer::provide_bundle(200, data);
    let _ = crt_dmp::answer::provide_bundle(422, data);
});
