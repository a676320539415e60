//! The one error type of this crate. No variant ever carries a secret value.

use std::path::{Path, PathBuf};

/// What went wrong with a keystore, with the file it concerns and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The keystore file does not exist.
    #[error("keystore not found at [{}]; run `bulwark keystore create` first", path.display())]
    NotFound {
        /// The keystore file.
        path: PathBuf,
    },

    /// Reading or writing the file (or its directory) failed.
    #[error(
        "cannot read or write keystore [{}] (check that its directory exists and that this user \
         owns the file and may write the directory)",
        path.display()
    )]
    Io {
        /// The keystore file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },

    /// The file is intact (its checksum holds) but does not decrypt with the given password.
    #[error(
        "the password for keystore [{}] is wrong (set KEYSTORE_PASSWORD or enter it at the prompt)",
        path.display()
    )]
    WrongPassword {
        /// The keystore file.
        path: PathBuf,
    },

    /// A fresh seed, salt or nonce could not be drawn.
    #[error("cannot make keystore secrets: {0}")]
    Random(
        #[from]
        #[doc = "Why no random bytes could be drawn."]
        bulwark_random::RandomError,
    ),

    /// The file is damaged, truncated, not a keystore, or was changed by someone else.
    #[error(
        "keystore [{}] is corrupted or has been tampered with: {reason}; restore it from a backup \
         or recreate it with `bulwark keystore create`",
        path.display()
    )]
    Corrupted {
        /// The keystore file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The file was written in a format version this build does not read.
    #[error(
        "keystore [{}] has format version {found}, but this build of bulwark reads only version \
         {supported}; open it with the bulwark release that wrote it, or recreate it with \
         `bulwark keystore create`",
        path.display()
    )]
    UnsupportedVersion {
        /// The keystore file.
        path: PathBuf,
        /// The version in the file.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },

    /// A setting name outside `[A-Za-z0-9_\-.]+` (or longer than 65,535 bytes).
    #[error(
        "invalid secure setting name [{name}]: a name must be 1 to 65535 characters from \
         A-Z, a-z, 0-9, '_', '-' and '.'"
    )]
    InvalidName {
        /// The name given.
        name: String,
    },
}

/// The path named in errors from [`crate::parse_untrusted`], which has no file.
pub(crate) const IN_MEMORY: &str = "<in-memory keystore>";

impl KeystoreError {
    /// An error about bytes that did not come from a file yet.
    pub(crate) fn corrupted(reason: impl Into<String>) -> KeystoreError {
        KeystoreError::Corrupted { path: PathBuf::from(IN_MEMORY), reason: reason.into() }
    }

    /// Replaces the path an error names (errors from parsing bytes name [`IN_MEMORY`]).
    pub(crate) fn with_path(self, file: &Path) -> KeystoreError {
        let path = file.to_path_buf();
        match self {
            KeystoreError::NotFound { .. } => KeystoreError::NotFound { path },
            KeystoreError::Io { source, .. } => KeystoreError::Io { path, source },
            KeystoreError::WrongPassword { .. } => KeystoreError::WrongPassword { path },
            KeystoreError::Corrupted { reason, .. } => KeystoreError::Corrupted { path, reason },
            KeystoreError::UnsupportedVersion { found, supported, .. } => {
                KeystoreError::UnsupportedVersion { path, found, supported }
            }
            e @ (KeystoreError::InvalidName { .. } | KeystoreError::Random(_)) => e,
        }
    }
}
