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
    #[error("{0}")]
    Config(String),
    #[error("cannot bind {what} to [{addr}]: {source}")]
    Bind { what: &'static str, addr: String, source: std::io::Error },
}

impl NodeError {
    /// An I/O error with its action and path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> NodeError {
        let path = path.into();
        move |source| NodeError::Io { action, path, source }
    }
}
