//! Atomic, permission-aware file writes for keys, keystores and certificates.
//!
//! A file is written under a temporary name in the same directory (created with `create_new` and
//! its final mode, so a private key is never readable by others even for an instant), synced,
//! renamed over the destination, and the directory is synced so the rename survives a crash. A
//! reader therefore sees either the old file or the complete new one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::PkiError;

/// Mode of private keys, keystores and PKCS#12 files.
pub const PRIVATE_MODE: u32 = 0o600;
/// Mode of certificates and other public material.
pub const PUBLIC_MODE: u32 = 0o644;

/// Atomically writes `bytes` to `path` with mode 0600 (owner read/write only).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    write_atomic(path, bytes, PRIVATE_MODE)
}

/// Atomically writes `bytes` to `path` with mode 0644.
pub fn write_public_file(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    write_atomic(path, bytes, PUBLIC_MODE)
}

/// Reads a whole file, naming the path in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(|e| PkiError::io("read", path, e))
}

/// Atomically writes `bytes` to `path` with exactly `mode` (the umask does not apply).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PkiError> {
    let file_name = path
        .file_name()
        .ok_or_else(|| PkiError::io("write", path, std::io::Error::other("the path has no file name")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp_path, mut file) = create_temp(&dir, &file_name.to_string_lossy(), mode)?;
    let result = (|| {
        file.write_all(bytes).map_err(|e| PkiError::io("write", &tmp_path, e))?;
        // create_new applied `mode` minus the umask; set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| PkiError::io("set permissions of", &tmp_path, e))?;
        file.sync_all().map_err(|e| PkiError::io("sync", &tmp_path, e))?;
        drop(file);
        fs::rename(&tmp_path, path).map_err(|e| PkiError::io("rename into place", path, e))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
        return result;
    }
    File::open(&dir).and_then(|d| d.sync_all()).map_err(|e| PkiError::io("sync directory", &dir, e))
}

fn create_temp(dir: &Path, name: &str, mode: u32) -> Result<(PathBuf, File), PkiError> {
    let mut last_err = None;
    for _ in 0..8 {
        let random = bulwark_random::bytes::<8>()
            .map_err(|e| PkiError::io("create a temporary file in", dir, e.into()))?;
        let tmp_path = dir.join(format!(".{name}.{}.tmp", hex::encode(random)));
        match OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp_path) {
            Ok(file) => return Ok((tmp_path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(PkiError::io("create a temporary file in", dir, e)),
        }
    }
    let err = last_err.unwrap_or_else(|| std::io::Error::other("could not find a free temporary name"));
    Err(PkiError::io("create a temporary file in", dir, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_file_mode_and_no_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        write_private_file(&path, b"first").unwrap();
        assert_eq!(mode_of(&path), 0o600);
        // Overwrite an existing, more open file: the result is 0600 again.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_private_file(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(mode_of(&path), 0o600);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("node.key")]);
    }

    #[test]
    fn public_file_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.crt");
        write_public_file(&path, b"cert").unwrap();
        assert_eq!(mode_of(&path), 0o644);
        assert_eq!(read_file(&path).unwrap(), b"cert");
    }

    #[test]
    fn failure_names_the_path_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("x.key");
        let err = write_private_file(&missing, b"x").unwrap_err();
        assert!(err.to_string().contains("no-such-dir"), "{err}");
        // Renaming onto a directory fails after the temp file was written: it must be removed.
        let target = dir.path().join("occupied");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inner"), b"x").unwrap();
        assert!(write_private_file(&target, b"x").is_err());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("occupied")]);
    }
}
