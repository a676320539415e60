//! Service accounts (`elastic/fleet-server`, `elastic/kibana`, `elastic/enterprise-search-server`)
//! and their bearer tokens, in Elasticsearch's formats.
//!
//! A token on the wire is base64 (standard alphabet, no padding) of the four bytes
//! `00 01 00 01` (magic, token type, reserved, format version) followed by the UTF-8 text
//! `namespace/service/token_name:secret`. The secret is 22 characters of URL-safe base64 of 16
//! random bytes. `config/service_tokens` holds `namespace/service/token_name:hash` lines, hashed
//! with `PBKDF2_STRETCH` (Elasticsearch's default for service tokens).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD, URL_SAFE_NO_PAD,
};
use bulwark_random::RandomError;
use bulwark_settings::values::PasswordHashing;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::file_realm::{RealmFileError, content_lines, digest_file, finish, read_optional};
use super::{Authentication, PasswordHash, RealmRef, TokenInfo, User, VerifyCache};

/// The service tokens file's name in the config directory.
pub const SERVICE_TOKENS_FILE: &str = "service_tokens";
/// How service token secrets are hashed (`xpack.security.authc.service_token_hashing.algorithm`'s
/// default).
pub const SERVICE_TOKEN_HASHING: PasswordHashing = PasswordHashing::Pbkdf2Stretch { iterations: 10_000 };
/// `token.type` of a token from `config/service_tokens`.
pub const FILE_TOKEN_TYPE: &str = "_service_account_file";
/// The four bytes every service token starts with: magic, token type, reserved, format version.
pub const TOKEN_PREFIX: [u8; 4] = [0, 1, 0, 1];

/// Bearer strings longer than this are not service tokens (bounds the work on hostile input).
const MAX_BEARER_LEN: usize = 4096;

/// Java's basic decoder: standard alphabet, padding optional.
const BEARER_DECODER: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Index privileges of a role descriptor, as names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexGrant {
    /// Index name patterns.
    pub names: &'static [&'static str],
    /// Privilege names.
    pub privileges: &'static [&'static str],
    /// Whether the patterns reach restricted (system) indices.
    pub allow_restricted_indices: bool,
}

/// Application privileges of a role descriptor, as names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationGrant {
    /// The application.
    pub application: &'static str,
    /// Privilege names.
    pub privileges: &'static [&'static str],
    /// Resource patterns.
    pub resources: &'static [&'static str],
}

/// The role a service account acts with; its name is the account's principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceRoleDescriptor {
    /// The role's name (the account's principal).
    pub name: &'static str,
    /// Cluster privileges.
    pub cluster: &'static [&'static str],
    /// Index privileges.
    pub indices: &'static [IndexGrant],
    /// Application privileges.
    pub applications: &'static [ApplicationGrant],
    /// The privileges are those of this reserved role (`elastic/kibana` has `kibana_system`'s).
    pub same_as_reserved_role: Option<&'static str>,
}

/// A built-in service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceAccount {
    /// `elastic`.
    pub namespace: &'static str,
    /// `kibana`, `fleet-server`, ….
    pub service: &'static str,
    /// `namespace/service`.
    pub principal: &'static str,
    /// What it may do.
    pub role: ServiceRoleDescriptor,
}

const NO_APPS: &[ApplicationGrant] = &[];

/// Elasticsearch's built-in service accounts, sorted by principal.
pub const SERVICE_ACCOUNTS: &[ServiceAccount] = &[
    ServiceAccount {
        namespace: "elastic",
        service: "enterprise-search-server",
        principal: "elastic/enterprise-search-server",
        role: ServiceRoleDescriptor {
            name: "elastic/enterprise-search-server",
            cluster: &["manage", "manage_security"],
            indices: &[IndexGrant {
                names: &[
                    "search-*",
                    ".elastic-analytics-collections",
                    ".ent-search-*",
                    ".monitoring-ent-search-*",
                    "metricbeat-ent-search-*",
                    "enterprise-search-*",
                    "logs-app_search.analytics-default",
                    "logs-elastic_analytics.events-*",
                    "logs-enterprise_search.api-default",
                    "logs-enterprise_search.audit-default",
                    "logs-app_search.search_relevance_suggestions-default",
                    "logs-crawler-default",
                    "logs-elastic_crawler-default",
                    "logs-workplace_search.analytics-default",
                    "logs-workplace_search.content_events-default",
                    ".elastic-connectors*",
                ],
                privileges: &["manage", "read", "write"],
                allow_restricted_indices: false,
            }],
            applications: NO_APPS,
            same_as_reserved_role: None,
        },
    },
    ServiceAccount {
        namespace: "elastic",
        service: "fleet-server",
        principal: "elastic/fleet-server",
        role: ServiceRoleDescriptor {
            name: "elastic/fleet-server",
            cluster: &["monitor", "manage_own_api_key"],
            indices: &[
                IndexGrant {
                    names: &[
                        "logs-*",
                        "metrics-*",
                        "traces-*",
                        ".logs-endpoint.diagnostic.collection-*",
                        ".logs-endpoint.action.responses-*",
                    ],
                    privileges: &["write", "create_index", "auto_configure"],
                    allow_restricted_indices: false,
                },
                IndexGrant {
                    names: &["profiling-*"],
                    privileges: &["read", "write", "auto_configure"],
                    allow_restricted_indices: false,
                },
                IndexGrant {
                    names: &["traces-apm.sampled-*"],
                    privileges: &["read", "monitor", "maintenance"],
                    allow_restricted_indices: false,
                },
                IndexGrant {
                    names: &[".fleet-secrets*"],
                    privileges: &["read"],
                    allow_restricted_indices: true,
                },
                IndexGrant {
                    names: &[".fleet-*"],
                    privileges: &[
                        "read",
                        "write",
                        "monitor",
                        "create_index",
                        "auto_configure",
                        "maintenance",
                    ],
                    allow_restricted_indices: true,
                },
                IndexGrant {
                    names: &["synthetics-*"],
                    privileges: &["read", "write", "create_index", "auto_configure"],
                    allow_restricted_indices: false,
                },
            ],
            applications: &[ApplicationGrant {
                application: "kibana-*",
                privileges: &["reserved_fleet-setup"],
                resources: &["*"],
            }],
            same_as_reserved_role: None,
        },
    },
    ServiceAccount {
        namespace: "elastic",
        service: "kibana",
        principal: "elastic/kibana",
        role: ServiceRoleDescriptor {
            name: "elastic/kibana",
            cluster: &[],
            indices: &[],
            applications: NO_APPS,
            same_as_reserved_role: Some("kibana_system"),
        },
    },
];

impl ServiceAccount {
    /// The account with this principal (`elastic/kibana`).
    pub fn find(principal: &str) -> Option<&'static ServiceAccount> {
        SERVICE_ACCOUNTS.iter().find(|a| a.principal == principal)
    }

    /// Every principal, sorted.
    pub fn principals() -> Vec<&'static str> {
        SERVICE_ACCOUNTS.iter().map(|a| a.principal).collect()
    }

    /// The user a token of this account authenticates as (no roles: the account's role
    /// descriptor applies instead).
    pub fn user(&self) -> User {
        User {
            username: self.principal.to_owned(),
            roles: Vec::new(),
            full_name: Some(format!("Service account - {}", self.principal)),
            email: None,
            enabled: true,
        }
    }
}

/// Checks a token name: 1 to 256 of `A-Z a-z 0-9 - _`, not starting with `_`.
pub fn validate_token_name(name: &str) -> Result<(), String> {
    let ok = (1..=256).contains(&name.len())
        && !name.starts_with('_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid service token name [{}]: a token name has 1 to 256 letters, digits, '-' or '_' and \
             does not start with '_'",
            name.escape_debug()
        ))
    }
}

/// Which token: `namespace/service/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceTokenId {
    namespace: String,
    service: String,
    name: String,
}

impl ServiceTokenId {
    /// A token id for a built-in account; the name must be valid.
    pub fn new(account: &ServiceAccount, name: &str) -> Result<ServiceTokenId, String> {
        validate_token_name(name)?;
        Ok(ServiceTokenId {
            namespace: account.namespace.to_owned(),
            service: account.service.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Parses `namespace/service/name` (any namespace and service; a valid name).
    pub fn parse(qualified: &str) -> Option<ServiceTokenId> {
        let mut parts = qualified.split('/');
        let (Some(namespace), Some(service), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if namespace.is_empty() || service.is_empty() || validate_token_name(name).is_err() {
            return None;
        }
        Some(ServiceTokenId { namespace: namespace.into(), service: service.into(), name: name.into() })
    }

    /// `namespace/service`.
    pub fn principal(&self) -> String {
        format!("{}/{}", self.namespace, self.service)
    }

    /// The token's name (the last part of its id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `namespace/service/name`.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.service, self.name)
    }

    /// The built-in account this token belongs to, if any.
    pub fn account(&self) -> Option<&'static ServiceAccount> {
        ServiceAccount::find(&self.principal())
    }
}

/// A service token: its id and secret. `Debug` never shows the secret.
pub struct ServiceAccountToken {
    id: ServiceTokenId,
    secret: SecretString,
}

/// What [`ServiceAccountToken::parse`] returns.
pub type ParsedToken = ServiceAccountToken;

impl std::fmt::Debug for ServiceAccountToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountToken").field("id", &self.id).field("secret", &"[REDACTED]").finish()
    }
}

impl ServiceAccountToken {
    /// A new token with a random secret (16 bytes from the OS CSPRNG, URL-safe base64: 22
    /// characters).
    pub fn generate(id: ServiceTokenId) -> Result<ServiceAccountToken, RandomError> {
        let bytes = Zeroizing::new(bulwark_random::bytes::<16>()?);
        let secret = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()));
        Ok(ServiceAccountToken { id, secret: SecretString::from(secret.as_str()) })
    }

    /// A token from its parts (tests, and tokens read back from elsewhere).
    pub fn from_parts(id: ServiceTokenId, secret: SecretString) -> ServiceAccountToken {
        ServiceAccountToken { id, secret }
    }

    /// Reads a bearer string; `None` when it is not a service token (another kind of bearer
    /// token, or garbage).
    pub fn parse(bearer: &SecretString) -> Option<ParsedToken> {
        let text = bearer.expose_secret().trim();
        if text.len() > MAX_BEARER_LEN {
            return None;
        }
        let bytes = Zeroizing::new(BEARER_DECODER.decode(text).ok()?);
        let rest = bytes.strip_prefix(&TOKEN_PREFIX)?;
        let rest = std::str::from_utf8(rest).ok()?;
        let (qualified, secret) = rest.split_once(':')?;
        if secret.is_empty() {
            return None;
        }
        let id = ServiceTokenId::parse(qualified)?;
        Some(ServiceAccountToken { id, secret: SecretString::from(secret) })
    }

    /// The bearer string to send: `base64(00 01 00 01 "namespace/service/name:secret")`.
    pub fn to_bearer(&self) -> SecretString {
        let mut raw = Zeroizing::new(Vec::with_capacity(64));
        raw.extend_from_slice(&TOKEN_PREFIX);
        raw.extend_from_slice(self.id.qualified_name().as_bytes());
        raw.push(b':');
        raw.extend_from_slice(self.secret.expose_secret().as_bytes());
        let encoded = Zeroizing::new(STANDARD_NO_PAD.encode(raw.as_slice()));
        SecretString::from(encoded.as_str())
    }

    /// Which token (`namespace/service/name`).
    pub fn id(&self) -> &ServiceTokenId {
        &self.id
    }

    /// The secret to check against the stored hash.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The hash to store in `config/service_tokens` (slow by design).
    pub fn hash(&self, algorithm: PasswordHashing) -> Result<PasswordHash, RandomError> {
        PasswordHash::create(&self.secret, algorithm)
    }

    /// Whether the secret matches a stored hash (constant-time).
    pub fn verify(&self, hash: &PasswordHash) -> bool {
        hash.verify(&self.secret)
    }
}

/// `config/service_tokens`: qualified token names and their hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceTokensFile {
    tokens: BTreeMap<String, PasswordHash>,
}

impl ServiceTokensFile {
    /// Parses the file's text; `path` only names the file in errors. Tokens must belong to a
    /// built-in account and be hashed (Elasticsearch skips plaintext entries).
    pub fn parse(text: &str, path: &Path) -> Result<ServiceTokensFile, RealmFileError> {
        let bad = |line, reason: String| RealmFileError::Line { path: path.to_path_buf(), line, reason };
        let mut tokens = BTreeMap::new();
        for (n, line) in content_lines(text) {
            let (key, hash) = match line.split_once(':') {
                Some((k, h)) if !k.is_empty() && !h.is_empty() => (k, h),
                _ => return Err(bad(n, "expected `namespace/service/token_name:hash`".into())),
            };
            let Some(id) = ServiceTokenId::parse(key) else {
                return Err(bad(
                    n,
                    format!(
                        "[{}] is not `namespace/service/token_name` with a valid token name",
                        key.escape_debug()
                    ),
                ));
            };
            if id.account().is_none() {
                return Err(bad(
                    n,
                    format!(
                        "unknown service account [{}]; the service accounts are [{}]",
                        id.principal(),
                        ServiceAccount::principals().join(",")
                    ),
                ));
            }
            let hash = PasswordHash::from_stored(hash.to_owned());
            if !hash.is_known_format() {
                return Err(bad(
                    n,
                    format!("the hash of token [{key}] is not bcrypt, {{PBKDF2}} or {{PBKDF2_STRETCH}}"),
                ));
            }
            if tokens.insert(key.to_owned(), hash).is_some() {
                return Err(bad(n, format!("token [{key}] is defined more than once")));
            }
        }
        Ok(ServiceTokensFile { tokens })
    }

    /// Reads and parses the file; a missing file has no tokens.
    pub fn load(path: &Path) -> Result<ServiceTokensFile, RealmFileError> {
        match read_optional(path)? {
            Some(text) => ServiceTokensFile::parse(&text, path),
            None => Ok(ServiceTokensFile::default()),
        }
    }

    /// The file's text: one `namespace/service/name:hash` line per token, sorted.
    pub fn to_file_string(&self) -> String {
        self.tokens.iter().map(|(k, h)| format!("{k}:{}\n", h.as_str())).collect()
    }

    /// The hash stored for token `id`.
    pub fn get(&self, id: &ServiceTokenId) -> Option<&PasswordHash> {
        self.tokens.get(&id.qualified_name())
    }

    /// Whether token `id` is in the file.
    pub fn contains(&self, id: &ServiceTokenId) -> bool {
        self.tokens.contains_key(&id.qualified_name())
    }

    /// Adds a token unless one with the same id exists; whether it was added.
    pub fn insert(&mut self, id: &ServiceTokenId, hash: PasswordHash) -> bool {
        match self.tokens.entry(id.qualified_name()) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(hash);
                true
            }
        }
    }

    /// Removes a token; whether it existed.
    pub fn remove(&mut self, id: &ServiceTokenId) -> bool {
        self.tokens.remove(&id.qualified_name()).is_some()
    }

    /// Qualified names of every token, or of one account's (`Some("elastic/kibana")`), sorted.
    pub fn qualified_names(&self, principal: Option<&str>) -> Vec<&str> {
        self.tokens
            .keys()
            .map(String::as_str)
            .filter(|k| principal.is_none_or(|p| k.strip_prefix(p).is_some_and(|r| r.starts_with('/'))))
            .collect()
    }
}

/// Authenticates service tokens against `config/service_tokens`, with a verify cache.
pub struct ServiceTokenRealm {
    file: ServiceTokensFile,
    seen: Option<[u8; 32]>,
    cache: VerifyCache,
}

impl ServiceTokenRealm {
    /// A realm authenticating the tokens of `file`.
    pub fn new(file: ServiceTokensFile) -> ServiceTokenRealm {
        ServiceTokenRealm { file, seen: None, cache: VerifyCache::new(Duration::from_secs(20 * 60), 100_000) }
    }

    /// Loads the file (a missing file has no tokens).
    pub fn load(path: &Path) -> Result<ServiceTokenRealm, RealmFileError> {
        let mut realm = ServiceTokenRealm::new(ServiceTokensFile::default());
        realm.reload_if_changed(path)?;
        Ok(realm)
    }

    /// Re-reads the file when its contents differ from the last look; whether it was reloaded.
    /// On an error the previous tokens stay, and the same broken contents are not reported again.
    pub fn reload_if_changed(&mut self, path: &Path) -> Result<bool, RealmFileError> {
        let text = read_optional(path)?;
        let mut ctx = digest::Context::new(&digest::SHA256);
        digest_file(&mut ctx, text.as_deref());
        let digest = finish(ctx);
        if self.seen == Some(digest) {
            return Ok(false);
        }
        self.seen = Some(digest);
        self.file = match &text {
            Some(t) => ServiceTokensFile::parse(t, path)?,
            None => ServiceTokensFile::default(),
        };
        self.cache.invalidate(None);
        Ok(true)
    }

    /// The file as last read.
    pub fn file(&self) -> &ServiceTokensFile {
        &self.file
    }

    fn authentication(token: &ServiceAccountToken) -> Option<Authentication> {
        let account = token.id.account()?;
        Some(Authentication {
            user: account.user(),
            authentication_realm: RealmRef::SERVICE_ACCOUNT,
            lookup_realm: RealmRef::SERVICE_ACCOUNT,
            authentication_type: "token",
            token: Some(TokenInfo { name: token.id.name.clone(), token_type: FILE_TOKEN_TYPE }),
            api_key: None,
            pki_dn: None,
        })
    }

    /// The fast path: `Some` only for a token verified recently.
    pub fn authenticate_cached(&self, token: &ServiceAccountToken) -> Option<Authentication> {
        let key = token.id.qualified_name();
        if !self.file.tokens.contains_key(&key) || !self.cache.hit(&key, &token.secret) {
            return None;
        }
        Self::authentication(token)
    }

    /// The full check (PBKDF2: call it off the async executor).
    pub fn authenticate(&self, token: &ServiceAccountToken) -> Option<Authentication> {
        if let Some(a) = self.authenticate_cached(token) {
            return Some(a);
        }
        let hash = self.file.get(&token.id)?;
        if !token.verify(hash) {
            return None;
        }
        self.cache.insert(&token.id.qualified_name(), &token.secret);
        Self::authentication(token)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const FAST: PasswordHashing = PasswordHashing::Pbkdf2Stretch { iterations: 1000 };

    fn kibana_token(name: &str) -> ServiceAccountToken {
        ServiceAccountToken::generate(
            ServiceTokenId::new(ServiceAccount::find("elastic/kibana").unwrap(), name).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn accounts_and_their_roles() {
        assert_eq!(
            ServiceAccount::principals(),
            ["elastic/enterprise-search-server", "elastic/fleet-server", "elastic/kibana"]
        );
        for a in SERVICE_ACCOUNTS {
            assert_eq!(a.role.name, a.principal);
            assert_eq!(a.principal, format!("{}/{}", a.namespace, a.service));
        }
        let fleet = ServiceAccount::find("elastic/fleet-server").unwrap();
        assert_eq!(fleet.role.cluster, ["monitor", "manage_own_api_key"]);
        assert_eq!(
            ServiceAccount::find("elastic/kibana").unwrap().role.same_as_reserved_role,
            Some("kibana_system")
        );
        assert!(ServiceAccount::find("elastic/nope").is_none());
        let u = fleet.user();
        assert_eq!(u.full_name.as_deref(), Some("Service account - elastic/fleet-server"));
        assert!(u.roles.is_empty());
    }

    #[test]
    fn token_names() {
        for ok in ["a", "token1", "my-token_2", "-x", &"a".repeat(256)] {
            assert!(validate_token_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_x", "a b", "a/b", "a:b", "\u{e9}", &"a".repeat(257)] {
            assert!(validate_token_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bearer_round_trip() {
        let t = kibana_token("token1");
        assert_eq!(t.secret().expose_secret().len(), 22);
        assert!(
            t.secret().expose_secret().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let bearer = t.to_bearer();
        assert!(!bearer.expose_secret().contains('='));
        let p = ServiceAccountToken::parse(&bearer).unwrap();
        assert_eq!(p.id(), t.id());
        assert_eq!(p.id().qualified_name(), "elastic/kibana/token1");
        assert_eq!(p.secret().expose_secret(), t.secret().expose_secret());
        assert!(!format!("{p:?}").contains(t.secret().expose_secret()));
        assert_ne!(kibana_token("token1").secret().expose_secret(), t.secret().expose_secret());
    }

    #[test]
    fn matches_elasticsearchs_layout_byte_for_byte() {
        // Built by hand from the documented layout: 00 01 00 01, then the qualified name, ':' and
        // the secret, base64 with the standard alphabet and no padding.
        let mut expected = vec![0x00u8, 0x01, 0x00, 0x01];
        expected.extend_from_slice(b"elastic/fleet-server/token1:r6SR9ZVYTumbUVdzDN2zrQ");
        let bearer = STANDARD.encode(&expected).trim_end_matches('=').to_owned();
        // The same value, computed independently of this crate.
        assert_eq!(bearer, "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuMTpyNlNSOVpWWVR1bWJVVmR6RE4yenJR");
        let id =
            ServiceTokenId::new(ServiceAccount::find("elastic/fleet-server").unwrap(), "token1").unwrap();
        let t = ServiceAccountToken::from_parts(id, SecretString::from("r6SR9ZVYTumbUVdzDN2zrQ"));
        assert_eq!(t.to_bearer().expose_secret(), bearer);
        let p = ServiceAccountToken::parse(&SecretString::from(bearer)).unwrap();
        assert_eq!(p.id(), t.id());
        // Padded input is read too (Java's decoder accepts both); 55 bytes need one '='.
        let mut raw = vec![0x00u8, 0x01, 0x00, 0x01];
        raw.extend_from_slice(b"elastic/fleet-server/token12:r6SR9ZVYTumbUVdzDN2zrQ");
        let padded = STANDARD.encode(&raw);
        assert!(padded.ends_with('='));
        let p = ServiceAccountToken::parse(&SecretString::from(padded)).unwrap();
        assert_eq!(p.id().qualified_name(), "elastic/fleet-server/token12");
        assert_eq!(p.secret().expose_secret(), "r6SR9ZVYTumbUVdzDN2zrQ");
    }

    #[test]
    fn non_tokens_are_not_parsed() {
        let enc = |b: &[u8]| SecretString::from(STANDARD_NO_PAD.encode(b));
        for raw in [
            &b"\x00\x01\x00\x02elastic/kibana/t:secret"[..],
            b"\x00\x01\x00\x01elastic/kibana/t",
            b"\x00\x01\x00\x01elastic/kibana/t:",
            b"\x00\x01\x00\x01elastic/kibana:secret",
            b"\x00\x01\x00\x01a/b/c/d:secret",
            b"\x00\x01\x00\x01elastic/kibana/_t:secret",
            b"\x00\x01\x00\x01/kibana/t:secret",
            b"\x00\x01\x00\x01elastic/kibana/t\xff:secret",
            b"\x00\x01",
            b"",
        ] {
            assert!(ServiceAccountToken::parse(&enc(raw)).is_none(), "{raw:?}");
        }
        for s in ["not base64!", "eyJhbGciOiJIUzI1NiJ9.e30.x", &"A".repeat(5000)] {
            assert!(ServiceAccountToken::parse(&SecretString::from(s)).is_none());
        }
        // Unknown accounts parse (the realm refuses them).
        let t = ServiceAccountToken::parse(&enc(b"\x00\x01\x00\x01acme/robot/t1:s")).unwrap();
        assert!(t.id().account().is_none());
    }

    #[test]
    fn tokens_file_parses_and_round_trips() {
        let h = kibana_token("x").hash(FAST).unwrap();
        let text = format!(
            "# tokens\nelastic/kibana/b:{0}\n\n  elastic/fleet-server/a:{0}\nelastic/kibana/a:{0}\n",
            h.as_str()
        );
        let f = ServiceTokensFile::parse(&text, Path::new("config/service_tokens")).unwrap();
        assert_eq!(
            f.qualified_names(None),
            ["elastic/fleet-server/a", "elastic/kibana/a", "elastic/kibana/b"]
        );
        assert_eq!(f.qualified_names(Some("elastic/kibana")), ["elastic/kibana/a", "elastic/kibana/b"]);
        assert!(f.qualified_names(Some("elastic/kib")).is_empty());
        let out = f.to_file_string();
        assert!(out.starts_with("elastic/fleet-server/a:{PBKDF2_STRETCH}1000$"), "{out}");
        assert_eq!(ServiceTokensFile::parse(&out, Path::new("s")).unwrap(), f);

        let mut f = f;
        let id = ServiceTokenId::parse("elastic/kibana/a").unwrap();
        assert!(!f.insert(&id, h.clone()), "no overwrite");
        assert!(f.remove(&id) && !f.remove(&id));
        assert!(f.insert(&id, h) && f.contains(&id));
    }

    #[test]
    fn each_bad_tokens_line_names_its_line() {
        let h = "{PBKDF2_STRETCH}1000$AAAAAAAAAAA=$AAAA";
        let cases = [
            ("elastic/kibana/t".to_owned(), "expected `namespace/service/token_name:hash`"),
            (format!(":{h}"), "expected"),
            ("elastic/kibana/t:".into(), "expected"),
            (format!("elastic/kibana:{h}"), "is not `namespace/service/token_name`"),
            (format!("elastic/kibana/_t:{h}"), "is not `namespace/service/token_name`"),
            (format!("acme/robot/t:{h}"), "unknown service account [acme/robot]"),
            ("elastic/kibana/t:plaintext".into(), "is not bcrypt"),
            (format!("elastic/kibana/ok:{h}"), "more than once"),
        ];
        for (bad, expect) in cases {
            let text = format!("elastic/kibana/ok:{h}\n#\n{bad}\n");
            match ServiceTokensFile::parse(&text, Path::new("config/service_tokens")).unwrap_err() {
                RealmFileError::Line { line, reason, .. } => {
                    assert_eq!(line, 3, "{bad}");
                    assert!(reason.contains(expect), "{bad}: {reason}");
                }
                e => panic!("{e}"),
            }
        }
    }

    #[test]
    fn authenticates_a_file_token() {
        let t = kibana_token("token1");
        let mut file = ServiceTokensFile::default();
        assert!(file.insert(t.id(), t.hash(FAST).unwrap()));
        let realm = ServiceTokenRealm::new(file);
        let parsed = ServiceAccountToken::parse(&t.to_bearer()).unwrap();
        assert!(realm.authenticate_cached(&parsed).is_none());
        let a = realm.authenticate(&parsed).unwrap();
        assert_eq!(a.user.username, "elastic/kibana");
        assert!(a.user.roles.is_empty());
        assert_eq!(
            a.authentication_realm,
            RealmRef { name: "_service_account", realm_type: "_service_account" }
        );
        assert_eq!(a.authentication_type, "token");
        assert_eq!(a.token, Some(TokenInfo { name: "token1".into(), token_type: "_service_account_file" }));
        assert!(realm.authenticate_cached(&parsed).is_some());
        let wrong = ServiceAccountToken::from_parts(t.id().clone(), SecretString::from("wrong"));
        assert!(realm.authenticate(&wrong).is_none());
        assert!(realm.authenticate(&kibana_token("other")).is_none());
    }

    #[test]
    fn default_hashing_is_pbkdf2_stretch() {
        let t = kibana_token("t");
        let h = t.hash(SERVICE_TOKEN_HASHING).unwrap();
        assert!(h.as_str().starts_with("{PBKDF2_STRETCH}10000$"));
        assert!(t.verify(&h));
    }

    #[test]
    fn reload_follows_the_file() {
        let path = std::env::temp_dir().join(format!("bulwark-service-tokens-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut realm = ServiceTokenRealm::load(&path).unwrap();
        let t = kibana_token("t1");
        assert!(realm.authenticate(&t).is_none());
        std::fs::write(&path, format!("{}:{}\n", t.id().qualified_name(), t.hash(FAST).unwrap().as_str()))
            .unwrap();
        assert!(realm.reload_if_changed(&path).unwrap());
        assert!(!realm.reload_if_changed(&path).unwrap());
        assert!(realm.authenticate(&t).is_some());
        std::fs::write(&path, "").unwrap();
        assert!(realm.reload_if_changed(&path).unwrap());
        assert!(realm.authenticate_cached(&t).is_none() && realm.authenticate(&t).is_none());
        std::fs::remove_file(&path).unwrap();
    }
}
