//! Node errors: what failed, where, and what to do.

use std::path::PathBuf;

/// Why the node could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The settings are wrong.
    #[error(transparent)]
    Settings(#[from] bulwark_settings::SettingsError),
    /// The keystore cannot be used.
    #[error(transparent)]
    Keystore(#[from] bulwark_keystore::KeystoreError),
    /// A certificate or key cannot be used.
    #[error(transparent)]
    Pki(#[from] bulwark_pki::PkiError),
    /// A file or directory cannot be used.
    #[error("{action} [{}]: {source}", path.display())]
    Io {
        /// What the node was doing (`cannot read`, …).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Auto-configuration failed (and was rolled back, or will be at the next start).
    #[error("security auto-configuration failed while {step}: {message}; {}", if *restored { "the home was restored as it was" } else { "the home could not be fully restored: fix the cause and start again, the next start finishes the rollback" })]
    AutoConfig {
        /// The step that failed.
        step: &'static str,
        /// Why.
        message: String,
        /// Whether the home was restored as it was.
        restored: bool,
    },
    /// A setting, a file or an input the operator gave is not usable.
    #[error("{0}")]
    Config(String),
    /// The store failed while the node was doing `context`.
    #[error("{context}: {source}")]
    Store {
        /// What the node was doing.
        context: String,
        /// The store's error.
        source: bulwark_store::StoreError,
    },
    /// A search index could not be rebuilt or opened.
    #[error("{context}: {source}")]
    Index {
        /// What the node was doing.
        context: String,
        /// The search index's error.
        source: bulwark_index::IndexError,
    },
    /// The system random number generator failed.
    #[error("{context}: {source}")]
    Random {
        /// What the node was doing.
        context: String,
        /// Why no random bytes could be drawn.
        source: bulwark_random::RandomError,
    },
    /// The process could not start a runtime or a thread.
    #[error("{context}: {source}")]
    Runtime {
        /// What the node was doing.
        context: &'static str,
        /// What the system said.
        source: std::io::Error,
    },
    /// A background task stopped before finishing (it panicked or was cancelled).
    #[error("{context} was interrupted: {detail}")]
    Interrupted {
        /// What the node was doing.
        context: &'static str,
        /// How the task ended.
        detail: String,
    },
    /// A listener could not be opened.
    #[error("cannot bind {what} to [{addr}]: {source}")]
    Bind {
        /// `HTTP` or `transport`.
        what: &'static str,
        /// The address.
        addr: String,
        /// What the system said.
        source: std::io::Error,
    },
}

impl NodeError {
    /// A store failure while doing `context`.
    pub fn store(context: impl Into<String>) -> impl FnOnce(bulwark_store::StoreError) -> NodeError {
        let context = context.into();
        move |source| NodeError::Store { context, source }
    }

    /// A random number generator failure while doing `context`.
    pub fn random(context: impl Into<String>) -> impl FnOnce(bulwark_random::RandomError) -> NodeError {
        let context = context.into();
        move |source| NodeError::Random { context, source }
    }

    /// A background task that stopped while doing `context`.
    pub fn interrupted(context: &'static str) -> impl FnOnce(tokio::task::JoinError) -> NodeError {
        move |e| NodeError::Interrupted { context, detail: e.to_string() }
    }

    /// An I/O error with its action and path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> NodeError {
        let path = path.into();
        move |source| NodeError::Io { action, path, source }
    }
}
