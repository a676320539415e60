//! Size- and age-based rotation of a JSON-lines log (`logger.rotation.*`): `<stem>.json` is
//! renamed to `<stem>-<n>.json` (n counting up, six digits) and a new `<stem>.json` started; only the
//! newest `max_files` rotated files are kept. Rotation happens between lines, never inside one.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bulwark_settings::logs::RotationSettings;

/// The current file of log `stem`.
pub fn current_file(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!("{stem}.json"))
}

/// The rotated files of log `stem`, oldest first, with their numbers.
pub fn rotated_files(dir: &Path, stem: &str) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let prefix = format!("{stem}-");
    let mut out: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix(&prefix)?.strip_suffix(".json")?;
            let valid = n.len() >= 6 && n.bytes().all(|b| b.is_ascii_digit());
            valid.then(|| n.parse().ok().map(|n| (n, e.path())))?
        })
        .collect();
    out.sort();
    out
}

/// An open, rotating log file.
pub struct Rotating {
    dir: PathBuf,
    stem: &'static str,
    policy: RotationSettings,
    mode: u32,
    out: BufWriter<File>,
    size: u64,
    opened: SystemTime,
}

fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(mode).open(path)
}

impl Rotating {
    /// Opens (appending to) `<dir>/<stem>.json`, created with `mode`.
    pub fn open(dir: &Path, stem: &'static str, policy: RotationSettings, mode: u32) -> io::Result<Rotating> {
        let path = current_file(dir, stem);
        let file = open_append(&path, mode)?;
        let meta = file.metadata()?;
        // The file's age counts from its creation (its last change when the file system keeps no
        // creation time), so a restart does not postpone a due rotation.
        let opened = meta.created().or_else(|_| meta.modified()).unwrap_or_else(|_| SystemTime::now());
        let (size, out) = (meta.len(), BufWriter::new(file));
        Ok(Rotating { dir: dir.to_path_buf(), stem, policy, mode, out, size, opened })
    }

    /// The current file's path.
    pub fn path(&self) -> PathBuf {
        current_file(&self.dir, self.stem)
    }

    /// Whether the file must be rotated before a line of `len` bytes is written to it.
    pub fn due(&self, len: usize) -> bool {
        let age = SystemTime::now().duration_since(self.opened).unwrap_or(Duration::ZERO);
        self.size > 0 && (self.size + len as u64 > self.policy.max_size || age >= self.policy.max_age)
    }

    /// Renames the current file to the next `<stem>-<n>.json` and starts a new one; returns the
    /// rotated file's path. Old files are not deleted here: see [`Rotating::excess`].
    pub fn rotate(&mut self) -> io::Result<PathBuf> {
        self.out.flush()?;
        let next = rotated_files(&self.dir, self.stem).last().map_or(1, |(n, _)| n + 1);
        let rotated = self.dir.join(format!("{}-{next:06}.json", self.stem));
        std::fs::rename(self.path(), &rotated)?;
        self.out = BufWriter::new(open_append(&self.path(), self.mode)?);
        self.size = 0;
        self.opened = SystemTime::now();
        Ok(rotated)
    }

    /// The rotated files beyond the retention limit, oldest first (to delete).
    pub fn excess(&self) -> Vec<PathBuf> {
        let files = rotated_files(&self.dir, self.stem);
        let n = files.len().saturating_sub(self.policy.max_files);
        files.into_iter().take(n).map(|(_, p)| p).collect()
    }

    /// Appends `line` and a newline (buffered).
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.out.write_all(line)?;
        self.out.write_all(b"\n")?;
        self.size += line.len() as u64 + 1;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The node log's writer: rotates and prunes as it goes, each event written through at once.
pub struct RotatingWriter(pub Rotating);

impl Write for RotatingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.due(buf.len()) {
            self.0.rotate()?;
            for old in self.0.excess() {
                let _ = std::fs::remove_file(old);
            }
        }
        self.0.out.write_all(buf)?;
        self.0.size += buf.len() as u64;
        self.0.out.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_age_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let policy = RotationSettings { max_size: 100, max_age: Duration::from_secs(3600), max_files: 2 };
        let mut w = RotatingWriter(Rotating::open(dir.path(), "node", policy, 0o640).unwrap());
        for i in 0..10 {
            w.write_all(format!("{{\"line\":{i},\"pad\":\"{}\"}}\n", "x".repeat(30)).as_bytes()).unwrap();
        }
        let rotated = rotated_files(dir.path(), "node");
        assert_eq!(rotated.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![3, 4]);
        for (_, p) in &rotated {
            let text = std::fs::read_to_string(p).unwrap();
            assert!(text.len() <= 100 && text.ends_with("}\n"), "{text}");
        }
        let current = std::fs::read_to_string(current_file(dir.path(), "node")).unwrap();
        assert!(current.contains("\"line\":9"));

        let policy = RotationSettings { max_age: Duration::from_secs(1), ..policy };
        let mut w = RotatingWriter(Rotating::open(dir.path(), "aged", policy, 0o640).unwrap());
        w.write_all(b"{}\n").unwrap();
        assert!(!w.0.due(3));
        std::thread::sleep(Duration::from_millis(1100));
        assert!(w.0.due(3), "an old file is rotated");
    }
}
