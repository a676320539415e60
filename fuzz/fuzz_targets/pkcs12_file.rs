//! PKCS#12 input (user-supplied keystores and truststores) never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_pki::read_p12(data, &secrecy::SecretString::from("changeit"));
});
