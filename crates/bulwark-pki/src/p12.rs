//! PKCS#12 keystores (`.p12`), read and written with p12-keystore.
//!
//! Written files use PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for keys and certificates and an
//! HMAC-SHA256 MAC, 10,000 iterations: what Java 17's keytool writes, readable by OpenSSL 3,
//! keytool and Python. RC2/3DES/SHA-1 are never written (OpenSSL 3 cannot read RC2 without
//! `-legacy`), but they are read, as are files from `openssl pkcs12 -export` (default and
//! `-legacy`), keytool, and certificate-only bundles.
//!
//! Reading decodes every bag (p12-keystore's raw archive view) and links keys to certificates
//! here: p12-keystore's `Strict`/`Relaxed` policies drop certificates that carry neither a key nor
//! Java's trust attribute, which would make an `openssl pkcs12 -export -nokeys` CA bundle look
//! empty.

use std::fmt;

use p12_keystore::{
    Certificate as P12Cert, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, Pkcs12Archive,
    PrivateKey, PrivateKeyChain,
};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::cert::{self, CertifiedKey};
use crate::error::PkiError;
use crate::fingerprint::Fingerprint;
use crate::inspect::{self, parse_cert};
use crate::key::key_matches_cert;

/// One entry to write into a PKCS#12 file.
pub enum P12Entry {
    /// A private key with its certificate chain (leaf first, then issuers): keytool's
    /// `PrivateKeyEntry`.
    KeyChain {
        /// Entry name (keytool's alias; OpenSSL's friendlyName).
        alias: String,
        /// The private key, PKCS#8 DER.
        key_pkcs8_der: Zeroizing<Vec<u8>>,
        /// Certificates, DER, leaf first. Must not be empty; the leaf must match the key.
        chain_der: Vec<Vec<u8>>,
    },
    /// A CA certificate marked as trusted (Java's trust attribute): keytool's `trustedCertEntry`.
    Trusted {
        /// Entry name.
        alias: String,
        /// The certificate, DER.
        cert_der: Vec<u8>,
    },
}

impl P12Entry {
    /// A key-chain entry from a certificate-and-key plus further chain certificates (usually the
    /// CA).
    pub fn key_chain(alias: impl Into<String>, key: &CertifiedKey, rest_of_chain: &[&[u8]]) -> Self {
        let mut chain_der = vec![key.cert_der().to_vec()];
        chain_der.extend(rest_of_chain.iter().map(|c| c.to_vec()));
        Self::KeyChain {
            alias: alias.into(),
            key_pkcs8_der: Zeroizing::new(key.key_pkcs8_der().to_vec()),
            chain_der,
        }
    }

    /// A trusted-certificate entry.
    pub fn trusted(alias: impl Into<String>, cert_der: &[u8]) -> Self {
        Self::Trusted { alias: alias.into(), cert_der: cert_der.to_vec() }
    }

    /// The entry's alias.
    pub fn alias(&self) -> &str {
        match self {
            Self::KeyChain { alias, .. } | Self::Trusted { alias, .. } => alias,
        }
    }
}

impl fmt::Debug for P12Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyChain { alias, chain_der, .. } => f
                .debug_struct("KeyChain")
                .field("alias", alias)
                .field("key_pkcs8_der", &"[REDACTED]")
                .field("chain_len", &chain_der.len())
                .finish(),
            Self::Trusted { alias, cert_der } => f
                .debug_struct("Trusted")
                .field("alias", alias)
                .field("fingerprint", &Fingerprint::of_der(cert_der))
                .finish(),
        }
    }
}

/// A private key and its certificate chain read from a PKCS#12 file.
#[derive(Clone)]
pub struct CertifiedKeyChain {
    /// The private key, PKCS#8 DER.
    pub key_pkcs8_der: Zeroizing<Vec<u8>>,
    /// Certificates, DER, leaf first, then issuers as far as the file holds them. Empty only when
    /// the file holds a key with no certificate for it.
    pub chain_der: Vec<Vec<u8>>,
}

impl CertifiedKeyChain {
    /// The end-entity certificate (for a CA keystore, the CA certificate itself).
    pub fn leaf_der(&self) -> Option<&[u8]> {
        self.chain_der.first().map(Vec::as_slice)
    }

    /// The last certificate of a chain longer than one: normally the issuing CA.
    pub fn ca_der(&self) -> Option<&[u8]> {
        if self.chain_der.len() > 1 { self.chain_der.last().map(Vec::as_slice) } else { None }
    }

    /// The leaf and key as a [`CertifiedKey`] (for example to sign with a CA read from
    /// `elastic-stack-ca.p12`). Checks that the key matches the leaf.
    pub fn to_certified_key(&self) -> Result<CertifiedKey, PkiError> {
        let leaf = self.leaf_der().ok_or_else(|| PkiError::P12Entry {
            alias: "(key entry)".to_owned(),
            reason: "the private key has no certificate".to_owned(),
        })?;
        CertifiedKey::from_der(leaf.to_vec(), &self.key_pkcs8_der)
    }
}

impl fmt::Debug for CertifiedKeyChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subjects: Vec<String> = self.chain_der.iter().map(|c| inspect::subject_of(c)).collect();
        f.debug_struct("CertifiedKeyChain")
            .field("key_pkcs8_der", &"[REDACTED]")
            .field("chain", &subjects)
            .finish()
    }
}

/// Everything read from a PKCS#12 file.
#[derive(Debug, Clone, Default)]
pub struct P12Contents {
    /// Private keys with their chains, by alias, in file order.
    pub key_chains: Vec<(String, CertifiedKeyChain)>,
    /// Trusted certificates, by alias: those with Java's trust attribute, plus any certificate
    /// that is neither a key's certificate nor part of a key's chain (so an OpenSSL CA bundle's
    /// certificates land here).
    pub trusted: Vec<(String, Vec<u8>)>,
}

impl P12Contents {
    /// The key chain named `alias`, or with `None` the only one; errors when there is none, when
    /// the alias is unknown, or when several exist and no alias was given.
    pub fn key_chain(&self, alias: Option<&str>) -> Result<&CertifiedKeyChain, PkiError> {
        match alias {
            Some(wanted) => self
                .key_chains
                .iter()
                .find(|(a, _)| a == wanted || a.eq_ignore_ascii_case(wanted))
                .map(|(_, kc)| kc)
                .ok_or_else(|| PkiError::NoSuchAlias { alias: wanted.to_owned() }),
            None => match self.key_chains.as_slice() {
                [] => Err(PkiError::NoKeyInP12),
                [(_, only)] => Ok(only),
                many => Err(PkiError::AmbiguousKeyInP12 {
                    aliases: many.iter().map(|(a, _)| a.clone()).collect(),
                }),
            },
        }
    }

    /// The leaf and key of [`P12Contents::key_chain`] as a [`CertifiedKey`], with errors naming
    /// the entry's alias.
    pub fn certified_key(&self, alias: Option<&str>) -> Result<CertifiedKey, PkiError> {
        let chain = self.key_chain(alias)?;
        let name = self
            .key_chains
            .iter()
            .find(|(_, kc)| std::ptr::eq(kc, chain))
            .map(|(a, _)| a.clone())
            .unwrap_or_default();
        chain.to_certified_key().map_err(|e| match e {
            PkiError::P12Entry { reason, .. } => PkiError::P12Entry { alias: name, reason },
            other => other,
        })
    }

    /// Every distinct CA certificate in the file: the trusted ones, then the non-leaf members of
    /// key chains. Use as a trust store when a PKCS#12 file serves as `truststore.path`.
    pub fn ca_certs(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let candidates = self
            .trusted
            .iter()
            .map(|(_, der)| der)
            .chain(self.key_chains.iter().flat_map(|(_, kc)| kc.chain_der.iter().skip(1)));
        for der in candidates {
            let is_ca = parse_cert(der).map(|c| c.is_ca()).unwrap_or(false);
            if is_ca && !out.contains(der) {
                out.push(der.clone());
            }
        }
        out
    }
}

/// Writes a password-protected PKCS#12 file (PBES2/AES-256-CBC, HMAC-SHA256 MAC).
///
/// Aliases must be unique (ignoring case, as Java does). Each key chain must be non-empty and its
/// first certificate must match its key.
pub fn write_p12(entries: &[P12Entry], password: &SecretString) -> Result<Vec<u8>, PkiError> {
    let mut store = KeyStore::new();
    let mut seen: Vec<String> = Vec::new();
    for entry in entries {
        let alias = entry.alias();
        if alias.is_empty() {
            return Err(PkiError::P12Entry { alias: String::new(), reason: "the alias is empty".to_owned() });
        }
        let folded = alias.to_lowercase();
        if seen.contains(&folded) {
            return Err(PkiError::DuplicateAlias { alias: alias.to_owned() });
        }
        seen.push(folded);
        let entry_err = |reason: String| PkiError::P12Entry { alias: alias.to_owned(), reason };
        let to_cert = |der: &[u8]| P12Cert::from_der(der).map_err(|e| entry_err(format!("certificate: {e}")));
        match entry {
            P12Entry::KeyChain { key_pkcs8_der, chain_der, .. } => {
                let leaf = chain_der
                    .first()
                    .ok_or_else(|| entry_err("the certificate chain is empty".to_owned()))?;
                if !key_matches_cert(key_pkcs8_der, leaf)? {
                    return Err(PkiError::KeyMismatch { subject: inspect::subject_of(leaf) });
                }
                let key = PrivateKey::from_der(key_pkcs8_der)
                    .map_err(|e| entry_err(format!("private key is not PKCS#8: {e}")))?;
                let certs = chain_der.iter().map(|c| to_cert(c)).collect::<Result<Vec<_>, _>>()?;
                // Any unique bytes link the key bag to its certificate; use the leaf's fingerprint.
                let local_key_id = Fingerprint::of_der(leaf).as_bytes()[..20].to_vec();
                let chain = PrivateKeyChain::new(local_key_id, key, certs);
                store.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
            }
            P12Entry::Trusted { cert_der, .. } => {
                store.add_entry(alias, KeyStoreEntry::Certificate(to_cert(cert_der)?));
            }
        }
    }
    store
        .writer(password.expose_secret())
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .write()
        .map_err(|e| PkiError::P12Write(e.to_string()))
}

/// Reads a PKCS#12 file. A wrong password is [`PkiError::WrongPassword`]; bytes that are not
/// PKCS#12 are [`PkiError::P12Parse`].
pub fn read_p12(bytes: &[u8], password: &SecretString) -> Result<P12Contents, PkiError> {
    let archive = Pkcs12Archive::from_pkcs12(bytes, password.expose_secret()).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) | p12_keystore::error::Error::UnpadError => {
            PkiError::WrongPassword
        }
        other => PkiError::P12Parse(other.to_string()),
    })?;

    let mut used = vec![false; archive.certs.len()];
    let mut contents = P12Contents::default();
    for (index, key_bag) in archive.keys.iter().enumerate() {
        let key_der = key_bag.key.as_der();
        let by_id = key_bag
            .local_key_id
            .as_ref()
            .and_then(|id| archive.certs.iter().position(|c| c.local_key_id.as_deref() == Some(id.as_ref())));
        let leaf = by_id.or_else(|| {
            archive.certs.iter().position(|c| key_matches_cert(key_der, c.cert.as_der()).unwrap_or(false))
        });
        let mut chain_idx: Vec<usize> = Vec::new();
        if let Some(leaf) = leaf {
            chain_idx.push(leaf);
            build_chain(&archive, &mut chain_idx);
        }
        for &i in &chain_idx {
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
        }
        let alias = key_bag
            .friendly_name
            .clone()
            .or_else(|| leaf.and_then(|i| archive.certs.get(i)).and_then(|c| c.friendly_name.clone()))
            .or_else(|| key_bag.local_key_id.as_ref().map(|id| hex::encode(id.as_ref())))
            .unwrap_or_else(|| format!("key-{}", index + 1));
        let chain_der = chain_idx
            .iter()
            .filter_map(|&i| archive.certs.get(i))
            .map(|c| c.cert.as_der().to_vec())
            .collect();
        contents
            .key_chains
            .push((alias, CertifiedKeyChain { key_pkcs8_der: Zeroizing::new(key_der.to_vec()), chain_der }));
    }
    for (i, bag) in archive.certs.iter().enumerate() {
        let unused = !used.get(i).copied().unwrap_or(true);
        if bag.trusted || (unused && bag.local_key_id.is_none()) {
            let alias = bag.friendly_name.clone().unwrap_or_else(|| bag.cert.subject().to_owned());
            let der = bag.cert.as_der().to_vec();
            if !contents.trusted.iter().any(|(_, d)| *d == der) {
                contents.trusted.push((alias, der));
            }
        }
    }
    Ok(contents)
}

/// Extends `chain` (holding the leaf's index) with issuers found among the file's certificates,
/// matching issuer to subject name bytes, until a self-signed certificate or a missing issuer.
fn build_chain(archive: &Pkcs12Archive, chain: &mut Vec<usize>) {
    let names: Vec<Option<(Vec<u8>, Vec<u8>)>> = archive
        .certs
        .iter()
        .map(|c| {
            parse_cert(c.cert.as_der())
                .ok()
                .map(|x| (x.subject().as_raw().to_vec(), x.issuer().as_raw().to_vec()))
        })
        .collect();
    while let Some(&current) = chain.last() {
        let Some(Some((subject, issuer))) = names.get(current) else { break };
        if subject == issuer {
            break;
        }
        // Prefer an untrusted bag (the chain proper), else accept a trusted one.
        let candidates = |want_trusted: bool| {
            names.iter().enumerate().position(|(i, n)| {
                !chain.contains(&i)
                    && archive.certs.get(i).is_some_and(|c| c.trusted == want_trusted)
                    && n.as_ref().is_some_and(|(s, _)| s == issuer)
            })
        };
        match candidates(false).or_else(|| candidates(true)) {
            Some(next) => chain.push(next),
            None => break,
        }
    }
}

/// Reads a CA (certificate and key) from a PKCS#12 file such as `elastic-stack-ca.p12`; `alias`
/// picks the entry when the file holds several keys.
pub fn load_ca_from_p12(
    bytes: &[u8],
    password: &SecretString,
    alias: Option<&str>,
) -> Result<CertifiedKey, PkiError> {
    let ca = read_p12(bytes, password)?.certified_key(alias)?;
    cert::ensure_ca(&ca)?;
    Ok(ca)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{CertRequest, CertUsage, issue, new_ca};
    use crate::key::KeyAlgorithm;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn write_read_round_trip() {
        let ca = new_ca("P12 CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let leaf = issue(&ca, &CertRequest::new("node-1"), CertUsage::Server).unwrap();
        let entries = vec![
            P12Entry::key_chain("node-1", &leaf, &[ca.cert_der()]),
            P12Entry::trusted("ca", ca.cert_der()),
        ];
        let bytes = write_p12(&entries, &pw("s3cret-pw")).unwrap();
        let read = read_p12(&bytes, &pw("s3cret-pw")).unwrap();
        assert_eq!(read.key_chains.len(), 1);
        let (alias, kc) = &read.key_chains[0];
        assert_eq!(alias, "node-1");
        assert_eq!(kc.chain_der, vec![leaf.cert_der().to_vec(), ca.cert_der().to_vec()]);
        assert_eq!(&*kc.key_pkcs8_der, leaf.key_pkcs8_der());
        assert_eq!(kc.ca_der(), Some(ca.cert_der()));
        assert_eq!(read.trusted, vec![("ca".to_owned(), ca.cert_der().to_vec())]);
        assert_eq!(read.ca_certs(), vec![ca.cert_der().to_vec()]);
        assert_eq!(
            read.key_chain(None).unwrap().to_certified_key().unwrap().fingerprint(),
            leaf.fingerprint()
        );
        assert_eq!(read.certified_key(None).unwrap().cert_der(), leaf.cert_der());
        assert!(read.key_chain(Some("NODE-1")).is_ok());
        assert!(matches!(read.key_chain(Some("x")), Err(PkiError::NoSuchAlias { .. })));
        assert!(!format!("{:?}", read).contains(&hex::encode(leaf.key_pkcs8_der())));
    }

    #[test]
    fn wrong_password_and_garbage() {
        let ca = new_ca("P12 CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let bytes = write_p12(&[P12Entry::key_chain("ca", &ca, &[])], &pw("right")).unwrap();
        assert!(matches!(read_p12(&bytes, &pw("wrong")), Err(PkiError::WrongPassword)));
        assert!(matches!(read_p12(b"garbage", &pw("right")), Err(PkiError::P12Parse(_))));
        let loaded = load_ca_from_p12(&bytes, &pw("right"), None).unwrap();
        assert_eq!(loaded.fingerprint(), ca.fingerprint());
    }

    #[test]
    fn write_refuses_bad_entries() {
        let ca = new_ca("P12 CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let other = new_ca("Other", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let dup = [P12Entry::trusted("ca", ca.cert_der()), P12Entry::trusted("CA", other.cert_der())];
        assert!(matches!(write_p12(&dup, &pw("x")), Err(PkiError::DuplicateAlias { .. })));
        let mismatch = [P12Entry::KeyChain {
            alias: "k".to_owned(),
            key_pkcs8_der: Zeroizing::new(other.key_pkcs8_der().to_vec()),
            chain_der: vec![ca.cert_der().to_vec()],
        }];
        assert!(matches!(write_p12(&mismatch, &pw("x")), Err(PkiError::KeyMismatch { .. })));
        let empty = [P12Entry::KeyChain {
            alias: "k".to_owned(),
            key_pkcs8_der: Zeroizing::new(ca.key_pkcs8_der().to_vec()),
            chain_der: vec![],
        }];
        assert!(matches!(write_p12(&empty, &pw("x")), Err(PkiError::P12Entry { .. })));
    }
}
