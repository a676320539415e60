//! PEM reading and writing.
//!
//! Parsing goes through rustls-pki-types' `PemObject` (the maintained replacement of
//! rustls-pemfile); encoding is plain base64 at 64 columns, which every tool reads. Private keys
//! are always handed out as PKCS#8 and encoded into zeroed-on-drop buffers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, CertificateSigningRequestDer, PrivateKeyDer,
};
use zeroize::Zeroizing;

use crate::error::PkiError;
use crate::key;

/// Every `CERTIFICATE` block in `bytes`, in order, as DER. Other blocks are skipped; no
/// certificate at all is an error.
pub fn certs_from_pem(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(bytes) {
        let cert = item.map_err(|e| PkiError::Pem(describe(&e)))?;
        certs.push(cert.to_vec());
    }
    if certs.is_empty() {
        return Err(PkiError::Pem("no CERTIFICATE block found".to_owned()));
    }
    Ok(certs)
}

/// The first private key in `bytes` (`PRIVATE KEY`, `EC PRIVATE KEY` or `RSA PRIVATE KEY`),
/// converted to PKCS#8 DER. Encrypted keys give [`PkiError::EncryptedKey`].
pub fn key_from_pem(bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let encrypted = contains(bytes, b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || contains(bytes, b"Proc-Type: 4,ENCRYPTED");
    if encrypted {
        return Err(PkiError::EncryptedKey);
    }
    let key = PrivateKeyDer::from_pem_slice(bytes).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            PkiError::Pem("no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block found".to_owned())
        }
        // Never echo details from inside a key file.
        _ => PkiError::Pem("the private key PEM is malformed".to_owned()),
    })?;
    key::to_pkcs8(&key)
}

/// A DER certificate as a PEM `CERTIFICATE` block.
pub fn cert_pem(der: &[u8]) -> String {
    encode("CERTIFICATE", der)
}

/// A PKCS#8 DER private key as an unencrypted PEM `PRIVATE KEY` block, zeroed on drop.
pub fn key_pem(pkcs8_der: &[u8]) -> Zeroizing<String> {
    let mut b64 = Zeroizing::new(String::with_capacity(pkcs8_der.len().div_ceil(3) * 4 + 4));
    STANDARD.encode_string(pkcs8_der, &mut b64);
    let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 80));
    wrap_into("PRIVATE KEY", &b64, &mut out);
    out
}

/// A DER CSR as a PEM `CERTIFICATE REQUEST` block.
pub fn csr_pem(der: &[u8]) -> String {
    encode("CERTIFICATE REQUEST", der)
}

/// A CSR given as PEM (`CERTIFICATE REQUEST`, or OpenSSL's older `NEW CERTIFICATE REQUEST`) or
/// as raw DER, returned as DER.
pub(crate) fn csr_der(pem_or_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    if !contains(pem_or_der, b"-----BEGIN") {
        return Ok(pem_or_der.to_vec());
    }
    let text = std::str::from_utf8(pem_or_der)
        .map_err(|_| PkiError::CsrParse("PEM is not valid text".to_owned()))?
        .replace("NEW CERTIFICATE REQUEST-----", "CERTIFICATE REQUEST-----");
    let csr = CertificateSigningRequestDer::from_pem_slice(text.as_bytes()).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            PkiError::CsrParse("no CERTIFICATE REQUEST block found".to_owned())
        }
        other => PkiError::CsrParse(describe(&other)),
    })?;
    Ok(csr.as_ref().to_vec())
}

/// A DER certificate revocation list as a PEM `X509 CRL` block.
pub fn crl_pem(der: &[u8]) -> String {
    encode("X509 CRL", der)
}

/// A CRL given as PEM (`X509 CRL`) or as raw DER, returned as DER.
pub(crate) fn crl_der(pem_or_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    if !contains(pem_or_der, b"-----BEGIN") {
        return Ok(pem_or_der.to_vec());
    }
    let crl = CertificateRevocationListDer::from_pem_slice(pem_or_der).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            PkiError::CrlParse("no X509 CRL block found".to_owned())
        }
        other => PkiError::CrlParse(describe(&other)),
    })?;
    Ok(crl.as_ref().to_vec())
}

fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 80);
    wrap_into(label, &b64, &mut out);
    out
}

fn wrap_into(label: &str, b64: &str, out: &mut String) {
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = b64;
    while !rest.is_empty() {
        // base64 output is ASCII, so any byte index is a char boundary.
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A description of a PEM error without quoting file contents.
fn describe(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error as E;
    match e {
        E::MissingSectionEnd { .. } => "a PEM section has no END line".to_owned(),
        E::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed".to_owned(),
        E::Base64Decode(_) => "a PEM section is not valid base64".to_owned(),
        E::NoItemsFound => "no PEM section of the expected type".to_owned(),
        E::SectionTooLarge => "a PEM section is too large".to_owned(),
        other => format!("{other:?}").chars().take(80).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::new_ca;
    use crate::key::KeyAlgorithm;

    #[test]
    fn cert_round_trip_and_bundle() {
        let a = new_ca("A", 1, KeyAlgorithm::EcdsaP256).unwrap();
        let b = new_ca("B", 1, KeyAlgorithm::EcdsaP256).unwrap();
        let bundle = format!("junk before\n{}{}", a.cert_pem(), b.cert_pem());
        let certs = certs_from_pem(bundle.as_bytes()).unwrap();
        assert_eq!(certs, vec![a.cert_der().to_vec(), b.cert_der().to_vec()]);
        assert!(a.cert_pem().lines().all(|l| l.len() <= 64));
        assert!(matches!(certs_from_pem(b"nothing here"), Err(PkiError::Pem(_))));
    }

    #[test]
    fn key_round_trip() {
        let a = new_ca("A", 1, KeyAlgorithm::EcdsaP256).unwrap();
        let pem = a.key_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(&*key_from_pem(pem.as_bytes()).unwrap(), a.key_pkcs8_der());
        assert!(matches!(key_from_pem(a.cert_pem().as_bytes()), Err(PkiError::Pem(_))));
        let enc = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(key_from_pem(enc), Err(PkiError::EncryptedKey)));
    }
}
