//! The encrypted keystore of secure settings (`config/bulwark.keystore`).
//!
//! A keystore maps setting names (`[A-Za-z0-9_\-.]+`) to secret byte strings. It is our own
//! format, modelled on Elasticsearch's `elasticsearch.keystore` but not byte-compatible with it:
//! Elasticsearch wraps its data in Lucene's codec header and footer (CRC32) and derives a
//! 128-bit key; we use a SHA-256 trailer and a 256-bit key, and authenticate the whole header.
//!
//! # File format, version 1
//!
//! All integers are big-endian.
//!
//! ```text
//! offset  size  field
//! 0       4     magic b"BWKS"
//! 4       1     format version = 1
//! 5       1     has_password: 0 or 1 (whether a non-empty password protects the file)
//! 6       4     PBKDF2 iterations (written: 210,000; accepted: 210,000..=10,000,000)
//! 10      32    salt (random, new on every save)
//! 42      12    AES-GCM nonce (random, new on every save)
//! 54      4     ciphertext length n (including the 16-byte tag)
//! 58      n     AES-256-GCM ciphertext || tag; AAD = bytes 0..58 (the whole header)
//! 58+n    32    SHA-256 of bytes 0..58+n
//! ```
//!
//! Key: PBKDF2-HMAC-SHA512(password as UTF-8, salt, iterations), 32 bytes. An empty password
//! is allowed (the default, as in Elasticsearch): the file is then obfuscated, not protected,
//! and its secrecy rests on the file's 0600 mode. The 210,000 iterations take about a third of a
//! second on a loaded host, so a process keeps the last few keys it derived (by salt,
//! iterations and the password's SHA-256) and reads the file it has just written without
//! deriving again; a save always draws a new salt, and so always derives.
//!
//! Plaintext:
//!
//! ```text
//! u32 entry count
//! per entry, sorted by name, names unique:
//!     u16 name length, name (UTF-8, [A-Za-z0-9_\-.]+)
//!     u32 value length, value bytes
//! ```
//!
//! # Why the checks run in this order
//!
//! Reading checks the magic and the version first (so a file from a newer release gets a
//! "supported versions" error, not a "corrupted" one), then the SHA-256 trailer (any accidental
//! or careless change becomes "corrupted"), and only then decrypts: once the checksum holds, a
//! failing GCM tag can only mean a wrong password (or a deliberate forgery, which the tag stops
//! just as well). The plaintext is parsed strictly: any length that does not add up, trailing
//! bytes or duplicate names make the file corrupted. Nothing derived from the file can panic.
//!
//! # Writing
//!
//! [`Keystore::save`] writes a temporary file in the keystore's directory (created with
//! `O_EXCL` and mode 0600), syncs it, renames it over the keystore and syncs the directory, so
//! a crash leaves either the old or the new keystore, never a mixture.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod atomic;
mod crash;
mod entries;
mod error;
mod format;
mod keystore;
mod seed;

pub use crash::{CRASH_AT_ENV, crash_point};
pub use error::KeystoreError;
pub use format::{
    FORMAT_VERSION, MAX_FILE_LEN, MAX_ITERATIONS, MIN_ITERATIONS, WRITE_ITERATIONS, parse_untrusted,
};
pub use keystore::Keystore;
pub use seed::SEED_SETTING;
