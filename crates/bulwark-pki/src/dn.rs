//! Distinguished names: the simple `CN=x,O=y` syntax users type, and faithful copies of names
//! read from existing certificates and CSRs.
//!
//! Copies keep each attribute's ASN.1 string type, because certificate path validation compares
//! an issuer name with its CA's subject name byte for byte.

use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
use rcgen::{DistinguishedName, DnType, DnValue};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::x509::X509Name;

use crate::error::PkiError;

/// OID of `domainComponent` (DC).
const OID_DOMAIN_COMPONENT: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 25];
/// OID of `userId` (UID).
const OID_USER_ID: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 1];
/// OID of PKCS#9 `emailAddress` (E).
const OID_EMAIL_ADDRESS: &[u64] = &[1, 2, 840, 113549, 1, 9, 1];

/// The attribute names [`parse`] knows, as listed in its error messages.
const KNOWN: &str = "CN, O, OU, C, ST, L, DC, UID, E (emailAddress), SERIALNUMBER";

/// Upper bounds (in characters) of attribute values: RFC 5280 appendix A.1 (`ub-common-name` and
/// friends). DC labels follow RFC 1035 (63) and UID, which has no X.509 bound, RFC 4519's
/// customary 256.
fn upper_bound(key: &str) -> usize {
    match key {
        "CN" | "O" | "OU" | "SERIALNUMBER" => 64,
        "L" | "ST" => 128,
        "E" => 255,
        "DC" => 63,
        _ => 256,
    }
}

/// Checks a distinguished name in the `KEY=value,...` form only (what `certutil --dn` takes):
/// unlike the subjects of requests, a bare word such as `foo` is refused.
pub fn check_strict(input: &str) -> Result<(), PkiError> {
    if !input.contains('=') {
        return Err(PkiError::InvalidDn {
            dn: input.to_owned(),
            reason: format!(
                "not a distinguished name; write it as KEY=value pairs, e.g. 'CN=My CA,O=Example' \
                 (attributes: {KNOWN})"
            ),
        });
    }
    parse(input).map(|_| ())
}

/// Parses either a bare common name (`Bulwark CA`) or a simple DN (`CN=Bulwark CA, O=Example`).
///
/// The DN form is recognised by an `=` sign. Attributes are separated by `,`; a `\` escapes the
/// next character. Known attribute names (any case): `CN`, `O`, `OU`, `C`, `ST`, `L`, `DC`, `UID`,
/// `E` (`emailAddress`), `SERIALNUMBER`; values longer than RFC 5280's upper bounds are refused. Each
/// attribute may appear once (rcgen cannot encode repeated attributes), and multi-valued RDNs
/// (`+`) are not supported.
pub(crate) fn parse(input: &str) -> Result<DistinguishedName, PkiError> {
    let trimmed = input.trim();
    let invalid = |reason: String| PkiError::InvalidDn { dn: input.to_owned(), reason };
    if trimmed.is_empty() {
        return Err(invalid("the name is empty".to_owned()));
    }
    let mut dn = DistinguishedName::new();
    if !trimmed.contains('=') {
        check_length("CN", trimmed).map_err(invalid)?;
        dn.push(DnType::CommonName, trimmed);
        return Ok(dn);
    }
    let mut seen: Vec<String> = Vec::new();
    for part in split_unescaped(trimmed)? {
        let (key, value) =
            part.split_once('=').ok_or_else(|| invalid(format!("{part:?} is not of the form KEY=value")))?;
        let key = match key.trim().to_ascii_uppercase().as_str() {
            "EMAILADDRESS" | "EMAIL" => "E".to_owned(),
            other => other.to_owned(),
        };
        let value = unescape(value.trim());
        if key.is_empty() {
            return Err(invalid(format!("{part:?} has no attribute name before '='")));
        }
        if value.is_empty() {
            return Err(invalid(format!("{key} has an empty value")));
        }
        check_length(&key, &value).map_err(invalid)?;
        if seen.contains(&key) {
            return Err(invalid(format!("{key} appears more than once")));
        }
        let (ty, val) = match key.as_str() {
            "CN" => (DnType::CommonName, DnValue::from(value)),
            "O" => (DnType::OrganizationName, DnValue::from(value)),
            "OU" => (DnType::OrganizationalUnitName, DnValue::from(value)),
            "ST" => (DnType::StateOrProvinceName, DnValue::from(value)),
            "L" => (DnType::LocalityName, DnValue::from(value)),
            "C" => {
                if value.len() != 2 || !value.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(invalid(format!("C must be a two-letter country code, not {value:?}")));
                }
                let printable = PrintableString::try_from(value.to_ascii_uppercase())
                    .map_err(|e| invalid(e.to_string()))?;
                (DnType::CountryName, DnValue::PrintableString(printable))
            }
            "DC" => {
                let ia5 = Ia5String::try_from(value).map_err(|e| invalid(format!("DC: {e}")))?;
                (DnType::CustomDnType(OID_DOMAIN_COMPONENT.to_vec()), DnValue::Ia5String(ia5))
            }
            "UID" => (DnType::CustomDnType(OID_USER_ID.to_vec()), DnValue::Utf8String(value)),
            "E" => {
                let ia5 = Ia5String::try_from(value).map_err(|e| invalid(format!("E: {e}")))?;
                (DnType::CustomDnType(OID_EMAIL_ADDRESS.to_vec()), DnValue::Ia5String(ia5))
            }
            "SERIALNUMBER" => {
                let printable =
                    PrintableString::try_from(value).map_err(|e| invalid(format!("SERIALNUMBER: {e}")))?;
                (DnType::CustomDnType(vec![2, 5, 4, 5]), DnValue::PrintableString(printable))
            }
            other => {
                return Err(invalid(format!("unknown attribute {other:?} (known: {KNOWN})")));
            }
        };
        seen.push(key);
        dn.push(ty, val);
    }
    Ok(dn)
}

/// Refuses a value longer than X.509 allows for its attribute.
fn check_length(key: &str, value: &str) -> Result<(), String> {
    let len = value.chars().count();
    let max = upper_bound(key);
    if len > max {
        return Err(format!(
            "{key} is {len} characters long, and X.509 allows at most {max} (RFC 5280 upper bounds)"
        ));
    }
    Ok(())
}

/// Splits on commas that are not escaped with a backslash; refuses `+` (multi-valued RDNs).
fn split_unescaped(s: &str) -> Result<Vec<String>, PkiError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push('\\');
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' => parts.push(std::mem::take(&mut current)),
            '+' => {
                return Err(PkiError::InvalidDn {
                    dn: s.to_owned(),
                    reason: "multi-valued RDNs ('+') are not supported; escape a literal '+' as '\\+'"
                        .to_owned(),
                });
            }
            other => current.push(other),
        }
    }
    parts.push(current);
    Ok(parts.into_iter().map(|p| p.trim().to_owned()).collect())
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Copies a parsed X.509 name into an rcgen name, keeping order and string types.
///
/// Refuses empty or multi-valued RDNs and repeated attribute types, which rcgen cannot
/// reproduce exactly (a lossy copy would silently break chain building).
pub(crate) fn from_x509(name: &X509Name<'_>) -> Result<DistinguishedName, PkiError> {
    let invalid = |reason: String| PkiError::InvalidDn { dn: name.to_string(), reason };
    let mut dn = DistinguishedName::new();
    let mut seen: Vec<DnType> = Vec::new();
    for rdn in name.iter() {
        let mut attrs = rdn.iter();
        let attr = attrs.next().ok_or_else(|| invalid("empty RDN".to_owned()))?;
        if attrs.next().is_some() {
            return Err(invalid("multi-valued RDNs are not supported".to_owned()));
        }
        let oid: Vec<u64> =
            attr.attr_type().iter().ok_or_else(|| invalid("attribute OID too large".to_owned()))?.collect();
        let ty = DnType::from_oid(&oid);
        if seen.contains(&ty) {
            return Err(invalid(format!("attribute {} appears more than once", attr.attr_type())));
        }
        let data = attr.attr_value().data;
        let text =
            || std::str::from_utf8(data).map_err(|_| invalid("attribute value is not valid text".to_owned()));
        let asn1 = |e: rcgen::Error| invalid(e.to_string());
        let value = match attr.attr_value().header.tag() {
            Tag::Utf8String => DnValue::Utf8String(text()?.to_owned()),
            Tag::PrintableString => {
                DnValue::PrintableString(PrintableString::try_from(text()?).map_err(asn1)?)
            }
            Tag::Ia5String => DnValue::Ia5String(Ia5String::try_from(text()?).map_err(asn1)?),
            Tag::T61String => DnValue::TeletexString(TeletexString::try_from(text()?).map_err(asn1)?),
            Tag::BmpString => DnValue::BmpString(BmpString::from_utf16be(data.to_vec()).map_err(asn1)?),
            Tag::UniversalString => {
                DnValue::UniversalString(UniversalString::from_utf32be(data.to_vec()).map_err(asn1)?)
            }
            other => return Err(invalid(format!("unsupported string type {other}"))),
        };
        seen.push(ty.clone());
        dn.push(ty, value);
    }
    Ok(dn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dn: &DistinguishedName) -> Vec<(DnType, DnValue)> {
        dn.iter().map(|(t, v)| (t.clone(), v.clone())).collect()
    }

    #[test]
    fn bare_common_name() {
        let dn = parse("  Bulwark security auto-configuration HTTP CA ").unwrap();
        assert_eq!(
            entries(&dn),
            vec![(DnType::CommonName, DnValue::from("Bulwark security auto-configuration HTTP CA"))]
        );
    }

    #[test]
    fn simple_dn() {
        let dn = parse("CN=node-1, o=Example\\, Inc.,C=de,DC=example").unwrap();
        let e = entries(&dn);
        assert_eq!(e[0], (DnType::CommonName, DnValue::from("node-1")));
        assert_eq!(e[1], (DnType::OrganizationName, DnValue::from("Example, Inc.")));
        assert!(matches!(&e[2], (DnType::CountryName, DnValue::PrintableString(p)) if p.as_str() == "DE"));
        assert_eq!(e.len(), 4);
    }

    #[test]
    fn bad_dns() {
        for bad in ["", "CN=", "CN=a,CN=b", "X=1", "CN=a+O=b", "C=Germany", "CN=a,junk", "=x", "E=é@x"] {
            assert!(matches!(parse(bad), Err(PkiError::InvalidDn { .. })), "{bad:?}");
        }
        assert!(matches!(check_strict("foo"), Err(PkiError::InvalidDn { .. })));
    }

    #[test]
    fn upper_bounds() {
        let at = |n: usize| "x".repeat(n);
        for (key, max) in [("CN", 64), ("O", 64), ("OU", 64), ("L", 128), ("ST", 128), ("E", 255)] {
            assert!(parse(&format!("{key}={}", at(max))).is_ok(), "{key} at its bound");
            let err = parse(&format!("{key}={}", at(max + 1))).unwrap_err().to_string();
            assert!(err.contains(&format!("at most {max}")), "{err}");
        }
        assert!(parse(&at(65)).is_err(), "a bare common name is a CN too");
        assert!(parse("UID=jdoe,E=jdoe@example.com,emailAddress=x@y").is_err(), "E twice");
        assert_eq!(
            parse("UID=jdoe,emailAddress=jdoe@example.com,SERIALNUMBER=42").unwrap().iter().count(),
            3
        );
    }
}
