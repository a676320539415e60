//! Certificate generation: certificate authorities and the leaf certificates they issue.
//!
//! Every certificate gets a random 20-byte serial (rcgen's default is a hash of the public key,
//! which repeats when a key is re-certified), a `not_before` five minutes in the past to absorb
//! clock skew between nodes, and an issuer name copied from the CA certificate itself so that
//! chains also build for CAs made by other tools.

use std::fmt;
use std::net::IpAddr;

use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DistinguishedName, ExtendedKeyUsagePurpose,
    IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::PrivateKeyDer;
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::ParsedExtension;
use zeroize::Zeroizing;

use crate::dn;
use crate::error::PkiError;
use crate::fingerprint::Fingerprint;
use crate::inspect::{self, CertInfo};
use crate::key::{self, KeyAlgorithm};
use crate::pem;

/// How far in the past `not_before` is set, to tolerate clock skew.
const BACKDATE: Duration = Duration::minutes(5);

/// Default validity of certificates made by [`CertRequest::new`]: three years.
pub const DEFAULT_VALIDITY_DAYS: u32 = 3 * 365;

/// A certificate together with its private key.
///
/// The key is held as PKCS#8 DER in memory that is zeroed on drop; `Debug` never prints it.
/// Values are only built by this crate, always with a key that matches the certificate.
#[derive(Clone)]
pub struct CertifiedKey {
    cert_der: Vec<u8>,
    key_pkcs8: Zeroizing<Vec<u8>>,
}

impl CertifiedKey {
    /// Pairs a DER certificate with its private key (PKCS#8, SEC1 or PKCS#1 DER; stored as
    /// PKCS#8). Fails with [`PkiError::KeyMismatch`] when the key is not the certificate's.
    pub fn from_der(cert_der: Vec<u8>, key_der: &[u8]) -> Result<Self, PkiError> {
        let key = PrivateKeyDer::try_from(key_der).map_err(|e| PkiError::KeyParse(e.to_owned()))?;
        let key_pkcs8 = key::to_pkcs8(&key)?;
        if !key::key_matches_cert(&key_pkcs8, &cert_der)? {
            let subject = inspect::subject_of(&cert_der);
            return Err(PkiError::KeyMismatch { subject });
        }
        Ok(Self { cert_der, key_pkcs8 })
    }

    /// The certificate, DER-encoded.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate as a PEM `CERTIFICATE` block.
    pub fn cert_pem(&self) -> String {
        pem::cert_pem(&self.cert_der)
    }

    /// The private key, PKCS#8 DER.
    pub fn key_pkcs8_der(&self) -> &[u8] {
        &self.key_pkcs8
    }

    /// The private key as an unencrypted PEM `PRIVATE KEY` block (zeroed on drop).
    pub fn key_pem(&self) -> Zeroizing<String> {
        pem::key_pem(&self.key_pkcs8)
    }

    /// SHA-256 fingerprint of the certificate.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.cert_der)
    }

    /// Parsed details of the certificate.
    pub fn info(&self) -> Result<CertInfo, PkiError> {
        inspect::inspect(&self.cert_der)
    }
}

impl fmt::Debug for CertifiedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertifiedKey")
            .field("subject", &inspect::subject_of(&self.cert_der))
            .field("fingerprint", &self.fingerprint())
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// What a leaf certificate may be used for (its extended key usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertUsage {
    /// TLS server only (`serverAuth`).
    Server,
    /// TLS client only (`clientAuth`).
    Client,
    /// Both (`serverAuth` + `clientAuth`), as transport certificates need.
    ServerAndClient,
}

impl CertUsage {
    fn ekus(self) -> Vec<ExtendedKeyUsagePurpose> {
        match self {
            Self::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Self::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Self::ServerAndClient => {
                vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth]
            }
        }
    }
}

/// What to put in a new certificate or CSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    /// A bare common name (`node-1`) or a simple DN (`CN=node-1,O=Example`); see [`new_ca`].
    pub subject_cn: String,
    /// DNS subject alternative names (wildcards such as `*.example.com` allowed).
    pub dns: Vec<String>,
    /// IP address subject alternative names.
    pub ips: Vec<IpAddr>,
    /// Validity in days from now (ignored for CSRs, where the signer decides).
    pub validity_days: u32,
    /// The key pair to generate.
    pub key: KeyAlgorithm,
    /// CRL distribution point URLs (`http://`, `https://` or `ldap://`), alternatives for the
    /// same list; none leaves the extension out (ignored for CSRs, where the signer decides).
    pub crl_urls: Vec<String>,
}

impl CertRequest {
    /// A request for `subject` with no SANs, [`DEFAULT_VALIDITY_DAYS`] and an EC P-256 key.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject_cn: subject.into(),
            dns: Vec::new(),
            ips: Vec::new(),
            validity_days: DEFAULT_VALIDITY_DAYS,
            key: KeyAlgorithm::EcdsaP256,
            crl_urls: Vec::new(),
        }
    }
}

/// Creates a self-signed certificate authority.
///
/// `cn_or_dn` is either a bare common name or a simple DN such as `CN=Bulwark CA,O=Example`
/// (attributes `CN O OU C ST L DC`, `,`-separated, `\` escapes). The CA has a critical
/// `basicConstraints CA:TRUE`, key usages keyCertSign + cRLSign + digitalSignature, a subject key
/// identifier, a random serial, and is valid from five minutes ago for `validity_days`.
pub fn new_ca(cn_or_dn: &str, validity_days: u32, key: KeyAlgorithm) -> Result<CertifiedKey, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn::parse(cn_or_dn)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    set_validity(&mut params, validity_days)?;
    params.serial_number = Some(random_serial()?);
    let key_pair = key::generate(key)?;
    let cert = params.self_signed(&key_pair).map_err(PkiError::generate("CA certificate"))?;
    Ok(CertifiedKey { cert_der: cert.der().to_vec(), key_pkcs8: Zeroizing::new(key_pair.serialize_der()) })
}

/// Issues a leaf certificate, with a freshly generated key, signed by `ca`.
///
/// The leaf has `basicConstraints CA:FALSE`, key usages digitalSignature + keyEncipherment, the
/// extended key usages of `usage`, the request's SANs, an authority key identifier, a random
/// serial, and the CA's subject as issuer.
pub fn issue(ca: &CertifiedKey, req: &CertRequest, usage: CertUsage) -> Result<CertifiedKey, PkiError> {
    let subject = dn::parse(&req.subject_cn)?;
    let sans = subject_alt_names(&req.dns, &req.ips)?;
    let signer = CaSigner::new(ca)?;
    let params = leaf_params(subject, sans, req.validity_days, usage, &req.crl_urls, signer.has_ski)?;
    let key_pair = key::generate(req.key)?;
    let cert = params.signed_by(&key_pair, &signer.issuer).map_err(PkiError::generate("certificate"))?;
    Ok(CertifiedKey { cert_der: cert.der().to_vec(), key_pkcs8: Zeroizing::new(key_pair.serialize_der()) })
}

/// Issues a self-signed leaf certificate (`certutil cert --self-signed`): a freshly generated
/// key signs its own certificate, which is otherwise what [`issue`] makes (subject, SANs,
/// `CA:FALSE`, the usage's extended key usages, a random serial, CRL distribution points), but
/// has no authority key identifier.
pub fn issue_self_signed(req: &CertRequest, usage: CertUsage) -> Result<CertifiedKey, PkiError> {
    let subject = dn::parse(&req.subject_cn)?;
    let sans = subject_alt_names(&req.dns, &req.ips)?;
    let params = leaf_params(subject, sans, req.validity_days, usage, &req.crl_urls, false)?;
    let key_pair = key::generate(req.key)?;
    let cert = params.self_signed(&key_pair).map_err(PkiError::generate("self-signed certificate"))?;
    Ok(CertifiedKey { cert_der: cert.der().to_vec(), key_pkcs8: Zeroizing::new(key_pair.serialize_der()) })
}

/// Loads a CA from PEM: the first certificate of `cert_pem` and the key of `key_pem` (PKCS#8, SEC1
/// or PKCS#1). Fails when the key does not match or the certificate is not a CA.
pub fn load_ca_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, PkiError> {
    let cert = pem::certs_from_pem(cert_pem)?
        .into_iter()
        .next()
        .ok_or_else(|| PkiError::Pem("no CERTIFICATE block found".to_owned()))?;
    let key = pem::key_from_pem(key_pem)?;
    let ca = CertifiedKey::from_der(cert, &key)?;
    ensure_ca(&ca)?;
    Ok(ca)
}

/// Checks that a certificate-and-key can sign certificates (basicConstraints CA:TRUE and, when a
/// key usage extension is present, keyCertSign).
pub fn ensure_ca(ca: &CertifiedKey) -> Result<(), PkiError> {
    CaSigner::new(ca).map(|_| ())
}

/// A loaded CA, ready to sign.
pub(crate) struct CaSigner {
    /// rcgen's view of the CA: its subject name, key identifier and signing key.
    pub(crate) issuer: Issuer<'static, KeyPair>,
    /// Whether the CA certificate has a subject key identifier, so leaves can carry a matching
    /// authority key identifier.
    pub(crate) has_ski: bool,
    /// How to name the CA's key in an authority key identifier: its own subject key identifier
    /// when it has one.
    pub(crate) key_id: KeyIdMethod,
}

impl CaSigner {
    /// Checks that `ca` is a CA and prepares it for signing.
    pub(crate) fn new(ca: &CertifiedKey) -> Result<Self, PkiError> {
        let cert = inspect::parse_cert(ca.cert_der())?;
        let not_ca = |reason: &str| PkiError::NotACa {
            subject: cert.subject().to_string(),
            reason: reason.to_owned(),
        };
        match cert.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => {}
            Ok(_) => return Err(not_ca("basicConstraints CA:TRUE is missing")),
            Err(e) => return Err(PkiError::CertParse(e.to_string())),
        }
        match cert.key_usage() {
            Ok(Some(ku)) if !ku.value.key_cert_sign() => {
                return Err(not_ca("key usage does not allow keyCertSign"));
            }
            Ok(_) => {}
            Err(e) => return Err(PkiError::CertParse(e.to_string())),
        }
        let ski = cert.iter_extensions().find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
        let mut params = CertificateParams::default();
        params.distinguished_name = dn::from_x509(cert.subject())?;
        let key_id = match &ski {
            Some(id) => KeyIdMethod::PreSpecified(id.clone()),
            None => KeyIdMethod::Sha256,
        };
        params.key_identifier_method = key_id.clone();
        let signing_key = key::signing_key(ca.key_pkcs8_der())?;
        Ok(Self { issuer: Issuer::new(params, signing_key), has_ski: ski.is_some(), key_id })
    }
}

/// Parameters of a leaf certificate (shared by [`issue`] and CSR signing).
pub(crate) fn leaf_params(
    subject: DistinguishedName,
    sans: Vec<SanType>,
    validity_days: u32,
    usage: CertUsage,
    crl_urls: &[String],
    authority_key_id: bool,
) -> Result<CertificateParams, PkiError> {
    if subject.iter().next().is_none() && sans.is_empty() {
        return Err(PkiError::InvalidRequest("a certificate needs a subject or at least one SAN".to_owned()));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = usage.ekus();
    params.use_authority_key_identifier_extension = authority_key_id;
    if !crl_urls.is_empty() {
        for url in crl_urls {
            check_crl_url(url)?;
        }
        params.crl_distribution_points = vec![CrlDistributionPoint { uris: crl_urls.to_vec() }];
    }
    set_validity(&mut params, validity_days)?;
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

/// Refuses CRL distribution point URLs that clients could not fetch.
fn check_crl_url(url: &str) -> Result<(), PkiError> {
    let scheme_ok =
        ["http://", "https://", "ldap://"].iter().any(|p| url.len() > p.len() && url.starts_with(p));
    if !scheme_ok || !url.chars().all(|c| c.is_ascii_graphic()) {
        return Err(PkiError::InvalidRequest(format!(
            "{url:?} is not a CRL distribution point URL (expected http://, https:// or ldap:// without spaces)"
        )));
    }
    Ok(())
}

/// Builds DNS and IP SANs, refusing names that are not plausible host names.
pub(crate) fn subject_alt_names(dns: &[String], ips: &[IpAddr]) -> Result<Vec<SanType>, PkiError> {
    let mut sans: Vec<SanType> = Vec::with_capacity(dns.len() + ips.len());
    for name in dns {
        let name = name.trim();
        let plausible = !name.is_empty()
            && name.len() <= 253
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*'));
        if !plausible {
            return Err(PkiError::InvalidRequest(format!("{name:?} is not a valid DNS name")));
        }
        let ia5 = Ia5String::try_from(name)
            .map_err(|e| PkiError::InvalidRequest(format!("DNS name {name:?}: {e}")))?;
        let san = SanType::DnsName(ia5);
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    for ip in ips {
        let san = SanType::IpAddress(*ip);
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

fn set_validity(params: &mut CertificateParams, validity_days: u32) -> Result<(), PkiError> {
    if validity_days == 0 {
        return Err(PkiError::InvalidRequest("validity must be at least one day".to_owned()));
    }
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc());
    let not_after = now
        .checked_add(Duration::days(i64::from(validity_days)))
        .filter(|t| t.year() <= 9999)
        .ok_or_else(|| PkiError::InvalidRequest(format!("validity of {validity_days} days is too long")))?;
    params.not_before = now - BACKDATE;
    params.not_after = not_after;
    Ok(())
}

/// A random, positive 20-byte serial number (the RFC 5280 maximum) with 158 random bits.
pub fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = bulwark_random::bytes::<20>()
        .map_err(|e| PkiError::InvalidRequest(format!("cannot draw a serial number: {e}")))?;
    // 01xxxxxx: positive, and a leading byte >= 0x40 keeps the encoding at exactly 20 bytes and
    // the hex form at 40 digits in every tool's spelling (OpenSSL pads odd lengths, Java does not).
    bytes[0] = (bytes[0] & 0x3f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::RsaBits;

    fn leaf_req() -> CertRequest {
        CertRequest {
            subject_cn: "node-1".to_owned(),
            dns: vec!["localhost".to_owned(), "node-1.example.internal".to_owned()],
            ips: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            validity_days: 30,
            key: KeyAlgorithm::EcdsaP256,
            crl_urls: vec!["https://node-1.example.internal:9200/_ssl/crl/http_ca.crl".to_owned()],
        }
    }

    #[test]
    fn ca_properties() {
        let ca = new_ca("CN=Test CA,O=Bulwark", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let info = ca.info().unwrap();
        assert!(info.is_ca);
        assert_eq!(info.subject_dn, info.issuer_dn);
        assert!(info.subject_dn.contains("CN=Test CA"));
        assert_eq!(info.serial_hex.len(), 40);
        let now = OffsetDateTime::now_utc();
        assert!(info.not_before < now - Duration::minutes(4));
        assert!(info.not_after > now + Duration::days(9));
        assert!(info.not_after < now + Duration::days(11));
        assert!(ensure_ca(&ca).is_ok());
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }

    #[test]
    fn leaf_properties_and_serials() {
        let ca = new_ca("Test CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let a = issue(&ca, &leaf_req(), CertUsage::Server).unwrap();
        let b = issue(&ca, &leaf_req(), CertUsage::Server).unwrap();
        let (ia, ib) = (a.info().unwrap(), b.info().unwrap());
        assert!(!ia.is_ca);
        assert_ne!(ia.serial_hex, ib.serial_hex);
        assert_eq!(ia.issuer_dn, ca.info().unwrap().subject_dn);
        assert_eq!(ia.dns_sans, vec!["localhost", "node-1.example.internal"]);
        assert_eq!(ia.ip_sans.len(), 2);
        assert!(matches!(ensure_ca(&a), Err(PkiError::NotACa { .. })));
        assert!(matches!(issue(&a, &leaf_req(), CertUsage::Server), Err(PkiError::NotACa { .. })));
    }

    #[test]
    fn rsa_ca_issues_ec_leaf() {
        let ca = new_ca("RSA CA", 10, KeyAlgorithm::Rsa(RsaBits::B2048)).unwrap();
        let leaf = issue(&ca, &leaf_req(), CertUsage::ServerAndClient).unwrap();
        assert!(crate::inspect::verify_chain(leaf.cert_der(), ca.cert_der()).is_ok());
    }

    #[test]
    fn bad_requests() {
        let ca = new_ca("Test CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let mut req = leaf_req();
        req.validity_days = 0;
        assert!(matches!(issue(&ca, &req, CertUsage::Server), Err(PkiError::InvalidRequest(_))));
        let mut req = leaf_req();
        req.validity_days = u32::MAX;
        assert!(matches!(issue(&ca, &req, CertUsage::Server), Err(PkiError::InvalidRequest(_))));
        let mut req = leaf_req();
        req.dns.push("bad name".to_owned());
        assert!(matches!(issue(&ca, &req, CertUsage::Server), Err(PkiError::InvalidRequest(_))));
        let mut req = leaf_req();
        req.crl_urls = vec!["file:///etc/crl".to_owned()];
        assert!(matches!(issue(&ca, &req, CertUsage::Server), Err(PkiError::InvalidRequest(_))));
        let mut req = leaf_req();
        req.dns.push("bücher.example".to_owned());
        assert!(issue(&ca, &req, CertUsage::Server).is_err());
        assert!(new_ca("", 10, KeyAlgorithm::EcdsaP256).is_err());
    }

    #[test]
    fn from_der_rejects_foreign_key() {
        let ca = new_ca("Test CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let other = new_ca("Other CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        assert!(CertifiedKey::from_der(ca.cert_der().to_vec(), ca.key_pkcs8_der()).is_ok());
        assert!(matches!(
            CertifiedKey::from_der(ca.cert_der().to_vec(), other.key_pkcs8_der()),
            Err(PkiError::KeyMismatch { .. })
        ));
    }

    #[test]
    fn load_ca_round_trip() {
        let ca = new_ca("Test CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let loaded = load_ca_from_pem(ca.cert_pem().as_bytes(), ca.key_pem().as_bytes()).unwrap();
        assert_eq!(loaded.fingerprint(), ca.fingerprint());
        let leaf = issue(&loaded, &leaf_req(), CertUsage::Client).unwrap();
        assert!(crate::inspect::verify_chain(leaf.cert_der(), ca.cert_der()).is_ok());
        let leaf_as_ca = load_ca_from_pem(leaf.cert_pem().as_bytes(), leaf.key_pem().as_bytes());
        assert!(matches!(leaf_as_ca, Err(PkiError::NotACa { .. })));
    }
}
