//! Reading certificates: the details `doctor`, `GET /_ssl/certificates` and expiry warnings show,
//! and chain validation of material before it is put into service.
//!
//! Parsing uses x509-parser; validation uses rustls' webpki verifiers, the same code that will
//! judge the certificate during a handshake.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, UnixTime};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::error::PkiError;
use crate::fingerprint::Fingerprint;

/// The facts about a certificate that operators and tools need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject DN, e.g. `CN=node-1, O=Example`.
    pub subject_dn: String,
    /// Issuer DN.
    pub issuer_dn: String,
    /// Serial number, lowercase hex without colons or leading zeros (as Elasticsearch shows it).
    pub serial_hex: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// DNS subject alternative names, in certificate order.
    pub dns_sans: Vec<String>,
    /// IP address subject alternative names, in certificate order.
    pub ip_sans: Vec<IpAddr>,
    /// Whether basicConstraints says CA:TRUE.
    pub is_ca: bool,
    /// SHA-256 fingerprint of the DER.
    pub fingerprint: Fingerprint,
}

impl CertInfo {
    /// Whether `at` lies within the validity period.
    pub fn is_valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Whether the certificate is expired at `now` or expires within `window` of it (e.g. 30
    /// days for expiry warnings).
    pub fn expires_within(&self, now: OffsetDateTime, window: Duration) -> bool {
        self.not_after <= now + window
    }

    /// Whole days from `now` until expiry; negative once expired.
    pub fn days_until_expiry(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }
}

/// Parses a DER certificate and returns its details.
pub fn inspect(der: &[u8]) -> Result<CertInfo, PkiError> {
    let cert = parse_cert(der)?;
    let mut dns_sans = Vec::new();
    let mut ip_sans = Vec::new();
    let san =
        cert.subject_alternative_name().map_err(|e| PkiError::CertParse(format!("subjectAltName: {e}")))?;
    if let Some(san) = san {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns_sans.push((*d).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        ip_sans.push(ip);
                    }
                }
                _ => {}
            }
        }
    }
    let validity = cert.validity();
    Ok(CertInfo {
        subject_dn: cert.subject().to_string(),
        issuer_dn: cert.issuer().to_string(),
        serial_hex: cert.serial.to_str_radix(16),
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
        dns_sans,
        ip_sans,
        is_ca: cert.is_ca(),
        fingerprint: Fingerprint::of_der(der),
    })
}

/// Validates `leaf_der` against `ca_der` as the only trust anchor: signature, validity periods
/// (of the leaf and of the CA), basic constraints and key usage, using webpki as a TLS handshake
/// would. A leaf is accepted if it is valid as a TLS server certificate or, failing that, as a
/// TLS client certificate. No host name is checked.
pub fn verify_chain(leaf_der: &[u8], ca_der: &[u8]) -> Result<(), PkiError> {
    verify_chain_at(leaf_der, &[], ca_der, OffsetDateTime::now_utc())
}

/// [`verify_chain`] with intermediate certificates and an explicit time.
pub fn verify_chain_at(
    leaf_der: &[u8],
    intermediates_der: &[&[u8]],
    ca_der: &[u8],
    at: OffsetDateTime,
) -> Result<(), PkiError> {
    let leaf_info = inspect(leaf_der)?;
    let invalid = |reason: String| PkiError::ChainInvalid { subject: leaf_info.subject_dn.clone(), reason };
    let ca_info = inspect(ca_der)?;
    if !ca_info.is_valid_at(at) {
        return Err(invalid(format!(
            "the CA certificate {} is not valid now (valid {} to {})",
            ca_info.subject_dn, ca_info.not_before, ca_info.not_after
        )));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca_der.to_vec())).map_err(PkiError::tls("trust store"))?;
    let roots = Arc::new(roots);
    let leaf = CertificateDer::from(leaf_der);
    let intermediates: Vec<CertificateDer<'_>> =
        intermediates_der.iter().map(|d| CertificateDer::from(*d)).collect();
    let seconds = u64::try_from(at.unix_timestamp()).map_err(|_| invalid("time before 1970".to_owned()))?;
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
    let parsed = ParsedCertificate::try_from(&leaf).map_err(|e| invalid(describe(&e)))?;
    let as_server = verify_server_cert_signed_by_trust_anchor(
        &parsed,
        &roots,
        &intermediates,
        now,
        provider.signature_verification_algorithms.all,
    );
    match as_server {
        Ok(()) => Ok(()),
        Err(rustls::Error::InvalidCertificate(
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. },
        )) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| PkiError::ClientVerifier(e.to_string()))?;
            verifier
                .verify_client_cert(&leaf, &intermediates, now)
                .map(|_| ())
                .map_err(|e| invalid(describe(&e)))
        }
        Err(e) => Err(invalid(describe(&e))),
    }
}

fn describe(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "it was not issued by the given CA (unknown issuer)".to_owned()
        }
        rustls::Error::InvalidCertificate(CertificateError::BadSignature) => {
            "its signature does not verify with the CA's key".to_owned()
        }
        other => other.to_string(),
    }
}

/// Parses a DER certificate, refusing trailing data.
/// The subject of a certificate as Java's `X500Principal.toString()` writes it, which is what
/// Elasticsearch's PKI realm matches `username_pattern` against and maps roles by: the most
/// specific RDN first (`CN=alice, OU=eng, O=Example`), `, ` between RDNs, ` + ` inside a
/// multi-valued one, `,` `+` `"` `\` `<` `>` `;` `=` in values escaped with a backslash.
pub fn subject_principal(der: &[u8]) -> Result<String, PkiError> {
    use x509_parser::objects::{oid_registry, oid2abbrev};
    let cert = parse_cert(der)?;
    let escape = |v: &str| {
        let mut out = String::with_capacity(v.len());
        for c in v.chars() {
            if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    let mut rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|a| {
                    let ty = oid2abbrev(a.attr_type(), oid_registry())
                        .map(|t| match t {
                            "emailAddress" => "EMAILADDRESS".to_owned(),
                            t => t.to_uppercase(),
                        })
                        .unwrap_or_else(|_| a.attr_type().to_id_string());
                    let value = a.as_str().map(escape).unwrap_or_else(|_| {
                        format!(
                            "#{}",
                            a.attr_value().data.iter().map(|b| format!("{b:02x}")).collect::<String>()
                        )
                    });
                    format!("{ty}={value}")
                })
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect();
    rdns.reverse();
    Ok(rdns.join(", "))
}

pub(crate) fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| PkiError::CertParse(e.to_string()))?;
    if !rest.is_empty() {
        return Err(PkiError::CertParse(format!("{} bytes of trailing data", rest.len())));
    }
    Ok(cert)
}

/// The subject DN of a certificate, for error messages.
pub(crate) fn subject_of(der: &[u8]) -> String {
    parse_cert(der)
        .map(|c| c.subject().to_string())
        .unwrap_or_else(|_| "<unparseable certificate>".to_owned())
}

pub(crate) fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{CertRequest, CertUsage, issue, new_ca};
    use crate::key::KeyAlgorithm;

    #[test]
    fn inspect_leaf() {
        let ca = new_ca("Inspect CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let mut req = CertRequest::new("CN=node-1,O=Example");
        req.dns = vec!["localhost".to_owned()];
        req.ips = vec!["10.1.2.3".parse().unwrap(), "fe80::1".parse().unwrap()];
        req.validity_days = 20;
        let leaf = issue(&ca, &req, CertUsage::Server).unwrap();
        let info = inspect(leaf.cert_der()).unwrap();
        assert_eq!(info.subject_dn, "CN=node-1, O=Example");
        assert_eq!(info.issuer_dn, "CN=Inspect CA");
        assert_eq!(info.dns_sans, vec!["localhost"]);
        assert_eq!(info.ip_sans, req.ips);
        assert!(!info.is_ca);
        assert_eq!(info.fingerprint, leaf.fingerprint());
        let now = OffsetDateTime::now_utc();
        assert!(info.is_valid_at(now));
        assert!(!info.is_valid_at(now + Duration::days(21)));
        assert!(info.expires_within(now, Duration::days(30)));
        assert!(!info.expires_within(now, Duration::days(10)));
        assert_eq!(info.days_until_expiry(now), 19);
        assert!(matches!(inspect(b"not a cert"), Err(PkiError::CertParse(_))));
        let mut trailing = leaf.cert_der().to_vec();
        trailing.push(0);
        assert!(matches!(inspect(&trailing), Err(PkiError::CertParse(_))));
    }

    #[test]
    fn verify_chain_accepts_own_and_refuses_foreign() {
        let ca = new_ca("CA one", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let other = new_ca("CA two", 10, KeyAlgorithm::EcdsaP256).unwrap();
        for usage in [CertUsage::Server, CertUsage::Client, CertUsage::ServerAndClient] {
            let leaf = issue(&ca, &CertRequest::new("leaf"), usage).unwrap();
            assert!(verify_chain(leaf.cert_der(), ca.cert_der()).is_ok(), "{usage:?}");
            assert!(matches!(
                verify_chain(leaf.cert_der(), other.cert_der()),
                Err(PkiError::ChainInvalid { .. })
            ));
        }
        let leaf = issue(&ca, &CertRequest::new("leaf"), CertUsage::Server).unwrap();
        let later = OffsetDateTime::now_utc() + Duration::days(365 * 4);
        let expired = verify_chain_at(leaf.cert_der(), &[], ca.cert_der(), later);
        assert!(matches!(expired, Err(PkiError::ChainInvalid { .. })));
    }
}
