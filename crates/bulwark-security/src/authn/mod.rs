//! Authentication: credentials, password hashes, realms, the verify cache.

mod access_token;
mod api_key;
mod authentication;
mod authenticator;
mod cache;
mod credentials;
mod file_realm;
mod lockout;
mod lookup;
mod mapping_rule;
mod native;
mod password;
mod password_policy;
mod pki;
mod reserved;
mod role_mapping;
mod service_account;

pub use access_token::{
    DEFAULT_TOKEN_TIMEOUT_MS, MAX_TOKEN_TIMEOUT_MS, NewTokenPair, ParsedAccessToken, REFRESH_LIFETIME_MS,
    RefreshRefusal, TokenClient, TokenKind, TokenRecord, TokenSubject,
};
pub use api_key::{
    ApiKeyInfo, ApiKeyRecord, decode_api_key, encode_api_key, hash_api_key_secret, new_api_key_id,
    new_api_key_secret, now_millis, verify_api_key_secret,
};
pub use authentication::{Authentication, RealmRef, TokenInfo, User};
pub use authenticator::{Authenticator, Outcome, RealmFiles};
pub use cache::VerifyCache;
pub use credentials::Credentials;
pub use file_realm::{
    FileRealm, RealmFileError, ReloadOutcome, USERS_FILE, USERS_ROLES_FILE, UsersFile, UsersRolesFile,
    is_reserved_username, validate_role_name, validate_username,
};
pub use lockout::{LockScope, Lockout, LockoutPolicy, LockoutStarted, Verdict};
pub use lookup::SecurityLookup;
pub use mapping_rule::{Rule, UserData, normalize_dn};
pub use native::{NativeRealm, NativeUser};
pub use password::{PasswordHash, generate_password};
pub use password_policy::{MIN_PASSWORD_LENGTH_FLOOR, PasswordPolicy, PolicyViolation, is_common_password};
pub use pki::{PkiIdentity, PkiRealm, parse_role_mapping_yml};
pub use reserved::{RESERVED_USERS, ReservedRealm, ReservedUserLookup};
pub use role_mapping::{MappingError, RoleMapping, RoleTemplate, TemplateFormat, mapped_roles, parse_stored};
pub use service_account::{
    ApplicationGrant, FILE_TOKEN_TYPE, IndexGrant, ParsedToken, SERVICE_ACCOUNTS, SERVICE_TOKEN_HASHING,
    SERVICE_TOKENS_FILE, ServiceAccount, ServiceAccountToken, ServiceRoleDescriptor, ServiceTokenId,
    ServiceTokenRealm, ServiceTokensFile, TOKEN_PREFIX, validate_token_name,
};
