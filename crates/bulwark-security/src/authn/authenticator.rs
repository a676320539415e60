//! The realm chain: which realm gets which credentials, in Elasticsearch's order.

use std::sync::Arc;

use super::{Authentication, Credentials, ReservedRealm, ReservedUserLookup};
use crate::SecurityError;

/// Authenticates requests against the configured realms (today: the reserved realm).
pub struct Authenticator {
    reserved: ReservedRealm<Arc<dyn ReservedUserLookup>>,
}

impl<T: ReservedUserLookup + ?Sized> ReservedUserLookup for Arc<T> {
    fn reserved_user(&self, username: &str) -> Option<(super::PasswordHash, bool)> {
        (**self).reserved_user(username)
    }
}

impl Authenticator {
    pub fn new(reserved: Arc<dyn ReservedUserLookup>) -> Authenticator {
        Authenticator { reserved: ReservedRealm::new(reserved) }
    }

    /// The fast path, cheap enough for an async executor: `Some` only for credentials verified
    /// recently.
    pub fn authenticate_cached(&self, credentials: &Credentials) -> Option<Authentication> {
        match credentials {
            Credentials::Basic { username, password } => {
                self.reserved.authenticate_cached(username, password)
            }
            _ => None,
        }
    }

    /// The full check; may run bcrypt, so call it off the async executor. `path` is only used
    /// in the error message.
    pub fn authenticate(
        &self,
        credentials: &Credentials,
        path: &str,
    ) -> Result<Authentication, SecurityError> {
        let failed = || SecurityError::Unauthenticated {
            user: credentials.principal().to_owned(),
            path: path.to_owned(),
        };
        match credentials {
            Credentials::Basic { username, password } => {
                self.reserved.authenticate(username, password).ok_or_else(failed)
            }
            Credentials::ApiKey(_) | Credentials::Bearer(_) => Err(failed()),
        }
    }

    /// Forgets cached verifications for one user, or all.
    pub fn clear_cache(&self, username: Option<&str>) {
        self.reserved.clear_cache(username);
    }
}
