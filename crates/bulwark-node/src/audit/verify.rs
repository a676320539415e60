//! Verification of the audit log for `bulwark doctor`: every line's MAC, the chain across the
//! rotated files in order, and the files against the tail anchor (truncation, an emptied or
//! missing file, a deleted rotated file, a rewritten log).

use std::path::{Path, PathBuf};

use bulwark_settings::secure::AUDIT_CHAIN_KEY;

use super::AUDIT_STEM;
use super::chain::{ANCHOR_FILE, Anchor, ChainKey, Link, unseal};
use crate::rotate::{current_file, rotated_files};

/// What the doctor learns about the audit log.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No audit log, no anchor and no key: audit never ran here.
    Absent,
    /// Every line is in the chain.
    Intact {
        /// Lines checked.
        entries: u64,
        /// Files checked.
        files: usize,
    },
    /// Each problem names the file and what is wrong.
    Broken(Vec<String>),
}

/// The walk over the files, in chain order.
struct Walk {
    key: ChainKey,
    entries: u64,
    first: Option<(Link, PathBuf)>,
    last: Option<(Link, PathBuf)>,
    /// The previous line was unreadable or failed its MAC: continuity is not checked across it.
    after_bad: bool,
    /// The MAC found at the anchored sequence.
    at_anchor: Option<(String, PathBuf)>,
    problems: Vec<String>,
}

impl Walk {
    /// Checks the lines of `path`, read one at a time (a file is up to `logger.rotation.max_size`).
    fn file(&mut self, path: &Path, anchored: u64) {
        use std::io::BufRead;
        let cannot_read = |e: std::io::Error| format!("[{}] cannot be read: {e}", path.display());
        let mut reader = match std::fs::File::open(path) {
            Ok(f) => std::io::BufReader::with_capacity(64 << 10, f),
            Err(e) => return self.problems.push(cannot_read(e)),
        };
        let mut lines = 0;
        let mut buf = Vec::new();
        for i in 0.. {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return self.problems.push(cannot_read(e)),
            }
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if line.is_empty() {
                continue;
            }
            lines += 1;
            self.entries += 1;
            let link = match unseal(Some(&self.key), line) {
                Ok(l) => l,
                Err(why) => {
                    self.problems.push(format!("[{}] line {}: {why}", path.display(), i + 1));
                    self.after_bad = true;
                    continue;
                }
            };
            self.link(link, path, i + 1, anchored);
        }
        if lines == 0 && !is_current(path) {
            self.problems.push(format!("[{}] is empty: a rotated audit file was emptied", path.display()));
        }
    }

    fn link(&mut self, link: Link, path: &Path, line: usize, anchored: u64) {
        if let Some((prev, prev_path)) = &self.last
            && !self.after_bad
            && (link.sequence != prev.sequence + 1 || link.prev_mac != prev.mac)
        {
            self.problems.push(if prev_path != path {
                format!(
                    "entries {}..{} are missing between [{}] and [{}]: a rotated audit file was deleted or replaced",
                    prev.sequence + 1,
                    link.sequence.saturating_sub(1).max(prev.sequence + 1),
                    prev_path.display(),
                    path.display()
                )
            } else {
                format!(
                    "[{}] line {line}: entry {} does not follow entry {} before it: lines were deleted, inserted or reordered",
                    path.display(),
                    link.sequence,
                    prev.sequence
                )
            });
        }
        self.after_bad = false;
        if link.sequence == anchored {
            self.at_anchor = Some((link.mac.clone(), path.to_path_buf()));
        }
        if self.first.is_none() {
            self.first = Some((link.clone(), path.to_path_buf()));
        }
        self.last = Some((link, path.to_path_buf()));
    }
}

fn is_current(path: &Path) -> bool {
    path.file_name() == current_file(Path::new(""), AUDIT_STEM).file_name()
}

/// Verifies the audit files in `logs` against the anchor in `data`, under the chain key `key`
/// (`None`: not in the keystore).
pub fn verify(logs: &Path, data: &Path, key: Option<&[u8]>) -> Verdict {
    let anchor_path = data.join(ANCHOR_FILE);
    let current = current_file(logs, AUDIT_STEM);
    let rotated = rotated_files(logs, AUDIT_STEM);
    // Rotation numbers files without gaps (retention deletes only from the oldest end).
    let gaps: Vec<String> = rotated
        .windows(2)
        .flat_map(|w| (w[0].0 + 1..w[1].0).take(10))
        .map(|n| format!("[{}] is missing", logs.join(format!("{AUDIT_STEM}-{n:06}.json")).display()))
        .collect();
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    if current.exists() {
        files.push(current.clone());
    }
    let Some(key) = key else {
        return if files.is_empty() && !anchor_path.exists() {
            Verdict::Absent
        } else {
            Verdict::Broken(vec![format!(
                "the audit chain key [{AUDIT_CHAIN_KEY}] is not in the keystore, so the audit log cannot be verified"
            )])
        };
    };
    let key = ChainKey::new(key);
    let mut problems = gaps;
    let read = Anchor::read(&anchor_path, &key);
    match &read {
        Err(e) => problems.push(e.clone()),
        Ok(None) if files.is_empty() => problems.push(format!(
            "the audit log [{}] and its anchor [{}] are missing although the chain key exists: they were deleted (or moved aside: the node's next start begins a new chain)",
            current.display(),
            anchor_path.display()
        )),
        Ok(None) => problems.push(format!("the audit anchor [{}] is missing: it was deleted", anchor_path.display())),
        Ok(Some(_)) => {}
    }
    let anchor = read.ok().flatten();
    let anchored = anchor.as_ref().map_or(0, |a| a.sequence);
    let mut walk =
        Walk { key, entries: 0, first: None, last: None, after_bad: false, at_anchor: None, problems };
    for f in &files {
        walk.file(f, anchored);
    }
    if let Some(a) = &anchor {
        anchor_problems(a, &walk, &current).into_iter().for_each(|p| walk.problems.push(p));
    }
    if walk.problems.is_empty() {
        Verdict::Intact { entries: walk.entries, files: files.len() }
    } else {
        Verdict::Broken(walk.problems)
    }
}

fn anchor_problems(a: &Anchor, walk: &Walk, current: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((first, path)) = &walk.first
        && first.sequence > a.first_sequence
    {
        out.push(format!(
            "entries {}..{} are missing before [{}]: the oldest audit file(s) were deleted",
            a.first_sequence,
            first.sequence - 1,
            path.display()
        ));
    }
    let ends = walk.last.as_ref().map_or(0, |(l, _)| l.sequence);
    if ends < a.sequence {
        let how = match std::fs::metadata(current) {
            Err(_) => "deleted",
            Ok(m) if m.len() == 0 => "emptied",
            Ok(_) => "truncated",
        };
        out.push(format!(
            "[{}] was {how}: the audit log ends at entry {ends} but {} entries were written (anchor in [{}])",
            current.display(),
            a.sequence,
            a.file
        ));
    } else if let Some((mac, path)) = &walk.at_anchor
        && *mac != a.mac
    {
        out.push(format!(
            "[{}]: entry {} is not the one written (the anchor holds another MAC): the log was rewritten",
            path.display(),
            a.sequence
        ));
    }
    if let Some(b) = &a.broken {
        out.push(format!("at a start the node found that {b}"));
    }
    out
}
