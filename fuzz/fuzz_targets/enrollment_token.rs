//! Enrollment tokens (base64 of JSON: version, addresses, fingerprint, key) never panic the
//! decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bulwark_security::enrollment::EnrollmentToken::decode(text);
    }
});
