//! The Authorization header parser never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_security::authn::Credentials::parse(data);
});
