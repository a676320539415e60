//! The verify cache: a successful password check is remembered, keyed by a salted SHA-256 of
//! (user, password), so a repeated request costs a hash instead of a bcrypt run. Bounded in size,
//! entries live 20 minutes by default (Elasticsearch's `cache.ttl`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// A bounded cache of successful authentications.
pub struct VerifyCache {
    /// `None` when no salt could be drawn: then the cache remembers nothing (every check is a
    /// full verification) rather than keying entries by a predictable salt.
    salt: Option<[u8; 32]>,
    ttl: Duration,
    max: usize,
    entries: Mutex<HashMap<String, ([u8; 32], Instant)>>,
}

impl VerifyCache {
    /// A cache of at most `max` users, each entry valid for `ttl`.
    pub fn new(ttl: Duration, max: usize) -> VerifyCache {
        let salt = bulwark_random::bytes::<32>().ok();
        VerifyCache { salt, ttl, max, entries: Mutex::new(HashMap::new()) }
    }

    fn key(&self, salt: &[u8; 32], user: &str, password: &SecretString) -> [u8; 32] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(salt);
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password.expose_secret().as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// Whether (user, password) was verified recently.
    pub fn hit(&self, user: &str, password: &SecretString) -> bool {
        let Some(salt) = &self.salt else { return false };
        let k = self.key(salt, user, password);
        let Ok(map) = self.entries.lock() else { return false };
        match map.get(user) {
            Some((h, at)) if at.elapsed() < self.ttl => h.ct_eq(&k).into(),
            _ => false,
        }
    }

    /// Records a successful verification.
    pub fn insert(&self, user: &str, password: &SecretString) {
        let Some(salt) = &self.salt else { return };
        let k = self.key(salt, user, password);
        let Ok(mut map) = self.entries.lock() else { return };
        if map.len() >= self.max && !map.contains_key(user) {
            let ttl = self.ttl;
            map.retain(|_, (_, at)| at.elapsed() < ttl);
            if map.len() >= self.max {
                // Still full of live entries: drop an arbitrary one rather than grow.
                if let Some(victim) = map.keys().next().cloned() {
                    map.remove(&victim);
                }
            }
        }
        map.insert(user.to_owned(), (k, Instant::now()));
    }

    /// Forgets one user (password changed, user disabled) or everyone.
    pub fn invalidate(&self, user: Option<&str>) {
        if let Ok(mut map) = self.entries.lock() {
            match user {
                Some(u) => {
                    map.remove(u);
                }
                None => map.clear(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_salt_nothing_is_remembered() {
        let c = bulwark_random::testing::failing(|| VerifyCache::new(Duration::from_secs(60), 2));
        let pw = SecretString::from("pw");
        c.insert("u", &pw);
        assert!(!c.hit("u", &pw));
    }

    #[test]
    fn hits_only_the_same_password_within_ttl() {
        let c = VerifyCache::new(Duration::from_secs(60), 2);
        let pw = SecretString::from("pw-one");
        assert!(!c.hit("a", &pw));
        c.insert("a", &pw);
        assert!(c.hit("a", &pw));
        assert!(!c.hit("a", &SecretString::from("pw-two")));
        assert!(!c.hit("b", &pw));
        c.invalidate(Some("a"));
        assert!(!c.hit("a", &pw));
        let expired = VerifyCache::new(Duration::ZERO, 2);
        expired.insert("a", &pw);
        assert!(!expired.hit("a", &pw));
    }

    #[test]
    fn stays_bounded() {
        let c = VerifyCache::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            c.insert(&format!("u{i}"), &SecretString::from("p"));
        }
        assert!(c.entries.lock().unwrap().len() <= 3);
        assert!(c.hit("u9", &SecretString::from("p")));
    }
}
