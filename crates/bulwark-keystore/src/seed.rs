//! `keystore.seed`: a random value every keystore carries, as Elasticsearch's does.

use zeroize::Zeroizing;

/// The name of the seed setting added on create and upgrade.
pub const SEED_SETTING: &str = "keystore.seed";

/// Characters a seed is drawn from (Elasticsearch's password alphabet).
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~!@#$%^&*-_=+?";
const SEED_LEN: usize = 20;

/// A new 20-character seed from the system RNG, without modulo bias (random bytes at or above
/// the largest multiple of the alphabet size are drawn again).
pub(crate) fn generate() -> Result<Zeroizing<Vec<u8>>, bulwark_random::RandomError> {
    let n = ALPHABET.len();
    let limit = 256 - 256 % n;
    let mut seed = Zeroizing::new(Vec::with_capacity(SEED_LEN));
    let mut buf = Zeroizing::new([0u8; 64]);
    while seed.len() < SEED_LEN {
        bulwark_random::fill(&mut buf[..])?;
        for &b in buf.iter() {
            if usize::from(b) < limit
                && seed.len() < SEED_LEN
                && let Some(&c) = ALPHABET.get(usize::from(b) % n)
            {
                seed.push(c);
            }
        }
    }
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_20_alphabet_chars_and_differ() {
        assert_eq!(ALPHABET.len(), 76);
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), 20);
        assert!(a.iter().all(|c| ALPHABET.contains(c)));
        assert_ne!(*a, *b);
    }
}
