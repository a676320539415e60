//! PEM certificates, keys (also encrypted ones, with a passphrase) and CSRs from users and
//! joining nodes never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_pki::certs_from_pem(data);
    let _ = bulwark_pki::key_from_pem(data);
    let passphrase = bulwark_pki::SecretString::from("fuzz");
    let _ = bulwark_pki::key_from_pem_with_passphrase(data, Some(&passphrase));
    let _ = bulwark_pki::inspect_csr(data);
    let _ = bulwark_pki::inspect(data);
});
