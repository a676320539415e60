//! Node errors: what failed, where, and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Settings(#[from] bulwark_settings::SettingsError),
    #[error(transparent)]
    Keystore(#[from] bulwark_keystore::KeystoreError),
    #[error(transparent)]
    Pki(#[from] bulwark_pki::PkiError),
    #[error("{action} [{}]: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("security auto-configuration failed while {step}: {message}; {}", if *restored { "the home was restored as it was" } else { "the home could not be fully restored: fix the cause and start again, the next start finishes the rollback" })]
    AutoConfig { step: &'static str, message: String, restored: bool },
    /// A setting, a file or an input the operator gave is not usable.
    #[error("{0}")]
    Config(String),
    /// The store failed while the node was doing `context`.
    #[error("{context}: {source}")]
    Store { context: String, source: bulwark_store::StoreError },
    /// A search index could not be rebuilt or opened.
    #[error("{context}: {source}")]
    Index { context: String, source: bulwark_index::IndexError },
    /// The system random number generator failed.
    #[error("{context}: {source}")]
    Random { context: String, source: bulwark_random::RandomError },
    /// The process could not start a runtime or a thread.
    #[error("{context}: {source}")]
    Runtime { context: &'static str, source: std::io::Error },
    /// A background task stopped before finishing (it panicked or was cancelled).
    #[error("{context} was interrupted: {detail}")]
    Interrupted { context: &'static str, detail: String },
    #[error("cannot bind {what} to [{addr}]: {source}")]
    Bind { what: &'static str, addr: String, source: std::io::Error },
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
