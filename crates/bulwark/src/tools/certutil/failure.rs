//! Exit codes for errors from the PKI library, with the context the user needs.

use std::fmt::Display;

use bulwark_pki::PkiError;

use crate::exit::{self, fail};

/// Wraps a PKI error as a tool failure: bad input from the user is a usage error (64), unreadable
/// or mismatched material a data error (65), a file-system problem an I/O error (74).
pub fn pki(context: impl Display, e: PkiError) -> anyhow::Error {
    let code = match &e {
        PkiError::InvalidRequest(_) | PkiError::InvalidDn { .. } | PkiError::UnsupportedRsaBits(_) => {
            exit::USAGE
        }
        PkiError::Io { .. } => exit::IO_ERROR,
        PkiError::WrongPassword
        | PkiError::P12Parse(_)
        | PkiError::Pem(_)
        | PkiError::KeyParse(_)
        | PkiError::CertParse(_)
        | PkiError::EncryptedKey
        | PkiError::KeyMismatch { .. }
        | PkiError::NotACa { .. }
        | PkiError::NoKeyInP12
        | PkiError::AmbiguousKeyInP12 { .. }
        | PkiError::NoSuchAlias { .. }
        | PkiError::P12Entry { .. }
        | PkiError::CsrParse(_)
        | PkiError::CsrSignature(_)
        | PkiError::CsrRefused(_)
        | PkiError::CrlParse(_) => exit::DATA_ERROR,
        _ => 1,
    };
    fail(code, format!("{context}: {e}"))
}
