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
use secrecy::{ExposeSecret, SecretString};
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
    key_from_pem_with_passphrase(bytes, None)
}

/// [`key_from_pem`], also decrypting an encrypted PKCS#8 key (`ENCRYPTED PRIVATE KEY`, PBES2 as
/// `openssl genpkey -aes-256-cbc` or `openssl pkcs8 -topk8` write it) with `passphrase`.
pub fn key_from_pem_with_passphrase(
    bytes: &[u8],
    passphrase: Option<&SecretString>,
) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    if contains(bytes, b"Proc-Type: 4,ENCRYPTED") {
        return Err(PkiError::LegacyEncryptedKey);
    }
    if contains(bytes, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let passphrase = passphrase.ok_or(PkiError::EncryptedKey)?;
        let der = encrypted_key_der(bytes)?;
        let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
            .map_err(|_| PkiError::Pem("the encrypted private key is malformed".to_owned()))?;
        check_kdf_cost(&info.encryption_algorithm)?;
        let plain =
            info.decrypt(passphrase.expose_secret().as_bytes()).map_err(|_| PkiError::WrongPassphrase)?;
        let key = PrivateKeyDer::try_from(plain.as_bytes())
            .map_err(|_| PkiError::Pem("the decrypted private key is malformed".to_owned()))?;
        return key::to_pkcs8(&key);
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

/// The DER of the `ENCRYPTED PRIVATE KEY` block in `bytes` (other blocks around it are skipped),
/// decoded by the `der` crate's strict PEM reader; zeroed on drop.
fn encrypted_key_der(bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    const BEGIN: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &[u8] = b"-----END ENCRYPTED PRIVATE KEY-----";
    let malformed = || PkiError::Pem("the encrypted private key PEM is malformed".to_owned());
    let find = |needle: &[u8], from: usize| {
        bytes[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
    };
    let start = find(BEGIN, 0).ok_or_else(malformed)?;
    let end = find(END, start).ok_or_else(malformed)? + END.len();
    let (label, der) = pkcs8::der::pem::decode_vec(&bytes[start..end]).map_err(|_| malformed())?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(malformed());
    }
    Ok(Zeroizing::new(der))
}

/// Most memory an encrypted key's scrypt may ask for (128·N·r·p bytes); OpenSSL's own limit is 32 MiB.
const MAX_SCRYPT_BYTES: u64 = 64 << 20;
/// Most PBKDF2 iterations an encrypted key may ask for (OpenSSL writes 2,048 by default).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Refuses key-derivation parameters that would take the node's memory or minutes of CPU: the
/// file decides them, and a file is input.
fn check_kdf_cost(scheme: &pkcs8::pkcs5::EncryptionScheme) -> Result<(), PkiError> {
    use pkcs8::pkcs5::pbes2::Kdf;
    let too_costly = |what: String| {
        PkiError::Pem(format!(
            "the encrypted private key asks for {what}; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
        ))
    };
    let Some(params) = scheme.pbes2() else { return Ok(()) };
    match &params.kdf {
        Kdf::Pbkdf2(p) if p.iteration_count > MAX_PBKDF2_ITERATIONS => {
            Err(too_costly(format!("{} PBKDF2 iterations", p.iteration_count)))
        }
        Kdf::Scrypt(p) => {
            let bytes = 128u64
                .saturating_mul(p.cost_parameter)
                .saturating_mul(u64::from(p.block_size))
                .saturating_mul(u64::from(p.parallelization));
            if bytes > MAX_SCRYPT_BYTES {
                return Err(too_costly(format!("{} MiB of scrypt memory", bytes >> 20)));
            }
            Ok(())
        }
        _ => Ok(()),
    }
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

    #[test]
    fn costly_key_derivation_is_refused_before_it_runs() {
        use pkcs8::pkcs5::{EncryptionScheme, pbes2, scrypt};
        let (salt, iv) = ([7u8; 16], [1u8; 16]);
        let scrypt_with = |log_n| {
            let params = scrypt::Params::new(log_n, 8, 1).unwrap();
            EncryptionScheme::Pbes2(pbes2::Parameters::generate_scrypt_aes256cbc(params, &salt, iv).unwrap())
        };
        let pbkdf2_with = |iterations| {
            EncryptionScheme::Pbes2(
                pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv).unwrap(),
            )
        };
        // OpenSSL's defaults pass: scrypt N=2^14 (16 MiB), PBKDF2 2,048 iterations.
        assert!(check_kdf_cost(&scrypt_with(14)).is_ok());
        assert!(check_kdf_cost(&pbkdf2_with(2048)).is_ok());
        let err = check_kdf_cost(&scrypt_with(20)).unwrap_err().to_string();
        assert!(err.contains("1024 MiB of scrypt memory"), "{err}");
        let err = check_kdf_cost(&pbkdf2_with(50_000_000)).unwrap_err().to_string();
        assert!(err.contains("50000000 PBKDF2 iterations"), "{err}");
    }
}
