//! Security errors. Messages never carry a secret.

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// No credentials were sent.
    #[error("missing authentication credentials for REST request [{path}]")]
    MissingCredentials { path: String },
    /// Credentials were sent but are not valid (the message does not say which part was wrong).
    #[error("unable to authenticate user [{user}] for REST request [{path}]")]
    Unauthenticated { user: String, path: String },
    /// Known credentials refused for a stated reason (an expired or invalidated API key).
    #[error("unable to authenticate with provided credentials for REST request [{path}]: {reason}")]
    CredentialsRejected { reason: String, path: String },
    /// An access token that expired or was invalidated (Elasticsearch's words).
    #[error("token expired")]
    TokenExpired,
    /// Too many failed attempts: locked out for a while.
    #[error("too many failed authentication attempts for {who}; try again in {seconds} seconds")]
    LockedOut { who: String, seconds: u64 },
    /// The Authorization header is not one we can read.
    #[error("unsupported or malformed Authorization header for REST request [{path}]")]
    MalformedCredentials { path: String },
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// A stored password hash is not in a known format.
    #[error("stored password hash for user [{user}] is in an unknown format")]
    UnknownHash { user: String },
}
