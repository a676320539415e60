//! The reserved realm: built-in users (`elastic`, `kibana_system`, ...), always first in the chain.

use std::time::Duration;

use secrecy::SecretString;

use super::{Authentication, PasswordHash, RealmRef, User, VerifyCache};

/// Built-in users and their roles, as Elasticsearch defines them.
pub const RESERVED_USERS: &[(&str, &[&str])] = &[
    ("elastic", &["superuser"]),
    ("kibana_system", &["kibana_system"]),
    ("logstash_system", &["logstash_system"]),
    ("beats_system", &["beats_system"]),
    ("apm_system", &["apm_system"]),
    ("remote_monitoring_user", &["remote_monitoring_collector", "remote_monitoring_agent"]),
];

/// Where the reserved realm finds passwords: implemented by the node over its store.
pub trait ReservedUserLookup: Send + Sync {
    /// The stored password hash and enabled flag of a reserved user; `None` when no password
    /// has been set (such a user cannot log in).
    fn reserved_user(&self, username: &str) -> Option<(PasswordHash, bool)>;
}

/// Authenticates built-in users against the stored hashes, with a verify cache.
pub struct ReservedRealm<L> {
    lookup: L,
    cache: VerifyCache,
}

impl<L: ReservedUserLookup> ReservedRealm<L> {
    /// The reserved realm reading stored passwords through `lookup`.
    pub fn new(lookup: L) -> Self {
        ReservedRealm { lookup, cache: VerifyCache::new(Duration::from_secs(20 * 60), 100_000) }
    }

    /// Whether this realm owns `username`.
    pub fn owns(username: &str) -> bool {
        RESERVED_USERS.iter().any(|(u, _)| *u == username)
    }

    fn authentication(&self, username: &str) -> Authentication {
        let roles = RESERVED_USERS
            .iter()
            .find(|(u, _)| *u == username)
            .map(|(_, r)| r.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default();
        Authentication {
            user: User { username: username.to_owned(), roles, full_name: None, email: None, enabled: true },
            authentication_realm: RealmRef::RESERVED,
            lookup_realm: RealmRef::RESERVED,
            authentication_type: "realm",
            token: None,
            api_key: None,
            pki_dn: None,
        }
    }

    fn enabled(&self, username: &str) -> Option<PasswordHash> {
        match self.lookup.reserved_user(username) {
            Some((hash, true)) => Some(hash),
            _ => None,
        }
    }

    /// The fast path: `Some` when these credentials were verified recently and the user is
    /// still enabled. Cheap enough for the async executor.
    pub fn authenticate_cached(&self, username: &str, password: &SecretString) -> Option<Authentication> {
        self.enabled(username)?;
        self.cache.hit(username, password).then(|| self.authentication(username))
    }

    /// The full check (bcrypt: run it off the async executor). `None` on failure.
    pub fn authenticate(&self, username: &str, password: &SecretString) -> Option<Authentication> {
        let hash = self.enabled(username)?;
        if hash.verify(password) {
            self.cache.insert(username, password);
            Some(self.authentication(username))
        } else {
            None
        }
    }

    /// Forgets cached verifications (after a password change).
    pub fn clear_cache(&self, username: Option<&str>) {
        self.cache.invalidate(username);
    }
}

#[cfg(test)]
mod tests {
    use bulwark_settings::values::PasswordHashing;

    use super::*;

    struct One(PasswordHash, bool);
    impl ReservedUserLookup for One {
        fn reserved_user(&self, u: &str) -> Option<(PasswordHash, bool)> {
            (u == "elastic").then(|| (self.0.clone(), self.1))
        }
    }

    #[test]
    fn elastic_authenticates_as_superuser() {
        let pw = SecretString::from("a-long-password");
        let realm = ReservedRealm::new(One(
            PasswordHash::create(&pw, PasswordHashing::Bcrypt { cost: 4 }).unwrap(),
            true,
        ));
        assert!(realm.authenticate_cached("elastic", &pw).is_none());
        let a = realm.authenticate("elastic", &pw).unwrap();
        assert_eq!(a.user.roles, vec!["superuser"]);
        assert_eq!(a.authentication_realm.name, "reserved");
        assert!(realm.authenticate_cached("elastic", &pw).is_some());
        assert!(realm.authenticate("elastic", &SecretString::from("nope")).is_none());
        assert!(realm.authenticate("kibana_system", &pw).is_none(), "no password set yet");
        assert!(ReservedRealm::<One>::owns("beats_system") && !ReservedRealm::<One>::owns("bob"));
    }

    #[test]
    fn disabled_user_fails_even_when_cached() {
        let pw = SecretString::from("a-long-password");
        let realm = ReservedRealm::new(One(
            PasswordHash::create(&pw, PasswordHashing::Bcrypt { cost: 4 }).unwrap(),
            false,
        ));
        assert!(realm.authenticate("elastic", &pw).is_none());
    }
}
