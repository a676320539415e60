//! The one error type of this crate.
//!
//! Every variant says what went wrong and carries the context a user needs to fix it (a path, an
//! alias, a subject). No variant ever carries a password or key material: the PKCS#12 and key
//! parsers we call never echo their inputs, and we only forward their descriptions.

use std::path::PathBuf;

/// Everything that can go wrong while generating, reading, writing or checking PKI material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A request for a certificate, CSR or key was not valid (empty name, zero validity, a DNS
    /// name that is not ASCII, ...). The message names the offending value.
    #[error("invalid certificate request: {0}")]
    InvalidRequest(String),

    /// A distinguished name could not be parsed or cannot be represented.
    #[error("invalid distinguished name {dn:?}: {reason}")]
    InvalidDn {
        /// The name as given (or as read from a certificate).
        dn: String,
        /// Why it was refused.
        reason: String,
    },

    /// An RSA key size other than 2048, 3072 or 4096 bits was asked for.
    #[error("unsupported RSA key size {0} bits (use 2048, 3072 or 4096)")]
    UnsupportedRsaBits(u32),

    /// A string is not a SHA-256 fingerprint.
    #[error("invalid SHA-256 fingerprint: {0}")]
    InvalidFingerprint(String),

    /// rcgen failed to generate a key, certificate or CSR.
    #[error("could not generate {what}: {source}")]
    Generate {
        /// What was being generated ("CA certificate", "CSR", ...).
        what: &'static str,
        /// The underlying rcgen error.
        #[source]
        source: rcgen::Error,
    },

    /// Bytes that should hold a certificate revocation list do not, or its signature is not the
    /// CA's.
    #[error("could not read certificate revocation list: {0}")]
    CrlParse(String),

    /// Bytes that should hold an X.509 certificate do not.
    #[error("could not parse certificate: {0}")]
    CertParse(String),

    /// Bytes that should hold a PKCS#10 certificate signing request do not.
    #[error("could not parse certificate signing request: {0}")]
    CsrParse(String),

    /// The CSR's self-signature does not verify against the public key it carries.
    #[error("the certificate signing request's self-signature does not verify: {0}")]
    CsrSignature(String),

    /// The CSR asks for something this CA refuses to sign (a weak key, an unsupported name type).
    #[error("refusing to sign certificate signing request: {0}")]
    CsrRefused(String),

    /// Bytes that should hold a private key do not, or the key type is not supported.
    #[error("could not parse private key: {0}")]
    KeyParse(String),

    /// A configured cipher suite is not one this build offers.
    #[error("[{name}] is not a supported cipher suite; supported: {}", supported.join(", "))]
    UnsupportedCipherSuite {
        /// The name as configured.
        name: String,
        /// What is offered.
        supported: Vec<String>,
    },

    /// The PEM holds an encrypted private key and no passphrase was given.
    #[error("the private key is encrypted and no passphrase was given")]
    EncryptedKey,

    /// The passphrase does not decrypt the encrypted private key.
    #[error("wrong passphrase for the encrypted private key")]
    WrongPassphrase,

    /// The key is encrypted in OpenSSL's legacy PEM format (`Proc-Type: 4,ENCRYPTED`), which is
    /// not read; PKCS#8 (`ENCRYPTED PRIVATE KEY`) is.
    #[error(
        "the private key is encrypted in OpenSSL's legacy PEM format; convert it to encrypted PKCS#8 with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out new.key`"
    )]
    LegacyEncryptedKey,

    /// A private key does not belong to the certificate it was paired with.
    #[error("the private key does not match the certificate {subject}")]
    KeyMismatch {
        /// Subject DN of the certificate.
        subject: String,
    },

    /// A certificate was to be used as a CA but is not one (no basicConstraints CA:TRUE, or no
    /// keyCertSign usage).
    #[error("certificate {subject} cannot be used as a CA: {reason}")]
    NotACa {
        /// Subject DN of the certificate.
        subject: String,
        /// What is missing.
        reason: String,
    },

    /// PEM text was malformed, or held none of the expected sections.
    #[error("invalid PEM: {0}")]
    Pem(String),

    /// The password does not open this PKCS#12 file (its MAC does not verify, or its contents do
    /// not decrypt).
    #[error("wrong password for PKCS#12 data (integrity check failed)")]
    WrongPassword,

    /// Bytes that should hold a PKCS#12 file do not, or use an unsupported algorithm.
    #[error("could not read PKCS#12 data: {0}")]
    P12Parse(String),

    /// p12-keystore failed to produce a PKCS#12 file.
    #[error("could not write PKCS#12 data: {0}")]
    P12Write(String),

    /// Two PKCS#12 entries were given the same alias.
    #[error("duplicate PKCS#12 alias {alias:?}")]
    DuplicateAlias {
        /// The repeated alias.
        alias: String,
    },

    /// A PKCS#12 entry is unusable (a key chain without certificates, ...).
    #[error("PKCS#12 entry {alias:?} is unusable: {reason}")]
    P12Entry {
        /// The entry's alias.
        alias: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The PKCS#12 file holds no private key entry although one was needed.
    #[error("the PKCS#12 data holds no private key entry")]
    NoKeyInP12,

    /// The PKCS#12 file holds several private key entries and no alias was given to pick one.
    #[error("the PKCS#12 data holds several private key entries ({aliases:?}); name the one to use")]
    AmbiguousKeyInP12 {
        /// The aliases of the key entries.
        aliases: Vec<String>,
    },

    /// No PKCS#12 entry has the requested alias.
    #[error("the PKCS#12 data has no private key entry named {alias:?}")]
    NoSuchAlias {
        /// The requested alias.
        alias: String,
    },

    /// A certificate chain does not validate.
    #[error("certificate {subject} does not validate: {reason}")]
    ChainInvalid {
        /// Subject DN of the end-entity certificate.
        subject: String,
        /// Why validation failed.
        reason: String,
    },

    /// rustls refused the TLS material or configuration.
    #[error("could not build TLS {what}: {source}")]
    Tls {
        /// What was being built ("server configuration", "trust store", ...).
        what: &'static str,
        /// The underlying rustls error.
        #[source]
        source: rustls::Error,
    },

    /// A TLS protocol list names something other than TLSv1.2 and TLSv1.3, or a combination we do
    /// not offer.
    #[error("unsupported TLS protocol selection {0:?} (allowed: [TLSv1.3, TLSv1.2] or [TLSv1.3])")]
    UnsupportedProtocols(Vec<String>),

    /// A trust store for client authentication was empty or unusable.
    #[error("could not build client certificate verifier: {0}")]
    ClientVerifier(String),

    /// A file-system operation failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done ("write", "rename", "sync directory of", ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl PkiError {
    /// Builds an [`PkiError::Io`] with its context.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { action, path: path.into(), source }
    }

    /// Builds a [`PkiError::Generate`] with its context.
    pub(crate) fn generate(what: &'static str) -> impl FnOnce(rcgen::Error) -> Self {
        move |source| Self::Generate { what, source }
    }

    /// Builds a [`PkiError::Tls`] with its context.
    pub(crate) fn tls(what: &'static str) -> impl FnOnce(rustls::Error) -> Self {
        move |source| Self::Tls { what, source }
    }
}
