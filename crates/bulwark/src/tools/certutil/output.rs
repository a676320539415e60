//! Writing what certutil makes: the choice of output file, new files created with mode 0600
//! (never over an existing file), and zip archives whose folders are 0700 and files 0600.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{Cursor, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::ask;
use crate::exit::{self, fail};
use crate::prompt;

/// Mode of every file certutil writes (they hold private keys, or sit next to them).
const FILE_MODE: u32 = 0o600;
/// Mode of folders inside zips: a folder needs its x bit to be entered.
const ZIP_DIR_MODE: u32 = 0o700;
/// Mode of folders certutil creates on disk for an output path.
const DIR_MODE: u32 = 0o750;

/// The output file: `flag`, else (on a terminal) the answer to a question, else `default`.
/// Fails when the file already exists.
pub fn choose(flag: Option<&Path>, default: &str) -> anyhow::Result<PathBuf> {
    let path = match flag {
        Some(p) => p.to_path_buf(),
        None if prompt::interactive() => PathBuf::from(ask::text("Output file", Some(default))?),
        None => PathBuf::from(default),
    };
    ensure_new(&path)?;
    Ok(path)
}

/// Fails (I/O error, 74) when `path` exists: certutil never replaces a file.
pub fn ensure_new(path: &Path) -> anyhow::Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(fail(
            exit::IO_ERROR,
            format!(
                "output file [{}] already exists; certutil never overwrites a file. Move it away, or \
                 choose another name with --out",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Creates `path` (mode 0600, which must not exist yet) holding `bytes`, creating missing parent
/// folders. On failure nothing is left behind.
pub fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir).map_err(|e| {
            fail(exit::IO_ERROR, format!("cannot create the folder [{}]: {e}", dir.display()))
        })?;
    }
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                fail(
                    exit::IO_ERROR,
                    format!(
                        "output file [{}] already exists; certutil never overwrites a file",
                        path.display()
                    ),
                )
            } else {
                fail(exit::IO_ERROR, format!("cannot create [{}]: {e}", path.display()))
            }
        })?;
    let written = file
        .set_permissions(fs::Permissions::from_mode(FILE_MODE))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(fail(exit::IO_ERROR, format!("cannot write [{}]: {e}", path.display())));
    }
    Ok(())
}

/// A zip archive built in memory. Folders are added for every file's parents, in the order they
/// are first needed.
pub struct Zip {
    writer: ZipWriter<Cursor<Vec<u8>>>,
    dirs: BTreeSet<String>,
    options: SimpleFileOptions,
}

impl Zip {
    pub fn new() -> Self {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(zip_time_now());
        Zip { writer: ZipWriter::new(Cursor::new(Vec::new())), dirs: BTreeSet::new(), options }
    }

    /// Adds `name` (a `/`-separated path such as `ca/ca.crt`) with mode 0600.
    pub fn file(&mut self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let mut prefix = String::new();
        let parts: Vec<&str> = name.split('/').collect();
        for dir in parts.iter().take(parts.len().saturating_sub(1)) {
            prefix.push_str(dir);
            prefix.push('/');
            if self.dirs.insert(prefix.clone()) {
                self.writer
                    .add_directory(prefix.as_str(), self.options.unix_permissions(ZIP_DIR_MODE))
                    .map_err(zip_failure)?;
            }
        }
        self.writer.start_file(name, self.options.unix_permissions(FILE_MODE)).map_err(zip_failure)?;
        self.writer.write_all(bytes).map_err(|e| zip_failure(e.into()))
    }

    /// The finished archive.
    pub fn finish(self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(self.writer.finish().map_err(zip_failure)?.into_inner()))
    }
}

fn zip_failure(e: zip::result::ZipError) -> anyhow::Error {
    fail(1, format!("cannot build the zip archive: {e}"))
}

/// The current time (UTC) as a zip timestamp.
fn zip_time_now() -> zip::DateTime {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let time = (|| {
        zip::DateTime::from_date_and_time(
            u16::try_from(y).ok()?,
            u8::try_from(m).ok()?,
            u8::try_from(d).ok()?,
            u8::try_from(rem / 3600).ok()?,
            u8::try_from(rem % 3600 / 60).ok()?,
            u8::try_from(rem % 60).ok()?,
        )
        .ok()
    })();
    time.unwrap_or_default()
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn zip_modes() {
        let mut zip = Zip::new();
        zip.file("a/b/c.txt", b"hello").unwrap();
        zip.file("a/d.txt", b"world").unwrap();
        let bytes = zip.finish().unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
        let mut seen = Vec::new();
        for i in 0..archive.len() {
            let f = archive.by_index(i).unwrap();
            seen.push((f.name().unwrap().into_owned(), f.unix_mode().map(|m| m & 0o777)));
        }
        assert_eq!(
            seen,
            vec![
                ("a/".to_owned(), Some(0o700)),
                ("a/b/".to_owned(), Some(0o700)),
                ("a/b/c.txt".to_owned(), Some(0o600)),
                ("a/d.txt".to_owned(), Some(0o600)),
            ]
        );
    }

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("x.p12");
        write_new(&path, b"one").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(write_new(&path, b"two").is_err());
        assert!(ensure_new(&path).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"one");
    }
}
