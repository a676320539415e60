//! [`Keystore`]: the secure settings in memory, and loading and saving them.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::entries::{self, Entries};
use crate::format::{self, FLAG_PREFIX_LEN, MAX_FILE_LEN};
use crate::{KeystoreError, atomic, seed};

/// Secure settings: setting name → secret bytes. Values are zeroized when dropped, and
/// `Debug` prints only the names.
pub struct Keystore {
    entries: Entries,
    has_password: bool,
}

impl Keystore {
    /// An empty keystore holding only a fresh random `keystore.seed`.
    pub fn new() -> Result<Keystore, KeystoreError> {
        let mut ks = Keystore { entries: Entries::new(), has_password: false };
        ks.add_seed_if_missing()?;
        Ok(ks)
    }

    pub(crate) fn from_parts(entries: Entries, has_password: bool) -> Keystore {
        Keystore { entries, has_password }
    }

    /// Whether a keystore file exists at `path`.
    pub fn exists(path: &Path) -> bool {
        path.exists()
    }

    /// Whether the keystore at `path` is protected by a non-empty password. Reads only the
    /// first bytes of the header; no password is needed, and the rest of the file is not
    /// checked (a later [`Keystore::load`] does that).
    pub fn is_password_protected(path: &Path) -> Result<bool, KeystoreError> {
        let file = open(path)?;
        let mut head = Vec::with_capacity(FLAG_PREFIX_LEN);
        file.take(FLAG_PREFIX_LEN as u64)
            .read_to_end(&mut head)
            .map_err(|source| KeystoreError::Io { path: path.to_path_buf(), source })?;
        format::header_has_password(&head).map_err(|e| e.with_path(path))
    }

    /// Reads, verifies and decrypts the keystore at `path`. For a keystore without a password,
    /// pass an empty password.
    pub fn load(path: &Path, password: &SecretString) -> Result<Keystore, KeystoreError> {
        let file = open(path)?;
        let io_err = |source| KeystoreError::Io { path: path.to_path_buf(), source };
        let len = file.metadata().map_err(io_err)?.len();
        if len > MAX_FILE_LEN as u64 {
            return Err(KeystoreError::Corrupted {
                path: path.to_path_buf(),
                reason: format!("the file is {len} bytes, more than the {MAX_FILE_LEN}-byte limit"),
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_FILE_LEN as u64 + 1).read_to_end(&mut bytes).map_err(io_err)?;
        format::parse_untrusted(&bytes, password).map_err(|e| e.with_path(path))
    }

    /// Encrypts the keystore under `password` (empty: no password) and replaces the file at
    /// `path` atomically; the file has mode 0600. A new salt and nonce are drawn every time.
    /// The directory must exist.
    pub fn save(&self, path: &Path, password: &SecretString) -> Result<(), KeystoreError> {
        let io_err = |source| KeystoreError::Io { path: path.to_path_buf(), source };
        let bytes = format::encode(&self.entries, password).map_err(io_err)?;
        atomic::write(path, &bytes).map_err(io_err)
    }

    /// Whether this keystore was read from a password-protected file.
    pub fn has_password(&self) -> bool {
        self.has_password
    }

    /// The setting names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// How many settings the keystore holds (the seed included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the keystore holds no settings at all (not even a seed).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the setting `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries.get(name).map(|v| v.as_slice())
    }

    /// The value of `name` as a string; `None` if absent or not UTF-8.
    pub fn get_string(&self, name: &str) -> Option<SecretString> {
        let value = self.entries.get(name)?;
        std::str::from_utf8(value).ok().map(SecretString::from)
    }

    /// Adds or replaces a setting. The name must match `[A-Za-z0-9_\-.]+`.
    pub fn set(&mut self, name: &str, value: Zeroizing<Vec<u8>>) -> Result<(), KeystoreError> {
        if !entries::is_valid_name(name) {
            return Err(KeystoreError::InvalidName { name: name.to_owned() });
        }
        self.entries.insert(name.to_owned(), value);
        Ok(())
    }

    /// Removes a setting; returns whether it was present.
    pub fn remove(&mut self, name: &str) -> bool {
        self.entries.remove(name).is_some()
    }

    /// Adds a fresh random `keystore.seed` unless one is present; returns whether it added one.
    pub fn add_seed_if_missing(&mut self) -> Result<bool, KeystoreError> {
        if self.contains(seed::SEED_SETTING) {
            return Ok(false);
        }
        let value = seed::generate()?;
        self.entries.insert(seed::SEED_SETTING.to_owned(), value);
        Ok(true)
    }
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("names", &self.entries.keys().collect::<Vec<_>>())
            .field("has_password", &self.has_password)
            .finish_non_exhaustive()
    }
}

fn open(path: &Path) -> Result<File, KeystoreError> {
    File::open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            KeystoreError::NotFound { path: path.to_path_buf() }
        } else {
            KeystoreError::Io { path: path.to_path_buf(), source }
        }
    })
}

#[cfg(test)]
mod tests;
