//! Replacing a file atomically: temp file beside it, fsync, rename, fsync the directory.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of every keystore file.
pub(crate) const FILE_MODE: u32 = 0o600;

/// Writes `bytes` to `path` so that readers see either the old file or the whole new one.
/// The new file has mode 0600. Refuses to replace a file owned by another user (the node,
/// running as that user, could no longer read a file this process would create).
pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the keystore path has no file name"))?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), random_suffix()?));
    let file = OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&tmp)?;
    crate::crash_point("keystore.temp-created");
    let written = fill_and_rename(file, &tmp, path, bytes);
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    crate::crash_point("keystore.renamed");
    File::open(dir)?.sync_all()
}

fn fill_and_rename(mut file: File, tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    // The umask cannot widen 0600, but an inherited ACL default or odd umask could narrow it
    // to something the owner cannot read; set it explicitly.
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    match fs::metadata(path) {
        Ok(existing) => {
            let ours = file.metadata()?.uid();
            if existing.uid() != ours {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "the existing file is owned by uid {} but this process runs as uid {ours}; \
                         run the command as the file's owner",
                        existing.uid()
                    ),
                ));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    file.write_all(&bytes[..bytes.len() / 2])?;
    crate::crash_point("keystore.half-written");
    file.write_all(&bytes[bytes.len() / 2..])?;
    file.sync_all()?;
    drop(file);
    crate::crash_point("keystore.before-rename");
    fs::rename(tmp, path)
}

fn random_suffix() -> io::Result<String> {
    let b = bulwark_random::bytes::<8>()?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Temp files a failed or interrupted save could have left in `dir` for `path` (for tests).
#[cfg(test)]
pub(crate) fn leftovers(path: &Path) -> Vec<std::path::PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!(".{name}."))))
        .collect()
}
