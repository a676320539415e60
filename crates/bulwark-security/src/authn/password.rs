//! Password hashes in Elasticsearch's formats: bcrypt (`$2a$`/`$2b$`/`$2y$`), `{PBKDF2}` and
//! `{PBKDF2_STRETCH}` (HMAC-SHA512). Verification picks the algorithm from the stored hash, so
//! hashes made with different settings coexist. All comparisons are constant-time.

use std::num::NonZeroU32;

use aws_lc_rs::{digest, pbkdf2};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bulwark_random::RandomError;
use bulwark_settings::values::PasswordHashing;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The alphabet of generated passwords: letters, digits and `_*-+=` (safe in shells and URLs
/// when quoted, and accepted by every client).
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_*-+=";

/// A random password of `len` characters from the OS CSPRNG, uniform over [`ALPHABET`].
pub fn generate_password(len: usize) -> Result<SecretString, RandomError> {
    let mut out = Zeroizing::new(String::with_capacity(len));
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % ALPHABET.len());
    while out.len() < len {
        let buf = Zeroizing::new(bulwark_random::bytes::<64>()?);
        for b in buf.iter() {
            if (*b as usize) < limit && out.len() < len {
                out.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(SecretString::from(out.as_str()))
}

/// A stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

impl PasswordHash {
    /// Wraps a stored hash string.
    pub fn from_stored(s: String) -> PasswordHash {
        PasswordHash(s)
    }

    /// The string to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Hashes `password` with `algorithm` and a fresh random salt. Slow by design: call off the
    /// async executor.
    pub fn create(password: &SecretString, algorithm: PasswordHashing) -> Result<PasswordHash, RandomError> {
        Ok(PasswordHash::salted(password, algorithm, &bulwark_random::bytes()?))
    }

    /// A hash of a fixed password with a fixed salt, that costs what a real one of `algorithm`
    /// costs to verify: spent where no user exists (never stored, its answer never used).
    pub(crate) fn dummy(algorithm: PasswordHashing) -> PasswordHash {
        PasswordHash::salted(&SecretString::from("no such user"), algorithm, &[0x5a; 32])
    }

    fn salted(password: &SecretString, algorithm: PasswordHashing, salt: &[u8; 32]) -> PasswordHash {
        let pw = password.expose_secret().as_bytes();
        match algorithm {
            PasswordHashing::Bcrypt { cost } => {
                let mut bcrypt_salt = [0u8; 16];
                bcrypt_salt.copy_from_slice(&salt[..16]);
                // bcrypt only fails for a cost outside 4..=31, which PasswordHashing rules out.
                let h =
                    bcrypt::hash_with_salt(pw, cost, bcrypt_salt).map(|h| h.to_string()).unwrap_or_default();
                PasswordHash(h)
            }
            PasswordHashing::Pbkdf2 { iterations } => {
                PasswordHash(pbkdf2_hash("{PBKDF2}", pw, iterations, salt))
            }
            PasswordHashing::Pbkdf2Stretch { iterations } => {
                let stretched = Zeroizing::new(stretch(pw));
                PasswordHash(pbkdf2_hash("{PBKDF2_STRETCH}", stretched.as_bytes(), iterations, salt))
            }
        }
    }

    /// Whether `password` matches. A hash in an unknown format never matches.
    pub fn verify(&self, password: &SecretString) -> bool {
        let pw = password.expose_secret().as_bytes();
        let s = self.0.as_str();
        if s.starts_with("$2") {
            bcrypt::verify(pw, s).unwrap_or(false)
        } else if let Some(rest) = s.strip_prefix("{PBKDF2_STRETCH}") {
            let stretched = Zeroizing::new(stretch(pw));
            pbkdf2_verify(rest, stretched.as_bytes())
        } else if let Some(rest) = s.strip_prefix("{PBKDF2}") {
            pbkdf2_verify(rest, pw)
        } else {
            false
        }
    }

    /// Whether the stored value is in a format [`verify`](Self::verify) understands.
    pub fn is_known_format(&self) -> bool {
        self.0.starts_with("$2") || self.0.starts_with("{PBKDF2}") || self.0.starts_with("{PBKDF2_STRETCH}")
    }
}

/// `PBKDF2_STRETCH` first replaces the password with the lowercase hex SHA-512 of its bytes.
fn stretch(pw: &[u8]) -> String {
    hex_lower(digest::digest(&digest::SHA512, pw).as_ref())
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn pbkdf2_hash(prefix: &str, pw: &[u8], iterations: u32, salt: &[u8; 32]) -> String {
    let mut key = Zeroizing::new([0u8; 32]);
    let iters = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA512, iters, salt, pw, key.as_mut());
    format!("{prefix}{iterations}${}${}", STANDARD.encode(salt), STANDARD.encode(key.as_ref()))
}

fn pbkdf2_verify(rest: &str, pw: &[u8]) -> bool {
    let mut parts = rest.split('$');
    let (Some(iters), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(iters), Ok(salt), Ok(expected)) =
        (iters.parse::<u32>(), STANDARD.decode(salt), STANDARD.decode(expected))
    else {
        return false;
    };
    let Some(iters) = NonZeroU32::new(iters) else { return false };
    if salt.len() < 8 || expected.is_empty() || expected.len() > 64 || iters.get() > 10_000_000 {
        return false;
    }
    let mut key = Zeroizing::new(vec![0u8; expected.len()]);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA512, iters, &salt, pw, &mut key);
    key.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips() {
        let pw = SecretString::from("correct horse battery");
        let wrong = SecretString::from("correct horse battery!");
        for alg in [
            PasswordHashing::Bcrypt { cost: 4 },
            PasswordHashing::Pbkdf2 { iterations: 1000 },
            PasswordHashing::Pbkdf2Stretch { iterations: 1000 },
        ] {
            let h = PasswordHash::create(&pw, alg).unwrap();
            assert!(h.is_known_format());
            assert_ne!(h, PasswordHash::create(&pw, alg).unwrap(), "{alg:?}: a fresh salt each time");
            assert!(bulwark_random::testing::failing(|| PasswordHash::create(&pw, alg)).is_err());
            assert!(!PasswordHash::dummy(alg).verify(&pw) && PasswordHash::dummy(alg).is_known_format());
            assert!(h.verify(&pw), "{alg:?}");
            assert!(!h.verify(&wrong), "{alg:?}");
        }
    }

    #[test]
    fn formats_match_elasticsearch() {
        let pw = SecretString::from("x".repeat(12));
        let h = PasswordHash::create(&pw, PasswordHashing::Pbkdf2 { iterations: 1000 }).unwrap();
        let parts: Vec<&str> = h.as_str().trim_start_matches("{PBKDF2}").split('$').collect();
        assert_eq!(parts[0], "1000");
        assert_eq!(STANDARD.decode(parts[1]).unwrap().len(), 32);
        assert!(
            PasswordHash::create(&pw, PasswordHashing::Bcrypt { cost: 4 })
                .unwrap()
                .as_str()
                .starts_with("$2b$04$")
        );
        // A jBCrypt-style `$2a$` hash (as Elasticsearch writes) verifies too.
        let b =
            bcrypt::hash_with_result("x".repeat(12), 4).unwrap().format_for_version(bcrypt::Version::TwoA);
        assert!(PasswordHash::from_stored(b).verify(&pw));
    }

    #[test]
    fn garbage_never_matches_or_panics() {
        let pw = SecretString::from("password");
        for s in ["", "$2", "{PBKDF2}", "{PBKDF2}0$$", "{PBKDF2}10$AAAA$AAAA", "{PBKDF2}x$y$z$w", "plain"] {
            assert!(!PasswordHash::from_stored(s.into()).verify(&pw), "{s}");
        }
        assert!(!format!("{:?}", PasswordHash::from_stored("secret".into())).contains("secret"));
    }

    #[test]
    fn generated_passwords() {
        let a = generate_password(20).unwrap();
        let b = generate_password(20).unwrap();
        assert_eq!(bulwark_random::testing::failing(|| generate_password(20)).err(), Some(RandomError));
        assert_eq!(a.expose_secret().len(), 20);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(a.expose_secret().bytes().all(|c| ALPHABET.contains(&c)));
    }
}
