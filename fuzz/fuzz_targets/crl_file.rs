//! Revocation lists given to `certutil crl --in` (PEM or DER) never panic, whatever they hold.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn ca() -> &'static bulwark_pki::CertifiedKey {
    static CA: OnceLock<bulwark_pki::CertifiedKey> = OnceLock::new();
    CA.get_or_init(|| bulwark_pki::new_ca("Fuzz CA", 10, bulwark_pki::KeyAlgorithm::EcdsaP256).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_pki::read_crl(data, ca().cert_der());
});
