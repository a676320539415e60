//! The realm chain: which realm gets which credentials, in Elasticsearch's order, behind the
//! brute-force lockout, with every outcome audited.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::lockout::{LockScope, Lockout, LockoutPolicy, Verdict};
use super::{Authentication, Credentials, ReservedRealm, ReservedUserLookup};
use crate::SecurityError;
use crate::audit::{AuditEvent, AuditSink, Origin};

/// The result of authenticating one request.
#[derive(Debug)]
pub enum Outcome {
    Success(Authentication),
    /// Refused; answer after `delay` (brute-force back-off).
    Failure {
        error: SecurityError,
        delay: Duration,
    },
}

/// Authenticates requests against the configured realms (today: the reserved realm).
pub struct Authenticator {
    reserved: ReservedRealm<Arc<dyn ReservedUserLookup>>,
    lockout: Lockout,
    audit: Arc<dyn AuditSink>,
}

impl<T: ReservedUserLookup + ?Sized> ReservedUserLookup for Arc<T> {
    fn reserved_user(&self, username: &str) -> Option<(super::PasswordHash, bool)> {
        (**self).reserved_user(username)
    }
}

impl Authenticator {
    pub fn new(
        reserved: Arc<dyn ReservedUserLookup>,
        lockout: LockoutPolicy,
        audit: Arc<dyn AuditSink>,
    ) -> Authenticator {
        Authenticator { reserved: ReservedRealm::new(reserved), lockout: Lockout::new(lockout), audit }
    }

    fn locked(&self, credentials: &Credentials, origin: &Origin) -> Option<Outcome> {
        match self.lockout.check(credentials.principal(), origin.address, Instant::now()) {
            Verdict::Allowed => None,
            Verdict::Locked { remaining, scope } => {
                self.audit.record(AuditEvent::AuthenticationFailed {
                    principal: credentials.principal().to_owned(),
                    origin: origin.clone(),
                });
                let who = match scope {
                    LockScope::UserFromAddress => {
                        format!("user [{}] from [{}]", credentials.principal(), origin.address)
                    }
                    LockScope::Address => format!("address [{}]", origin.address),
                };
                Some(Outcome::Failure {
                    error: SecurityError::LockedOut { who, seconds: remaining.as_secs().max(1) },
                    delay: Duration::ZERO,
                })
            }
        }
    }

    fn success(&self, a: Authentication, origin: &Origin) -> Outcome {
        self.lockout.success(&a.user.username, origin.address);
        self.audit.record(AuditEvent::AuthenticationSuccess {
            user: a.user.username.clone(),
            realm: a.authentication_realm.name.to_owned(),
            origin: origin.clone(),
        });
        Outcome::Success(a)
    }

    /// The fast path, cheap enough for an async executor: `Some` for a locked-out caller or for
    /// credentials verified recently; `None` means the full check is needed.
    pub fn authenticate_fast(&self, credentials: &Credentials, origin: &Origin) -> Option<Outcome> {
        if let Some(locked) = self.locked(credentials, origin) {
            return Some(locked);
        }
        let hit = match credentials {
            Credentials::Basic { username, password } => {
                self.reserved.authenticate_cached(username, password)
            }
            _ => None,
        };
        hit.map(|a| self.success(a, origin))
    }

    /// The full check; may run bcrypt, so call it off the async executor.
    pub fn authenticate(&self, credentials: &Credentials, origin: &Origin) -> Outcome {
        if let Some(locked) = self.locked(credentials, origin) {
            return locked;
        }
        let found = match credentials {
            Credentials::Basic { username, password } => self.reserved.authenticate(username, password),
            Credentials::ApiKey(_) | Credentials::Bearer(_) => None,
        };
        match found {
            Some(a) => self.success(a, origin),
            None => {
                let principal = credentials.principal().to_owned();
                self.audit.record(AuditEvent::AuthenticationFailed {
                    principal: principal.clone(),
                    origin: origin.clone(),
                });
                let (delay, started) = self.lockout.failure(&principal, origin.address, Instant::now());
                if let Some(s) = started {
                    self.audit.record(AuditEvent::Lockout {
                        user: s.user,
                        address: s.address,
                        scope: match s.scope {
                            LockScope::UserFromAddress => "user_from_address",
                            LockScope::Address => "address",
                        },
                        seconds: s.duration.as_secs(),
                    });
                }
                Outcome::Failure {
                    error: SecurityError::Unauthenticated { user: principal, path: origin.path.clone() },
                    delay,
                }
            }
        }
    }

    /// Forgets cached verifications for one user, or all.
    pub fn clear_cache(&self, username: Option<&str>) {
        self.reserved.clear_cache(username);
    }

    /// Records an event in the audit log.
    pub fn audit(&self, event: AuditEvent) {
        self.audit.record(event);
    }
}
