//! Certificate signing requests: making them (certutil `csr`, a joining node) and signing them
//! (the cluster answering an enrollment, certutil signing an external request).
//!
//! Signing does not trust anything in the request beyond the subject, the SANs and the public key
//! that its self-signature proves possession of. rcgen's own CSR parser would copy a requested
//! `CA:TRUE` and rejects requests carrying common extensions such as subjectKeyIdentifier, so we
//! parse with x509-parser and build the certificate ourselves: `CA:FALSE`, our serial, validity,
//! key usages, extended key usages and authority key identifier.

use std::net::IpAddr;

use rcgen::string::Ia5String;
use rcgen::{CertificateParams, SanType, SubjectPublicKeyInfo};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use zeroize::Zeroizing;

use crate::cert::{self, CaSigner, CertRequest, CertUsage, CertifiedKey};
use crate::dn;
use crate::error::PkiError;
use crate::inspect::ip_from_bytes;
use crate::key;
use crate::pem;

/// Smallest RSA modulus we sign.
const MIN_RSA_BITS: usize = 2048;

/// What a CSR asks for, as read by [`inspect_csr`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrInfo {
    /// Subject DN, e.g. `CN=node-2`.
    pub subject_dn: String,
    /// Requested DNS SANs.
    pub dns_sans: Vec<String>,
    /// Requested IP SANs.
    pub ip_sans: Vec<IpAddr>,
    /// Whether the request asks for `basicConstraints CA:TRUE` (never granted by [`sign_csr`]).
    pub requests_ca: bool,
}

/// Generates a key pair and a PEM CSR for `req` (subject and SANs; validity is the signer's
/// choice). Returns the CSR PEM and the private key as PKCS#8 DER.
pub fn new_csr(req: &CertRequest) -> Result<(String, Zeroizing<Vec<u8>>), PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn::parse(&req.subject_cn)?;
    params.subject_alt_names = cert::subject_alt_names(&req.dns, &req.ips)?;
    let key_pair = key::generate(req.key)?;
    let csr = params.serialize_request(&key_pair).map_err(PkiError::generate("CSR"))?;
    let pem = pem::csr_pem(csr.der());
    Ok((pem, Zeroizing::new(key_pair.serialize_der())))
}

/// Parses and verifies a CSR (PEM or DER) and reports what it asks for.
pub fn inspect_csr(csr_pem_or_der: &[u8]) -> Result<CsrInfo, PkiError> {
    let der = pem::csr_der(csr_pem_or_der)?;
    let parsed = Parsed::new(&der)?;
    let mut dns_sans = Vec::new();
    let mut ip_sans = Vec::new();
    for san in &parsed.sans {
        match san {
            SanType::DnsName(d) => dns_sans.push(d.as_str().to_owned()),
            SanType::IpAddress(ip) => ip_sans.push(*ip),
            _ => {}
        }
    }
    Ok(CsrInfo {
        subject_dn: parsed.csr.certification_request_info.subject.to_string(),
        dns_sans,
        ip_sans,
        requests_ca: parsed.requests_ca,
    })
}

/// Signs a CSR (PEM or DER) with `ca`, returning the certificate as DER.
///
/// Works for requests made by rcgen and by `openssl req`. The CSR's self-signature must verify and
/// RSA keys must have at least 2048 bits. Only the subject, DNS/IP/e-mail/URI SANs and the public
/// key are taken from the request; the certificate is always `CA:FALSE` with digitalSignature +
/// keyEncipherment, the extended key usages of `usage`, a random serial, an authority key
/// identifier and `validity_days` of validity.
pub fn sign_csr(
    ca: &CertifiedKey,
    csr_pem_or_der: &[u8],
    validity_days: u32,
    usage: CertUsage,
    crl_urls: &[String],
) -> Result<Vec<u8>, PkiError> {
    let der = pem::csr_der(csr_pem_or_der)?;
    let parsed = Parsed::new(&der)?;
    let subject = dn::from_x509(&parsed.csr.certification_request_info.subject)?;
    let public_key = SubjectPublicKeyInfo::from_der(parsed.csr.certification_request_info.subject_pki.raw)
        .map_err(|e| PkiError::CsrRefused(format!("unsupported public key: {e}")))?;
    let signer = CaSigner::new(ca)?;
    let params = cert::leaf_params(subject, parsed.sans, validity_days, usage, crl_urls, signer.has_ski)?;
    let cert = params.signed_by(&public_key, &signer.issuer).map_err(PkiError::generate("certificate"))?;
    Ok(cert.der().to_vec())
}

/// A CSR whose signature has been checked, with the SANs it requests.
struct Parsed<'a> {
    csr: X509CertificationRequest<'a>,
    sans: Vec<SanType>,
    requests_ca: bool,
}

impl<'a> Parsed<'a> {
    fn new(der: &'a [u8]) -> Result<Self, PkiError> {
        let (rest, csr) =
            X509CertificationRequest::from_der(der).map_err(|e| PkiError::CsrParse(e.to_string()))?;
        if !rest.is_empty() {
            return Err(PkiError::CsrParse(format!("{} bytes of trailing data", rest.len())));
        }
        // Key strength first: a 1024-bit RSA signature does not even verify with aws-lc-rs, and
        // "too weak" is the more useful error.
        check_key_strength(&csr)?;
        csr.verify_signature().map_err(|e| PkiError::CsrSignature(e.to_string()))?;
        let mut sans = Vec::new();
        let mut requests_ca = false;
        if let Some(extensions) = csr.requested_extensions() {
            for ext in extensions {
                match ext {
                    ParsedExtension::SubjectAlternativeName(san) => {
                        for name in &san.general_names {
                            let converted = convert_san(name)?;
                            if !sans.contains(&converted) {
                                sans.push(converted);
                            }
                        }
                    }
                    ParsedExtension::BasicConstraints(bc) => requests_ca |= bc.ca,
                    ParsedExtension::ParseError { error } => {
                        return Err(PkiError::CsrParse(format!(
                            "a requested extension is malformed: {error}"
                        )));
                    }
                    // Key usages, SKI and anything else requested are ignored: the signer decides.
                    _ => {}
                }
            }
        }
        Ok(Self { csr, sans, requests_ca })
    }
}

fn convert_san(name: &GeneralName<'_>) -> Result<SanType, PkiError> {
    let ia5 = |s: &str| {
        Ia5String::try_from(s).map_err(|e| PkiError::CsrRefused(format!("SAN {s:?} is not ASCII: {e}")))
    };
    match name {
        GeneralName::DNSName(d) => Ok(SanType::DnsName(ia5(d)?)),
        GeneralName::RFC822Name(m) => Ok(SanType::Rfc822Name(ia5(m)?)),
        GeneralName::URI(u) => Ok(SanType::URI(ia5(u)?)),
        GeneralName::IPAddress(bytes) => ip_from_bytes(bytes)
            .map(SanType::IpAddress)
            .ok_or_else(|| PkiError::CsrRefused("an IP address SAN has an invalid length".to_owned())),
        other => Err(PkiError::CsrRefused(format!(
            "unsupported SAN type {other} (only DNS, IP, e-mail and URI names are signed)"
        ))),
    }
}

fn check_key_strength(csr: &X509CertificationRequest<'_>) -> Result<(), PkiError> {
    let spki = &csr.certification_request_info.subject_pki;
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let modulus = rsa.modulus;
            let first = modulus.iter().position(|b| *b != 0);
            let bits = first
                .and_then(|i| {
                    modulus.get(i).map(|b| (modulus.len() - i - 1) * 8 + (8 - b.leading_zeros() as usize))
                })
                .unwrap_or(0);
            if bits < MIN_RSA_BITS {
                return Err(PkiError::CsrRefused(format!(
                    "RSA key of {bits} bits is too weak (minimum {MIN_RSA_BITS})"
                )));
            }
            Ok(())
        }
        Ok(PublicKey::EC(_)) => Ok(()),
        Ok(_) => Err(PkiError::CsrRefused("only RSA and EC keys are signed".to_owned())),
        Err(e) => Err(PkiError::CsrParse(format!("public key: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::new_ca;
    use crate::inspect::{inspect, verify_chain};
    use crate::key::{KeyAlgorithm, RsaBits, key_matches_cert};

    #[test]
    fn rcgen_csr_round_trip() {
        let ca = new_ca("CSR CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa(RsaBits::B2048)] {
            let mut req = CertRequest::new("node-2");
            req.key = alg;
            req.dns = vec!["node-2.example".to_owned()];
            req.ips = vec!["192.0.2.7".parse().unwrap()];
            let (csr, key) = new_csr(&req).unwrap();
            assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
            let info = inspect_csr(csr.as_bytes()).unwrap();
            assert_eq!(info.subject_dn, "CN=node-2");
            assert_eq!(info.dns_sans, req.dns);
            assert_eq!(info.ip_sans, req.ips);
            assert!(!info.requests_ca);
            let der = sign_csr(&ca, csr.as_bytes(), 5, CertUsage::ServerAndClient, &[]).unwrap();
            assert!(key_matches_cert(&key, &der).unwrap());
            assert!(verify_chain(&der, ca.cert_der()).is_ok());
            let cert = inspect(&der).unwrap();
            assert_eq!(cert.dns_sans, req.dns);
            assert!(!cert.is_ca);
            // DER input works too.
            let raw = pem::csr_der(csr.as_bytes()).unwrap();
            assert!(sign_csr(&ca, &raw, 5, CertUsage::Server, &[]).is_ok());
        }
    }

    #[test]
    fn tampered_csr_is_refused() {
        let ca = new_ca("CSR CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let (csr, _) = new_csr(&CertRequest::new("node-3")).unwrap();
        let mut der = pem::csr_der(csr.as_bytes()).unwrap();
        // Flip a byte inside the subject's common name ("node-3" → "node-4").
        let pos = der.windows(6).position(|w| w == b"node-3").unwrap();
        der[pos + 5] = b'4';
        assert!(matches!(sign_csr(&ca, &der, 5, CertUsage::Server, &[]), Err(PkiError::CsrSignature(_))));
        assert!(matches!(sign_csr(&ca, b"garbage", 5, CertUsage::Server, &[]), Err(PkiError::CsrParse(_))));
        let not_csr = ca.cert_pem();
        assert!(matches!(
            sign_csr(&ca, not_csr.as_bytes(), 5, CertUsage::Server, &[]),
            Err(PkiError::CsrParse(_))
        ));
    }
}
