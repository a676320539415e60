//! Small file helpers: atomic JSON state files, directory checks.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::NodeError;

/// Reads a JSON file; `Ok(None)` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, NodeError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            NodeError::Config(format!(
                "state file [{}] is not valid: {e}; restore it from a backup",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NodeError::io("cannot read", path)(e)),
    }
}

/// Writes a JSON file atomically with mode 0600.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), NodeError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| NodeError::Config(e.to_string()))?;
    bulwark_pki::write_private_file(path, &bytes)?;
    Ok(())
}

/// Whether a directory is missing or empty.
pub fn dir_is_empty(path: &Path) -> Result<bool, NodeError> {
    match std::fs::read_dir(path) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(NodeError::io("cannot read directory", path)(e)),
    }
}

/// Creates a directory (and parents) with the given mode on the last component.
pub fn create_dir(path: &Path, mode: u32) -> Result<(), NodeError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !path.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(path)
            .map_err(NodeError::io("cannot create directory", path))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(NodeError::io("cannot set permissions of", path))
}
