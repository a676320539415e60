//! The file-based credential stores the node reads and the `users` and `service-tokens` tools
//! edit: their formats and rules live in `bulwark-security`; this module only passes them on to
//! the binary, which may not depend on the security crate directly.

pub use bulwark_security::authn::{
    MIN_PASSWORD_LENGTH_FLOOR, PasswordHash, PasswordPolicy, PolicyViolation, RealmFileError,
    SERVICE_TOKEN_HASHING, SERVICE_TOKENS_FILE, ServiceAccount, ServiceAccountToken, ServiceTokenId,
    ServiceTokensFile, USERS_FILE, USERS_ROLES_FILE, UsersFile, UsersRolesFile, is_reserved_username,
    validate_role_name, validate_token_name, validate_username,
};
