//! The data format version file, `FORMAT`, in the store directory.
//!
//! It holds one line, `bulwark-store <version>`, and is written before any other store file, so a
//! directory with store files and no `FORMAT` file was not written by Bulwark (or was damaged). A
//! version newer than [`FORMAT_VERSION`] is refused: this build cannot know what changed.
//!
//! Versions: 1 held each document as the JSON of a `StoredDoc`; 2 writes compact records (see
//! `document::encode_record`) and still reads the JSON ones; 3 compresses the sources of an
//! index's records once it has a source dictionary (`document::SourceCodec`) and reads both older
//! kinds. A directory of an older version is marked 3 when opened, before anything is written, so
//! that an older build refuses it from then on.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::StoreError;

/// The data format version this build writes (and reads, with the older [`UPGRADED_VERSIONS`]).
pub const FORMAT_VERSION: u32 = 3;

/// Older versions this build reads, and marks as [`FORMAT_VERSION`] when it opens them.
const UPGRADED_VERSIONS: &[u32] = &[1, 2];

/// The format file's name inside the store directory.
pub const FORMAT_FILE: &str = "FORMAT";

const MAGIC: &str = "bulwark-store";

/// Most bytes of the format file that are read; a longer file is not a format file.
const MAX_LEN: u64 = 256;

/// Creates the store directory and its format file, or checks the format file of an existing one.
///
/// `store_files` are the names of the files that only exist after a first open; finding one of
/// them without a format file is an error rather than a fresh start.
pub(crate) fn check_or_create(dir: &Path, store_files: &[&str]) -> Result<u32, StoreError> {
    fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        action: "create the store directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(FORMAT_FILE);
    match fs::File::open(&path) {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(MAX_LEN + 1).read_to_end(&mut bytes).map_err(|source| StoreError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?;
            let version = parse(&String::from_utf8_lossy(&bytes))
                .map_err(|found| invalid(&path, &found))?
                .check(&path)?;
            if version != FORMAT_VERSION {
                write_new(dir, &path)?;
                tracing::info!(store = %dir.display(), "store data format upgraded from version {version} to {FORMAT_VERSION}");
            }
            Ok(version)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if store_files.iter().any(|f| dir.join(f).exists()) {
                return Err(StoreError::MissingFormat { path: dir.to_path_buf() });
            }
            write_new(dir, &path)?;
            Ok(FORMAT_VERSION)
        }
        Err(source) => Err(StoreError::Io { action: "open", path, source }),
    }
}

/// A parsed format line.
#[derive(Debug, PartialEq, Eq)]
struct Format(u32);

impl Format {
    fn check(self, path: &Path) -> Result<u32, StoreError> {
        match self.0 {
            v if v > FORMAT_VERSION => {
                Err(StoreError::NewerFormat { path: path.to_path_buf(), found: v, supported: FORMAT_VERSION })
            }
            v if v == FORMAT_VERSION || UPGRADED_VERSIONS.contains(&v) => Ok(v),
            v => Err(invalid(path, &format!("{MAGIC} {v}"))),
        }
    }
}

/// Parses `bulwark-store <version>` (one trailing newline allowed); the error is the text found.
fn parse(text: &str) -> Result<Format, String> {
    let line = text.strip_suffix('\n').unwrap_or(text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let version = line
        .strip_prefix(MAGIC)
        .and_then(|rest| rest.strip_prefix(' '))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u32>().ok());
    match version {
        Some(v) => Ok(Format(v)),
        None => Err(text.chars().take(64).collect()),
    }
}

fn invalid(path: &Path, found: &str) -> StoreError {
    StoreError::InvalidFormat {
        path: path.to_path_buf(),
        found: found.to_string(),
        supported: FORMAT_VERSION,
    }
}

/// Writes the format file atomically: a temporary file, fsync, rename, fsync of the directory.
fn write_new(dir: &Path, path: &Path) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{FORMAT_FILE}.tmp"));
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| StoreError::Io { action, path: p, source }
    };
    let mut file = fs::File::create(&tmp).map_err(io("create", &tmp))?;
    file.write_all(format!("{MAGIC} {FORMAT_VERSION}\n").as_bytes()).map_err(io("write", &tmp))?;
    file.sync_all().map_err(io("sync", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io("rename into place", path))?;
    sync_dir(dir)
}

/// Makes a rename or file creation in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|source| StoreError::Io {
        action: "sync the directory",
        path: dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_format_line() {
        assert_eq!(parse("bulwark-store 1\n"), Ok(Format(1)));
        assert_eq!(parse("bulwark-store 1"), Ok(Format(1)));
        assert_eq!(parse("bulwark-store 12\r\n"), Ok(Format(12)));
        for bad in [
            "",
            "bulwark-store",
            "bulwark-store ",
            "bulwark-store x",
            "bulwark-store +1",
            "other 1",
            "bulwark-store 1\n\n",
            "bulwark-store 99999999999",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn fresh_directory_gets_a_format_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        assert_eq!(check_or_create(&store, &["state.redb"]).unwrap(), FORMAT_VERSION);
        assert_eq!(fs::read_to_string(store.join(FORMAT_FILE)).unwrap(), "bulwark-store 3\n");
        assert_eq!(check_or_create(&store, &["state.redb"]).unwrap(), FORMAT_VERSION);
        assert!(!store.join("FORMAT.tmp").exists());
    }

    #[test]
    fn newer_format_is_refused_naming_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FORMAT_FILE), "bulwark-store 7\n").unwrap();
        let err = check_or_create(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, StoreError::NewerFormat { found: 7, supported: 3, .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("version 7") && msg.contains("version 3"), "{msg}");
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    }

    #[test]
    fn garbage_format_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FORMAT_FILE), b"\x00\xffnot a format\n").unwrap();
        let err = check_or_create(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, StoreError::InvalidFormat { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("FORMAT") && msg.contains("bulwark-store 3"), "{msg}");

        fs::write(dir.path().join(FORMAT_FILE), "bulwark-store 0\n").unwrap();
        assert!(matches!(check_or_create(dir.path(), &[]), Err(StoreError::InvalidFormat { .. })));

        fs::write(dir.path().join(FORMAT_FILE), vec![b'x'; 10_000]).unwrap();
        assert!(matches!(check_or_create(dir.path(), &[]), Err(StoreError::InvalidFormat { .. })));
    }

    #[test]
    fn older_directories_are_read_and_marked_version_3() {
        for old in [1, 2] {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join(FORMAT_FILE), format!("bulwark-store {old}\n")).unwrap();
            assert_eq!(check_or_create(dir.path(), &["state.redb"]).unwrap(), old);
            assert_eq!(fs::read_to_string(dir.path().join(FORMAT_FILE)).unwrap(), "bulwark-store 3\n");
            assert_eq!(check_or_create(dir.path(), &["state.redb"]).unwrap(), 3);
        }
    }

    #[test]
    fn store_files_without_format_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("state.redb"), b"").unwrap();
        let err = check_or_create(dir.path(), &["state.redb"]).unwrap_err();
        assert!(matches!(err, StoreError::MissingFormat { .. }), "{err:?}");
    }
}
