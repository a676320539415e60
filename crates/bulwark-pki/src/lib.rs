//! Bulwark's public-key infrastructure: certificate authorities, certificates and CSRs, PKCS#12
//! and PEM files, fingerprints, certificate inspection and rustls configurations.
//!
//! No cryptography is implemented here: keys and signatures come from aws-lc-rs (through rcgen),
//! certificates are built by rcgen and read by x509-parser, PKCS#12 is p12-keystore, and TLS and
//! chain validation are rustls/webpki. Paths arrive as arguments; this crate reads no settings.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod cert;
mod crl;
mod csr;
mod dn;
mod error;
mod files;
mod fingerprint;
mod inspect;
mod key;
mod p12;
mod pem;
mod tls;

pub use cert::{
    CertRequest, CertUsage, CertifiedKey, DEFAULT_VALIDITY_DAYS, ensure_ca, issue, issue_self_signed,
    load_ca_from_pem, new_ca, random_serial,
};
pub use crl::{CrlInfo, Revocation, RevocationReason, issue_crl, normalize_serial, read_crl};
pub use csr::{CsrInfo, inspect_csr, new_csr, sign_csr};
pub use dn::check_strict as check_dn;
pub use error::PkiError;
pub use files::{PRIVATE_MODE, PUBLIC_MODE, read_file, write_atomic, write_private_file, write_public_file};
pub use fingerprint::Fingerprint;
pub use inspect::{CertInfo, inspect, subject_principal, verify_chain, verify_chain_at};
pub use key::{KeyAlgorithm, RsaBits, key_matches_cert, to_pkcs8};
pub use p12::{CertifiedKeyChain, P12Contents, P12Entry, load_ca_from_p12, read_p12, write_p12};
pub use pem::{
    cert_pem, certs_from_pem, crl_pem, csr_pem, key_from_pem, key_from_pem_with_passphrase, key_pem,
};
pub use tls::{
    ClientAuth, ClientTrust, TlsVersions, client_config_mtls, client_config_pinned, client_config_trusting,
    provider, server_config, supported_cipher_suites,
};

/// Re-exported so callers can name the secret and key-buffer types used in signatures.
pub use secrecy::SecretString;
pub use zeroize::Zeroizing;
