//! The realm chain: which realm gets which credentials, in Elasticsearch's order, behind the
//! brute-force lockout, with every outcome audited.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::access_token::{ParsedAccessToken, TokenKind, TokenSubject, verify_nothing};
use super::lockout::{LockScope, Lockout, LockoutPolicy, Verdict};
use super::{
    Authentication, Credentials, FileRealm, NativeRealm, ReloadOutcome, ReservedRealm, ReservedUserLookup,
    SecurityLookup, ServiceAccountToken, ServiceTokenRealm, TokenInfo, VerifyCache, decode_api_key,
    now_millis, verify_api_key_secret,
};
use crate::SecurityError;
use crate::audit::{AuditEvent, AuditSink, Origin};

/// The result of authenticating one request.
#[derive(Debug)]
// Success is the common case: boxing it would allocate on every request to shrink the rare one.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// Authenticated.
    Success(Authentication),
    /// Refused; answer after `delay` (brute-force back-off).
    Failure {
        /// Why.
        error: SecurityError,
        /// How long to wait before answering.
        delay: Duration,
    },
}

/// Where the file-based realms read from.
#[derive(Debug, Clone)]
pub struct RealmFiles {
    /// `config/users`.
    pub users: PathBuf,
    /// `config/users_roles`.
    pub users_roles: PathBuf,
    /// `config/service_tokens`.
    pub service_tokens: PathBuf,
}

/// Why known credentials were refused (unknown ones are refused without a reason).
enum Refusal {
    /// Said in the 401's reason.
    Reason(String),
    /// An access token that expired or was invalidated: Elasticsearch's "token expired".
    TokenExpired,
}

/// Authenticates requests against the realms, in Elasticsearch's order: reserved, file and
/// native for `Basic`; API keys for `ApiKey`; access tokens, then service-account tokens (file,
/// then stored) for `Bearer`.
pub struct Authenticator {
    lookup: Arc<dyn SecurityLookup>,
    reserved: ReservedRealm<Arc<dyn SecurityLookup>>,
    native: NativeRealm,
    file: RwLock<FileRealm>,
    file_tokens: RwLock<ServiceTokenRealm>,
    stored_token_cache: VerifyCache,
    files: Option<RealmFiles>,
    lockout: Lockout,
    audit: Arc<dyn AuditSink>,
    /// `xpack.security.authc.api_key.enabled`: when false, no API key authenticates.
    api_keys: bool,
    /// Configured PKI realms, by `order`; empty: client certificates authenticate nobody.
    pki: Vec<super::PkiRealm>,
    /// `xpack.security.authc.token.enabled`: when false, no access token authenticates.
    tokens: bool,
}

impl<T: ReservedUserLookup + ?Sized> ReservedUserLookup for Arc<T> {
    fn reserved_user(&self, username: &str) -> Option<(super::PasswordHash, bool)> {
        (**self).reserved_user(username)
    }
}

impl Authenticator {
    /// An authenticator over stored entries and (when `files` is given) the file realms, whose
    /// load errors are returned as messages to log.
    pub fn new(
        lookup: Arc<dyn SecurityLookup>,
        files: Option<RealmFiles>,
        lockout: LockoutPolicy,
        audit: Arc<dyn AuditSink>,
    ) -> (Authenticator, Vec<String>) {
        let a = Authenticator {
            reserved: ReservedRealm::new(lookup.clone()),
            lookup,
            native: NativeRealm::default(),
            file: RwLock::new(FileRealm::new(Default::default(), Default::default())),
            file_tokens: RwLock::new(ServiceTokenRealm::new(Default::default())),
            stored_token_cache: VerifyCache::new(Duration::from_secs(20 * 60), 100_000),
            files,
            lockout: Lockout::new(lockout),
            audit,
            api_keys: true,
            pki: Vec::new(),
            tokens: true,
        };
        let messages = a.reload_realm_files();
        (a, messages)
    }

    /// Sets how passwords are hashed, so that failed logins of unknown users cost what a
    /// stored hash's verification costs (`xpack.security.authc.password_hashing.algorithm`).
    #[must_use]
    pub fn with_password_hashing(
        mut self,
        algorithm: bulwark_settings::values::PasswordHashing,
    ) -> Authenticator {
        self.native = NativeRealm::new(algorithm);
        self
    }

    /// Turns API key authentication on or off (`xpack.security.authc.api_key.enabled`).
    #[must_use]
    pub fn with_api_keys(mut self, enabled: bool) -> Authenticator {
        self.api_keys = enabled;
        self
    }

    /// Turns access-token authentication on or off (`xpack.security.authc.token.enabled`).
    #[must_use]
    pub fn with_tokens(mut self, enabled: bool) -> Authenticator {
        self.tokens = enabled;
        self
    }

    /// Adds the configured PKI realms (enabled ones only; sorted by `order`).
    pub fn with_pki_realms(mut self, mut realms: Vec<super::PkiRealm>) -> Authenticator {
        realms.sort_by_key(super::PkiRealm::order);
        self.pki = realms;
        self
    }

    /// Whether any PKI realm is configured (a client certificate can authenticate).
    pub fn has_pki_realms(&self) -> bool {
        !self.pki.is_empty()
    }

    /// Re-reads `config/users`, `config/users_roles` and `config/service_tokens` when they
    /// changed; returns what to log (a broken file keeps the previous contents).
    pub fn reload_realm_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        for realm in &self.pki {
            match realm.reload_role_mapping_file() {
                Ok(Some(m)) | Err(m) => out.push(m),
                Ok(None) => {}
            }
        }
        let Some(f) = &self.files else { return out };
        if let Ok(mut realm) = self.file.write() {
            match realm.reload_if_changed(&f.users, &f.users_roles) {
                Ok(ReloadOutcome::Reloaded(warnings)) => {
                    out.push(format!("file realm loaded: {} users", realm.users().len()));
                    out.extend(warnings);
                }
                Ok(ReloadOutcome::Unchanged) => {}
                Err(e) => out.push(format!("the file realm keeps its previous users: {e}")),
            }
        }
        if let Ok(mut tokens) = self.file_tokens.write() {
            match tokens.reload_if_changed(&f.service_tokens) {
                Ok(true) => out.push("service tokens file loaded".to_owned()),
                Ok(false) => {}
                Err(e) => out.push(format!("the service tokens file keeps its previous tokens: {e}")),
            }
        }
        out
    }

    /// Which realm answers for a Basic user name: reserved, then file, then native.
    fn basic(&self, username: &str, password: &secrecy::SecretString, full: bool) -> Option<Authentication> {
        if ReservedRealm::<Arc<dyn SecurityLookup>>::owns(username) {
            return if full {
                self.reserved.authenticate(username, password)
            } else {
                self.reserved.authenticate_cached(username, password)
            };
        }
        if let Ok(file) = self.file.read()
            && file.owns(username)
        {
            return if full {
                file.authenticate(username, password)
            } else {
                file.authenticate_cached(username, password)
            };
        }
        if full {
            self.native.authenticate(&*self.lookup, username, password)
        } else {
            self.native.authenticate_cached(&*self.lookup, username, password)
        }
    }

    /// API keys are checked with a salted SHA-256: always fast. `Err` carries why a known key
    /// was refused.
    fn api_key(&self, value: &secrecy::SecretString) -> Result<Authentication, Option<String>> {
        if !self.api_keys {
            return Err(Some(
                "api keys are not enabled (xpack.security.authc.api_key.enabled is false)".into(),
            ));
        }
        let (id, secret) = decode_api_key(value).ok_or(None)?;
        let record = self.lookup.api_key(&id).ok_or(None)?;
        if !verify_api_key_secret(&record.secret_hash, &secret) {
            return Err(None);
        }
        if let Some(why) = crate::enrollment::refusal(&id, &record, now_millis()) {
            return Err(Some(why.to_string()));
        }
        if record.invalidated {
            return Err(Some(format!("api key [{id}] has been invalidated")));
        }
        if !record.is_active(now_millis()) {
            return Err(Some(format!("api key [{id}] has expired")));
        }
        Ok(record.authentication(&id))
    }

    /// A bearer token: an access token of the token service, else a service-account token.
    fn bearer(&self, value: &secrecy::SecretString, full: bool) -> Result<Authentication, Option<Refusal>> {
        if let Some(token) = ParsedAccessToken::parse(value) {
            return self.access_token(&token);
        }
        self.service_token(value, full).ok_or(None)
    }

    /// An access token: known, its secret right, neither expired nor invalidated, and its user
    /// still there and enabled.
    fn access_token(&self, token: &ParsedAccessToken) -> Result<Authentication, Option<Refusal>> {
        if !self.tokens || token.kind != TokenKind::Access {
            return Err(None);
        }
        let Some(record) = self.lookup.access_token(&token.id) else {
            verify_nothing(token);
            return Err(None);
        };
        if !record.matches(token) {
            return Err(None);
        }
        if !record.access_usable(now_millis()) {
            return Err(Some(Refusal::TokenExpired));
        }
        self.token_subject(&record.subject).ok_or_else(|| {
            Some(Refusal::Reason(format!(
                "the user [{}] of this token does not exist or is disabled",
                record.subject.username
            )))
        })
    }

    /// The authentication a token gives its user: users of the reserved, file and native realms
    /// are looked up again (a deleted or disabled user's tokens stop working, and the roles are
    /// the current ones); a PKI user keeps the roles the token was made with. `None` when the
    /// user is gone or disabled.
    pub fn token_subject(&self, s: &TokenSubject) -> Option<Authentication> {
        let mut a = match s.realm_type.as_str() {
            "reserved" | "file" | "native" => {
                self.lookup_user(&s.username).filter(|a| a.authentication_realm.name == s.realm)?
            }
            "pki" => {
                let realm = self.pki.iter().find(|r| r.realm().name == s.realm)?;
                let user = super::User {
                    username: s.username.clone(),
                    roles: s.roles.clone(),
                    full_name: s.full_name.clone(),
                    email: s.email.clone(),
                    enabled: true,
                };
                Authentication::realm(user, realm.realm().clone())
            }
            _ => return None,
        };
        a.authentication_type = "token";
        Some(a)
    }

    /// Service-account tokens: the file first, then those created through the API.
    fn service_token(&self, value: &secrecy::SecretString, full: bool) -> Option<Authentication> {
        let token = ServiceAccountToken::parse(value)?;
        if let Ok(file) = self.file_tokens.read() {
            let hit = if full { file.authenticate(&token) } else { file.authenticate_cached(&token) };
            if hit.is_some() {
                return hit;
            }
        }
        let key = token.id().qualified_name();
        let hash = self.lookup.service_token(token.id())?;
        let ok = self.stored_token_cache.hit(&key, token.secret())
            || (full && token.verify(&hash) && {
                self.stored_token_cache.insert(&key, token.secret());
                true
            });
        if !ok {
            return None;
        }
        let account = token.id().account()?;
        let mut a = Authentication::realm(account.user(), super::RealmRef::SERVICE_ACCOUNT);
        a.authentication_type = "token";
        a.token =
            Some(TokenInfo { name: token.id().name().to_owned(), token_type: "_service_account_index" });
        Some(a)
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

    /// The fast path, cheap enough for an async executor: `Some` for a locked-out caller, for
    /// passwords and service tokens verified recently (in any realm), and for valid API keys
    /// (a salted SHA-256); `None` means the full check is needed, which also records failures.
    pub fn authenticate_fast(&self, credentials: &Credentials, origin: &Origin) -> Option<Outcome> {
        if let Some(locked) = self.locked(credentials, origin) {
            return Some(locked);
        }
        let hit = match credentials {
            Credentials::Basic { username, password } => self.basic(username, password, false),
            Credentials::ApiKey(v) => self.api_key(v).ok(),
            Credentials::Bearer(v) => self.bearer(v, false).ok(),
        };
        hit.map(|a| self.success(a, origin))
    }

    /// The full check; may run bcrypt, so call it off the async executor.
    pub fn authenticate(&self, credentials: &Credentials, origin: &Origin) -> Outcome {
        if let Some(locked) = self.locked(credentials, origin) {
            return locked;
        }
        let mut reason = None;
        let found = match credentials {
            Credentials::Basic { username, password } => self.basic(username, password, true),
            Credentials::ApiKey(v) => match self.api_key(v) {
                Ok(a) => Some(a),
                Err(why) => {
                    reason = why.map(Refusal::Reason);
                    None
                }
            },
            Credentials::Bearer(v) => match self.bearer(v, true) {
                Ok(a) => Some(a),
                Err(why) => {
                    reason = why;
                    None
                }
            },
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
                let error = match reason {
                    Some(Refusal::Reason(reason)) => {
                        SecurityError::CredentialsRejected { reason, path: origin.path.clone() }
                    }
                    Some(Refusal::TokenExpired) => SecurityError::TokenExpired,
                    None => SecurityError::Unauthenticated { user: principal, path: origin.path.clone() },
                };
                Outcome::Failure { error, delay }
            }
        }
    }

    /// Looks a user up (for run-as) without a password: reserved, file, then native.
    pub fn lookup_user(&self, username: &str) -> Option<Authentication> {
        if ReservedRealm::<Arc<dyn SecurityLookup>>::owns(username) {
            let (_, enabled) = self
                .lookup
                .reserved_user(username)
                .unwrap_or((super::PasswordHash::from_stored(String::new()), true));
            let roles = super::RESERVED_USERS
                .iter()
                .find(|(u, _)| *u == username)
                .map(|(_, r)| r.iter().map(|s| (*s).to_owned()).collect())?;
            let user =
                super::User { username: username.to_owned(), roles, full_name: None, email: None, enabled };
            return enabled.then(|| Authentication::realm(user, super::RealmRef::RESERVED));
        }
        if let Some(user) = self.file.read().ok().and_then(|f| f.lookup(username)) {
            return Some(Authentication::realm(user, super::RealmRef::FILE));
        }
        let u = self.lookup.native_user(username).filter(|u| u.enabled)?;
        let user = super::User {
            username: username.to_owned(),
            roles: u.roles,
            full_name: u.full_name,
            email: u.email,
            enabled: true,
        };
        Some(Authentication::realm(user, super::RealmRef::NATIVE))
    }

    /// The metadata of the user behind `authn` (an API key's owner), for role query templates
    /// (`{{_user.metadata.*}}`): a native user's stored metadata; other realms have none.
    pub fn user_metadata(&self, authn: &Authentication) -> serde_json::Map<String, serde_json::Value> {
        let native = authn.authentication_realm == super::RealmRef::NATIVE
            || authn.lookup_realm == super::RealmRef::NATIVE
            || authn.api_key.is_some();
        if !native || ReservedRealm::<Arc<dyn SecurityLookup>>::owns(&authn.user.username) {
            return serde_json::Map::new();
        }
        self.lookup.native_user(&authn.user.username).map(|u| u.metadata).unwrap_or_default()
    }

    /// Authenticates by a client certificate the TLS layer verified: the first PKI realm (by
    /// `order`) that trusts the chain and finds a user name in its subject vouches, with the roles
    /// role mappings give. `None` when no PKI realm is configured or none accepts the chain.
    pub fn authenticate_certificate(&self, chain: &[Vec<u8>], origin: &Origin) -> Option<Outcome> {
        if self.pki.is_empty() {
            return None;
        }
        let (realm, id) = self.pki.iter().find_map(|r| r.identify(chain).map(|id| (r, id)))?;
        let mappings = super::parse_stored(self.lookup.role_mappings());
        Some(self.success(realm.authentication(&id, &mappings), origin))
    }

    /// The names of the tokens `config/service_tokens` holds for one service account
    /// (`elastic/kibana`), sorted.
    pub fn file_service_tokens(&self, principal: &str) -> Vec<String> {
        let Ok(tokens) = self.file_tokens.read() else { return Vec::new() };
        tokens
            .file()
            .qualified_names(Some(principal))
            .into_iter()
            .filter_map(|q| q.rsplit('/').next().map(str::to_owned))
            .collect()
    }

    /// Forgets cached verifications for one user, or all (every realm).
    pub fn clear_cache(&self, username: Option<&str>) {
        self.reserved.clear_cache(username);
        self.native.clear_cache(username);
        if let Ok(f) = self.file.read() {
            f.clear_cache(username);
        }
        self.stored_token_cache.invalidate(None);
    }

    /// Records an event in the audit log.
    pub fn audit(&self, event: AuditEvent) {
        self.audit.record(event);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bulwark_settings::values::PasswordHashing;
    use secrecy::SecretString;

    use super::*;
    use crate::audit::NoAudit;
    use crate::authn::{
        ApiKeyRecord, NativeUser, PasswordHash, ServiceTokenId, encode_api_key, hash_api_key_secret,
    };

    #[derive(Default)]
    struct Lookup {
        users: HashMap<String, NativeUser>,
        keys: HashMap<String, ApiKeyRecord>,
    }

    impl ReservedUserLookup for Lookup {
        fn reserved_user(&self, _: &str) -> Option<(PasswordHash, bool)> {
            None
        }
    }

    impl SecurityLookup for Lookup {
        fn native_user(&self, username: &str) -> Option<NativeUser> {
            self.users.get(username).cloned()
        }
        fn api_key(&self, id: &str) -> Option<ApiKeyRecord> {
            self.keys.get(id).cloned()
        }
        fn service_token(&self, _: &ServiceTokenId) -> Option<PasswordHash> {
            None
        }
        fn role_mappings(&self) -> Vec<(String, serde_json::Value)> {
            Vec::new()
        }
        fn access_token(&self, _: &str) -> Option<crate::authn::TokenRecord> {
            None
        }
    }

    fn origin() -> Origin {
        Origin { address: "127.0.0.1".parse().unwrap(), method: "GET".into(), path: "/".into() }
    }

    #[test]
    fn api_keys_and_recently_verified_passwords_take_the_fast_path() {
        let password = SecretString::from("a-long-password-1");
        let hash = PasswordHash::create(&password, PasswordHashing::Bcrypt { cost: 4 }).unwrap();
        let user = NativeUser {
            password_hash: hash.as_str().to_owned(),
            roles: vec!["viewer".into()],
            full_name: None,
            email: None,
            metadata: Default::default(),
            enabled: true,
        };
        let secret = SecretString::from("key-secret");
        let key = ApiKeyRecord {
            name: "k".into(),
            secret_hash: hash_api_key_secret(&secret).unwrap(),
            creation: 0,
            expiration: None,
            invalidated: false,
            invalidation: None,
            username: "alice".into(),
            realm: "native1".into(),
            realm_type: "native".into(),
            metadata: Default::default(),
            role_descriptors: Default::default(),
            limited_by_roles: vec!["viewer".into()],
            limited_by: None,
            key_type: "rest".into(),
        };
        let lookup = Lookup {
            users: HashMap::from([("alice".into(), user)]),
            keys: HashMap::from([("id1".into(), key)]),
        };
        let policy = LockoutPolicy { enabled: true, max_failures: 20, duration: Duration::from_secs(60) };
        let (a, _) = Authenticator::new(Arc::new(lookup), None, policy, Arc::new(NoAudit));
        let basic =
            |p: &str| Credentials::Basic { username: "alice".into(), password: SecretString::from(p) };
        let ok = |o: Option<Outcome>| matches!(o, Some(Outcome::Success(_)));

        // A password is first checked in full (bcrypt), then from the verify cache.
        assert!(a.authenticate_fast(&basic("a-long-password-1"), &origin()).is_none());
        assert!(matches!(a.authenticate(&basic("a-long-password-1"), &origin()), Outcome::Success(_)));
        assert!(ok(a.authenticate_fast(&basic("a-long-password-1"), &origin())));
        assert!(a.authenticate_fast(&basic("wrong-password-1"), &origin()).is_none());

        // An API key needs no cache: a salted SHA-256. A wrong one falls through to the full check.
        assert!(ok(a.authenticate_fast(&Credentials::ApiKey(encode_api_key("id1", &secret)), &origin())));
        let wrong = Credentials::ApiKey(encode_api_key("id1", &SecretString::from("other")));
        assert!(a.authenticate_fast(&wrong, &origin()).is_none());
        assert!(matches!(a.authenticate(&wrong, &origin()), Outcome::Failure { .. }));
    }
}
