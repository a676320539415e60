//! Certificate revocation lists: issuing a CRL signed by a CA, and reading one back.
//!
//! CRLs are built by rcgen and read by x509-parser (which also checks their signature with
//! aws-lc-rs). Serial numbers travel as lowercase hex without leading zeros, the spelling
//! [`crate::CertInfo::serial_hex`] and `GET /_ssl/certificates` use.

use std::fmt;

use rcgen::{CertificateRevocationListParams, RevokedCertParams, SerialNumber};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::cert::{CaSigner, CertifiedKey};
use crate::error::PkiError;
use crate::inspect;
use crate::pem;

/// Why a certificate was revoked (RFC 5280 §5.3.1; `certificateHold` and `removeFromCRL` are
/// not offered: a revocation here is final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    /// No reason given.
    Unspecified,
    /// The certificate's private key was, or may have been, disclosed.
    KeyCompromise,
    /// The issuing CA's key was compromised.
    CaCompromise,
    /// The subject's name or other information changed.
    AffiliationChanged,
    /// The certificate was replaced by a new one.
    Superseded,
    /// The certificate is no longer needed (e.g. the node was retired).
    CessationOfOperation,
    /// A privilege the certificate stood for was withdrawn.
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// Every reason, in RFC order.
    pub const ALL: [RevocationReason; 7] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::CaCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::PrivilegeWithdrawn,
    ];

    /// The snake_case name used in settings, flags and JSON (`key_compromise`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "key_compromise",
            Self::CaCompromise => "ca_compromise",
            Self::AffiliationChanged => "affiliation_changed",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessation_of_operation",
            Self::PrivilegeWithdrawn => "privilege_withdrawn",
        }
    }

    /// Parses a snake_case name or the RFC's camelCase one (`keyCompromise`).
    pub fn parse(s: &str) -> Option<Self> {
        let folded: String = s.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
        Self::ALL.into_iter().find(|r| r.name().replace('_', "") == folded)
    }

    fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::PrivilegeWithdrawn => 9,
        }
    }

    fn from_code(code: u8) -> Self {
        Self::ALL.into_iter().find(|r| r.code() == code).unwrap_or(Self::Unspecified)
    }

    fn to_rcgen(self) -> rcgen::RevocationReason {
        use rcgen::RevocationReason as R;
        match self {
            Self::Unspecified => R::Unspecified,
            Self::KeyCompromise => R::KeyCompromise,
            Self::CaCompromise => R::CaCompromise,
            Self::AffiliationChanged => R::AffiliationChanged,
            Self::Superseded => R::Superseded,
            Self::CessationOfOperation => R::CessationOfOperation,
            Self::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Serial number, lowercase hex without leading zeros (see [`normalize_serial`]).
    pub serial_hex: String,
    /// When it was revoked (whole seconds).
    pub revoked_at: OffsetDateTime,
    /// Why.
    pub reason: RevocationReason,
}

/// What a CRL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlInfo {
    /// The issuer's DN.
    pub issuer_dn: String,
    /// The CRL number (0 when the extension is missing).
    pub number: u64,
    /// When it was issued.
    pub this_update: OffsetDateTime,
    /// When the next one is due.
    pub next_update: Option<OffsetDateTime>,
    /// The revoked certificates, in CRL order.
    pub revoked: Vec<Revocation>,
}

impl CrlInfo {
    /// Whether the serial (any spelling [`normalize_serial`] accepts) is on the list.
    pub fn is_revoked(&self, serial: &str) -> bool {
        normalize_serial(serial).is_ok_and(|s| self.revoked.iter().any(|r| r.serial_hex == s))
    }
}

/// A serial number in the one spelling Bulwark stores and compares: lowercase hex without
/// leading zeros. Accepts upper case, `:` separators (OpenSSL's and keytool's spelling) and a
/// `0x` prefix.
pub fn normalize_serial(serial: &str) -> Result<String, PkiError> {
    let s = serial.trim();
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let digits: String = s.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
    if digits.is_empty() || digits.len() > 80 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PkiError::InvalidRequest(format!(
            "{serial:?} is not a certificate serial number (expected hex digits, e.g. 4f1c...)"
        )));
    }
    let trimmed = digits.trim_start_matches('0');
    Ok(if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() })
}

fn serial_bytes(serial_hex: &str) -> Result<Vec<u8>, PkiError> {
    let hex = normalize_serial(serial_hex)?;
    let padded = if hex.len() % 2 == 1 { format!("0{hex}") } else { hex };
    let mut bytes = hex::decode(padded).map_err(|e| PkiError::InvalidRequest(e.to_string()))?;
    // DER integers are signed: a leading bit of 1 needs a zero byte to stay positive.
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    Ok(bytes)
}

/// Issues a CRL signed by `ca`: number `number`, valid from now for `valid_for`, listing
/// `revoked`. Returns DER.
pub fn issue_crl(
    ca: &CertifiedKey,
    number: u64,
    revoked: &[Revocation],
    valid_for: Duration,
) -> Result<Vec<u8>, PkiError> {
    let signer = CaSigner::new(ca)?;
    let ca_cert = inspect::parse_cert(ca.cert_der())?;
    if let Ok(Some(ku)) = ca_cert.key_usage()
        && !ku.value.crl_sign()
    {
        return Err(PkiError::NotACa {
            subject: ca_cert.subject().to_string(),
            reason: "key usage does not allow cRLSign".to_owned(),
        });
    }
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc());
    let revoked_certs = revoked
        .iter()
        .map(|r| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial_bytes(&r.serial_hex)?),
                revocation_time: r.revoked_at,
                reason_code: Some(r.reason.to_rcgen()),
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + valid_for,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: signer.key_id.clone(),
    };
    let crl = params.signed_by(&signer.issuer).map_err(PkiError::generate("certificate revocation list"))?;
    Ok(crl.der().to_vec())
}

/// Reads a CRL (PEM `X509 CRL` or DER) and checks that `ca` signed it.
pub fn read_crl(pem_or_der: &[u8], ca_cert_der: &[u8]) -> Result<CrlInfo, PkiError> {
    let der = pem::crl_der(pem_or_der)?;
    let (rest, crl) =
        CertificateRevocationList::from_der(&der).map_err(|e| PkiError::CrlParse(e.to_string()))?;
    if !rest.is_empty() {
        return Err(PkiError::CrlParse(format!("{} bytes of trailing data", rest.len())));
    }
    let ca = inspect::parse_cert(ca_cert_der)?;
    if crl.issuer() != ca.subject() {
        return Err(PkiError::CrlParse(format!(
            "it was issued by [{}], not by the CA [{}]",
            crl.issuer(),
            ca.subject()
        )));
    }
    crl.verify_signature(ca.public_key())
        .map_err(|e| PkiError::CrlParse(format!("its signature is not the CA's: {e}")))?;
    let number = crl.crl_number().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let revoked = crl
        .iter_revoked_certificates()
        .map(|r| Revocation {
            serial_hex: r.serial().to_str_radix(16),
            revoked_at: r.revocation_date.to_datetime(),
            reason: r
                .reason_code()
                .map_or(RevocationReason::Unspecified, |(_, c)| RevocationReason::from_code(c.0)),
        })
        .collect();
    Ok(CrlInfo {
        issuer_dn: crl.issuer().to_string(),
        number,
        this_update: crl.last_update().to_datetime(),
        next_update: crl.next_update().map(|t| t.to_datetime()),
        revoked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{CertRequest, CertUsage, issue, new_ca};
    use crate::key::KeyAlgorithm;

    fn revocation(serial: &str, reason: RevocationReason) -> Revocation {
        let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        Revocation { serial_hex: serial.to_owned(), revoked_at: at, reason }
    }

    #[test]
    fn issue_and_read_back() {
        let ca = new_ca("CRL CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let leaf = issue(&ca, &CertRequest::new("node-1"), CertUsage::Server).unwrap();
        let serial = leaf.info().unwrap().serial_hex;
        let list = [
            revocation(&serial, RevocationReason::KeyCompromise),
            revocation("ff", RevocationReason::Superseded),
        ];
        let der = issue_crl(&ca, 7, &list, Duration::days(7)).unwrap();
        let info = read_crl(&der, ca.cert_der()).unwrap();
        assert_eq!(info.number, 7);
        assert_eq!(info.revoked, list);
        assert!(info.is_revoked(&serial.to_uppercase()));
        assert!(!info.is_revoked("1234"));
        assert_eq!(info.issuer_dn, ca.info().unwrap().subject_dn);
        let next = info.next_update.unwrap();
        assert_eq!((next - info.this_update).whole_days(), 7);
        // PEM reads the same.
        assert_eq!(read_crl(pem::crl_pem(&der).as_bytes(), ca.cert_der()).unwrap(), info);
    }

    #[test]
    fn foreign_or_damaged_crls_are_refused() {
        let ca = new_ca("CRL CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let twin = new_ca("CRL CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let der = issue_crl(&ca, 1, &[], Duration::days(1)).unwrap();
        let err = read_crl(&der, twin.cert_der()).unwrap_err().to_string();
        assert!(err.contains("signature is not the CA's"), "{err}");
        let other = new_ca("Other CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        assert!(read_crl(&der, other.cert_der()).unwrap_err().to_string().contains("issued by"));
        assert!(read_crl(&der[..der.len() - 3], ca.cert_der()).is_err());
        assert!(
            read_crl(b"-----BEGIN X509 CRL-----\nnope\n-----END X509 CRL-----\n", ca.cert_der()).is_err()
        );
        let leaf = issue(&ca, &CertRequest::new("node-1"), CertUsage::Server).unwrap();
        assert!(matches!(issue_crl(&leaf, 1, &[], Duration::days(1)), Err(PkiError::NotACa { .. })));
    }

    #[test]
    fn serial_spellings() {
        assert_eq!(normalize_serial("0x00AB:cd").unwrap(), "abcd");
        assert_eq!(normalize_serial("4F:1C").unwrap(), "4f1c");
        assert_eq!(normalize_serial("000").unwrap(), "0");
        assert!(normalize_serial("").is_err());
        assert!(normalize_serial("xyz").is_err());
        assert_eq!(serial_bytes("80").unwrap(), vec![0, 0x80]);
        assert_eq!(serial_bytes("abc").unwrap(), vec![0x0a, 0xbc]);
    }

    #[test]
    fn reason_names() {
        for r in RevocationReason::ALL {
            assert_eq!(RevocationReason::parse(r.name()), Some(r));
            assert_eq!(RevocationReason::from_code(r.code()), r);
        }
        assert_eq!(RevocationReason::parse("keyCompromise"), Some(RevocationReason::KeyCompromise));
        assert_eq!(RevocationReason::parse("certificateHold"), None);
    }
}
