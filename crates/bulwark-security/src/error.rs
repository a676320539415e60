//! Security errors. Messages never carry a secret.

/// Why a request was not authenticated or not allowed.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// No credentials were sent.
    #[error("missing authentication credentials for REST request [{path}]")]
    MissingCredentials {
        /// The request path.
        path: String,
    },
    /// Credentials were sent but are not valid (the message does not say which part was wrong).
    #[error("unable to authenticate user [{user}] for REST request [{path}]")]
    Unauthenticated {
        /// The user name given.
        user: String,
        /// The request path.
        path: String,
    },
    /// Known credentials refused for a stated reason (an expired or invalidated API key).
    #[error("unable to authenticate with provided credentials for REST request [{path}]: {reason}")]
    CredentialsRejected {
        /// Why.
        reason: String,
        /// The request path.
        path: String,
    },
    /// An access token that expired or was invalidated (Elasticsearch's words).
    #[error("token expired")]
    TokenExpired,
    /// Too many failed attempts: locked out for a while.
    #[error("too many failed authentication attempts for {who}; try again in {seconds} seconds")]
    LockedOut {
        /// The user, or the address.
        who: String,
        /// How long the lock lasts.
        seconds: u64,
    },
    /// The Authorization header is not one we can read.
    #[error("unsupported or malformed Authorization header for REST request [{path}]")]
    MalformedCredentials {
        /// The request path.
        path: String,
    },
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// A stored password hash is not in a known format.
    #[error("stored password hash for user [{user}] is in an unknown format")]
    UnknownHash {
        /// The user.
        user: String,
    },
}
