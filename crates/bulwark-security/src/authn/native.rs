//! The native realm: users created through the API, stored in the replicated store.

use std::sync::OnceLock;
use std::time::Duration;

use bulwark_settings::values::PasswordHashing;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{Authentication, PasswordHash, RealmRef, SecurityLookup, User, VerifyCache};

/// A native user as stored (the store entry's value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeUser {
    /// The password hash, in the format of the algorithm that made it (never shown).
    pub password_hash: String,
    /// Its roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Its full name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// Its email.
    #[serde(default)]
    pub email: Option<String>,
    /// `metadata` as given.
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Whether it may authenticate.
    pub enabled: bool,
}

impl RealmRef {
    /// The native realm.
    pub const NATIVE: RealmRef = RealmRef { name: "default_native", realm_type: "native" };
}

/// Authenticates native users, with a verify cache.
pub struct NativeRealm {
    cache: VerifyCache,
    /// How new passwords are hashed: an unknown or disabled user is checked against a hash of
    /// the same cost, so that a failure takes as long whether or not the user exists.
    algorithm: PasswordHashing,
    dummy: OnceLock<PasswordHash>,
}

impl Default for NativeRealm {
    fn default() -> Self {
        NativeRealm::new(PasswordHashing::Bcrypt { cost: 10 })
    }
}

impl NativeRealm {
    /// A realm whose failures cost what verifying a password hashed with `algorithm` costs.
    pub fn new(algorithm: PasswordHashing) -> NativeRealm {
        NativeRealm {
            cache: VerifyCache::new(Duration::from_secs(20 * 60), 100_000),
            algorithm,
            dummy: OnceLock::new(),
        }
    }

    /// Spends the time a real verification would (its answer is always false).
    fn verify_nobody(&self, password: &SecretString) {
        let dummy = self.dummy.get_or_init(|| PasswordHash::dummy(self.algorithm));
        let _ = std::hint::black_box(dummy.verify(password));
    }

    fn authentication(username: &str, u: NativeUser) -> Authentication {
        Authentication::realm(
            User {
                username: username.to_owned(),
                roles: u.roles,
                full_name: u.full_name,
                email: u.email,
                enabled: u.enabled,
            },
            RealmRef::NATIVE,
        )
    }

    /// The fast path: `Some` for an enabled user verified recently.
    pub fn authenticate_cached(
        &self,
        lookup: &dyn SecurityLookup,
        username: &str,
        password: &SecretString,
    ) -> Option<Authentication> {
        let u = lookup.native_user(username).filter(|u| u.enabled)?;
        self.cache.hit(username, password).then(|| Self::authentication(username, u))
    }

    /// The full check (bcrypt: off the async executor).
    pub fn authenticate(
        &self,
        lookup: &dyn SecurityLookup,
        username: &str,
        password: &SecretString,
    ) -> Option<Authentication> {
        let Some(u) = lookup.native_user(username).filter(|u| u.enabled) else {
            self.verify_nobody(password);
            return None;
        };
        if PasswordHash::from_stored(u.password_hash.clone()).verify(password) {
            self.cache.insert(username, password);
            Some(Self::authentication(username, u))
        } else {
            None
        }
    }

    /// Forgets cached verifications.
    pub fn clear_cache(&self, username: Option<&str>) {
        self.cache.invalidate(username);
    }
}
