//! The keystore file parser never panics, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_keystore::parse_untrusted(data, &secrecy::SecretString::from(""));
});
