//! Authentication: credentials, password hashes, realms, the verify cache.

mod authentication;
mod authenticator;
mod cache;
mod credentials;
mod password;
mod reserved;

pub use authentication::{Authentication, RealmRef, User};
pub use authenticator::Authenticator;
pub use cache::VerifyCache;
pub use credentials::Credentials;
pub use password::{PasswordHash, generate_password};
pub use reserved::{RESERVED_USERS, ReservedRealm, ReservedUserLookup};
