//! The native realm: users created through the API, stored in the replicated store.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{Authentication, PasswordHash, RealmRef, SecurityLookup, User, VerifyCache};

/// A native user as stored (the store entry's value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeUser {
    pub password_hash: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub enabled: bool,
}

impl RealmRef {
    /// The native realm.
    pub const NATIVE: RealmRef = RealmRef { name: "default_native", realm_type: "native" };
}

/// Authenticates native users, with a verify cache.
pub struct NativeRealm {
    cache: VerifyCache,
}

impl Default for NativeRealm {
    fn default() -> Self {
        NativeRealm { cache: VerifyCache::new(Duration::from_secs(20 * 60), 100_000) }
    }
}

impl NativeRealm {
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
        let u = lookup.native_user(username).filter(|u| u.enabled)?;
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
