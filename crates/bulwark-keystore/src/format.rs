//! The file format (see the crate documentation): header, key derivation, AES-256-GCM and the
//! SHA-256 trailer.

use std::io;
use std::num::NonZeroU32;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, SHA256_OUTPUT_LEN, digest};
use aws_lc_rs::pbkdf2;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::entries::{self, Entries, Reader};
use crate::error::IN_MEMORY;
use crate::{Keystore, KeystoreError};

/// The first four bytes of every keystore file.
const MAGIC: [u8; 4] = *b"BWKS";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// PBKDF2 iterations written on every save (OWASP's 2023 figure for PBKDF2-HMAC-SHA512).
pub const WRITE_ITERATIONS: u32 = 210_000;
/// Fewer iterations than this on read means the file was not written by us.
pub const MIN_ITERATIONS: u32 = 210_000;
/// More iterations than this on read is refused, so a crafted file cannot stall the reader.
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// The largest keystore file read (64 MiB); anything bigger is refused before it is read.
pub const MAX_FILE_LEN: usize = 64 << 20;

const SALT_LEN: usize = 32;
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// magic + version + has_password + iterations + salt + nonce + ciphertext length.
const HEADER_LEN: usize = 4 + 1 + 1 + 4 + SALT_LEN + NONCE_LEN + 4;
const MIN_FILE_LEN: usize = HEADER_LEN + TAG_LEN + SHA256_OUTPUT_LEN;

/// Decrypts and parses keystore bytes from any source, without ever panicking. Errors name
/// the path `<in-memory keystore>`; [`Keystore::load`] calls this and names its file instead.
/// This is the entry point for fuzzing the reader.
pub fn parse_untrusted(bytes: &[u8], password: &SecretString) -> Result<Keystore, KeystoreError> {
    let truncated = || KeystoreError::corrupted(format!("the file is truncated ({} bytes)", bytes.len()));
    if bytes.len() > MAX_FILE_LEN {
        return Err(KeystoreError::corrupted(format!(
            "the file is {} bytes, more than the {MAX_FILE_LEN}-byte limit",
            bytes.len()
        )));
    }
    let mut r = Reader::new(bytes);
    if r.array::<4>().ok_or_else(truncated)? != MAGIC {
        return Err(KeystoreError::corrupted("it is not a bulwark keystore (the magic bytes are wrong)"));
    }
    let version = r.u8().ok_or_else(truncated)?;
    if version != FORMAT_VERSION {
        return Err(KeystoreError::UnsupportedVersion {
            path: IN_MEMORY.into(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if bytes.len() < MIN_FILE_LEN {
        return Err(truncated());
    }
    let body_len = bytes.len().checked_sub(SHA256_OUTPUT_LEN).ok_or_else(truncated)?;
    let (body, trailer) = bytes.split_at_checked(body_len).ok_or_else(truncated)?;
    if digest(&SHA256, body).as_ref() != trailer {
        return Err(KeystoreError::corrupted("checksum mismatch"));
    }

    let has_password = match r.u8().ok_or_else(truncated)? {
        0 => false,
        1 => true,
        other => return Err(KeystoreError::corrupted(format!("invalid password flag {other}"))),
    };
    let iterations = r.u32().ok_or_else(truncated)?;
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err(KeystoreError::corrupted(format!(
            "{iterations} key-derivation iterations is outside {MIN_ITERATIONS}..={MAX_ITERATIONS}"
        )));
    }
    let salt = r.array::<SALT_LEN>().ok_or_else(truncated)?;
    let nonce = r.array::<NONCE_LEN>().ok_or_else(truncated)?;
    let ciphertext_len = r.u32().ok_or_else(truncated)?;
    let aad = body.get(..HEADER_LEN).ok_or_else(truncated)?;
    let ciphertext_len = usize::try_from(ciphertext_len)
        .ok()
        .filter(|n| n.checked_add(SHA256_OUTPUT_LEN) == Some(r.len()))
        .ok_or_else(|| {
            KeystoreError::corrupted(format!(
                "the ciphertext length {ciphertext_len} does not match the file size {}",
                bytes.len()
            ))
        })?;
    let ciphertext = r.take(ciphertext_len).ok_or_else(truncated)?;
    if ciphertext.len() < TAG_LEN {
        return Err(truncated());
    }

    let key = aead_key(password, &salt, iterations)?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let plain = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
        .map_err(|_| KeystoreError::WrongPassword { path: IN_MEMORY.into() })?;
    let entries = entries::decode(plain)?;
    Ok(Keystore::from_parts(entries, has_password))
}

/// Encrypts the entries into a complete file, with a fresh salt and nonce.
pub(crate) fn encode(entries: &Entries, password: &SecretString) -> io::Result<Vec<u8>> {
    let mut plain =
        entries::encode(entries, TAG_LEN).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let salt = bulwark_random::bytes::<SALT_LEN>()?;
    let nonce = bulwark_random::bytes::<NONCE_LEN>()?;
    let has_password = !password.expose_secret().is_empty();
    let ciphertext_len =
        plain.len().checked_add(TAG_LEN).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "keystore contents larger than 4 GiB")
        })?;

    let mut file = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN + SHA256_OUTPUT_LEN);
    file.extend_from_slice(&MAGIC);
    file.push(FORMAT_VERSION);
    file.push(u8::from(has_password));
    file.extend_from_slice(&WRITE_ITERATIONS.to_be_bytes());
    file.extend_from_slice(&salt);
    file.extend_from_slice(&nonce);
    file.extend_from_slice(&ciphertext_len.to_be_bytes());
    debug_assert_eq!(file.len(), HEADER_LEN);

    let key = aead_key(password, &salt, WRITE_ITERATIONS)
        .map_err(|_| io::Error::other("cannot set up AES-256-GCM"))?;
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&file[..]), &mut *plain)
        .map_err(|_| io::Error::other("AES-256-GCM encryption failed"))?;
    file.extend_from_slice(&plain);
    let checksum = digest(&SHA256, &file);
    file.extend_from_slice(checksum.as_ref());
    Ok(file)
}

/// A key this process derived: reading a keystore it has just written (a start reads the file
/// that enrollment or auto-configuration wrote a moment before, several times) uses it again
/// instead of running the 210,000 PBKDF2 iterations once more. Found only by the same salt,
/// iteration count and password (by its SHA-256); every save still draws a new salt, so a save
/// always derives. Zeroized when dropped.
struct Derived {
    salt: Vec<u8>,
    iterations: u32,
    password: Zeroizing<[u8; SHA256_OUTPUT_LEN]>,
    key: Zeroizing<[u8; KEY_LEN]>,
}

/// The last keys derived in this process (a handful: one keystore, re-saved a few times).
static DERIVED: std::sync::Mutex<Vec<Derived>> = std::sync::Mutex::new(Vec::new());
const DERIVED_KEPT: usize = 4;

/// PBKDF2-HMAC-SHA512 → AES-256-GCM key (see [`Derived`] for the keys kept in memory). The
/// derived bytes are zeroized after use.
fn aead_key(password: &SecretString, salt: &[u8], iterations: u32) -> Result<LessSafeKey, KeystoreError> {
    let bad_iterations = || KeystoreError::corrupted("zero key-derivation iterations");
    let rounds = NonZeroU32::new(iterations).ok_or_else(bad_iterations)?;
    let mut pw = Zeroizing::new([0u8; SHA256_OUTPUT_LEN]);
    pw.copy_from_slice(digest(&SHA256, password.expose_secret().as_bytes()).as_ref());
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let mut derived = DERIVED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let same_password = |d: &Derived| verify_slices_are_equal(&d.password[..], &pw[..]).is_ok();
    match derived.iter().find(|d| d.salt == salt && d.iterations == iterations && same_password(d)) {
        Some(d) => key.copy_from_slice(&d.key[..]),
        None => {
            pbkdf2::derive(
                pbkdf2::PBKDF2_HMAC_SHA512,
                rounds,
                salt,
                password.expose_secret().as_bytes(),
                &mut key[..],
            );
            if derived.len() >= DERIVED_KEPT {
                derived.remove(0);
            }
            derived.push(Derived { salt: salt.to_vec(), iterations, password: pw, key: key.clone() });
        }
    }
    drop(derived);
    let unbound = UnboundKey::new(&AES_256_GCM, &key[..])
        .map_err(|_| KeystoreError::corrupted("cannot set up AES-256-GCM"))?;
    Ok(LessSafeKey::new(unbound))
}

/// Reads the password flag from the first bytes of a file (not checksum-verified).
pub(crate) fn header_has_password(head: &[u8]) -> Result<bool, KeystoreError> {
    let mut r = Reader::new(head);
    let truncated = || KeystoreError::corrupted("the file is truncated (no complete header)");
    if r.array::<4>().ok_or_else(truncated)? != MAGIC {
        return Err(KeystoreError::corrupted("it is not a bulwark keystore (the magic bytes are wrong)"));
    }
    let version = r.u8().ok_or_else(truncated)?;
    if version != FORMAT_VERSION {
        return Err(KeystoreError::UnsupportedVersion {
            path: IN_MEMORY.into(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    match r.u8().ok_or_else(truncated)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(KeystoreError::corrupted(format!("invalid password flag {other}"))),
    }
}

/// Bytes [`header_has_password`] needs.
pub(crate) const FLAG_PREFIX_LEN: usize = 6;

#[cfg(test)]
pub(crate) mod offsets {
    //! Where the fields are, for tests that damage files on purpose.
    pub(crate) const VERSION: usize = 4;
    pub(crate) const FLAG: usize = 5;
    pub(crate) const ITERATIONS: usize = 6;
    pub(crate) const CIPHERTEXT_LEN: usize = 54;
    pub(crate) const HEADER: usize = super::HEADER_LEN;
    pub(crate) const TRAILER: usize = super::SHA256_OUTPUT_LEN;
}
