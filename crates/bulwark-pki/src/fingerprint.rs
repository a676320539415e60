//! SHA-256 certificate fingerprints.
//!
//! The canonical form is the lowercase hex SHA-256 of the certificate's DER bytes with no colons:
//! what `openssl x509 -fingerprint -sha256` prints, minus the colons, lower-cased. Input is
//! forgiving because users paste fingerprints from many tools.

use std::fmt;
use std::str::FromStr;

use crate::error::PkiError;

/// SHA-256 of a certificate's DER encoding.
///
/// `Display` prints lowercase hex without colons. `FromStr` also accepts colons, upper case and a
/// `sha256:` / `SHA256:` prefix; anything else that is not 64 hex digits is an error.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Fingerprints DER bytes (normally a certificate).
    pub fn of_der(der: &[u8]) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Self(out)
    }

    /// Wraps 32 raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// OpenSSL's spelling: upper-case hex pairs joined by colons (`0D:2D:...`).
    pub fn colon_hex_upper(&self) -> String {
        let mut s = String::with_capacity(32 * 3);
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push_str(&format!("{b:02X}"));
        }
        s
    }

    /// True when `der` has this fingerprint.
    pub fn matches(&self, der: &[u8]) -> bool {
        Self::of_der(der) == *self
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let body = match trimmed.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sha256:") => &trimmed[7..],
            _ => trimmed,
        };
        let hex_digits: String = body.chars().filter(|c| *c != ':').collect();
        if hex_digits.is_empty() {
            return Err(PkiError::InvalidFingerprint("empty value".to_owned()));
        }
        if let Some(bad) = hex_digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(PkiError::InvalidFingerprint(format!(
                "unexpected character {bad:?} (expected 64 hex digits, optionally with colons)"
            )));
        }
        if hex_digits.len() != 64 {
            return Err(PkiError::InvalidFingerprint(format!(
                "{} hex digits, a SHA-256 fingerprint has 64",
                hex_digits.len()
            )));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(&hex_digits, &mut out)
            .map_err(|e| PkiError::InvalidFingerprint(e.to_string()))?;
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0d2d48a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b55f1";

    #[test]
    fn parse_table() {
        let colon_upper = Fingerprint::from_str(HEX).map(|f| f.colon_hex_upper()).unwrap();
        let accepted = [
            HEX.to_owned(),
            HEX.to_uppercase(),
            colon_upper.clone(),
            colon_upper.to_lowercase(),
            format!("sha256:{HEX}"),
            format!("SHA256:{colon_upper}"),
            format!("Sha256:{}", HEX.to_uppercase()),
            format!("  {HEX}\n"),
        ];
        for input in &accepted {
            let fp: Fingerprint = input.parse().unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(fp.to_string(), HEX, "{input:?}");
        }
        let rejected = [
            "",
            "sha256:",
            &HEX[..62],
            &format!("{HEX}00"),
            &format!("{}zz", &HEX[..62]),
            &format!("sha1:{HEX}"),
            &format!("sha256 {HEX}"),
            &HEX.replace('0', "-"),
        ];
        for input in rejected {
            assert!(input.parse::<Fingerprint>().is_err(), "{input:?} should be rejected");
        }
    }

    #[test]
    fn display_forms() {
        let fp = Fingerprint::of_der(b"abc");
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(fp.to_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(fp.colon_hex_upper().starts_with("BA:78:16:BF:"));
        assert_eq!(fp.colon_hex_upper().len(), 95);
        assert_eq!(fp.colon_hex_upper().parse::<Fingerprint>().ok(), Some(fp));
        assert!(fp.matches(b"abc"));
        assert!(!fp.matches(b"abd"));
        assert_eq!(format!("{fp:?}"), format!("Fingerprint({fp})"));
    }
}
