//! Reading the audit log back for `GET /_bulwark/audit`: the files newest first (`audit.json`,
//! then the rotated ones from the highest number down), each read *backwards* from its end, or
//! from the cursor (`before`), which a binary search over the file's sequence numbers finds.
//! Every returned line is checked against the chain key (`audit.verified`); the chain's
//! continuity is `bulwark doctor`'s job.
//!
//! One request reads a bounded amount: at most [`Limits::budget`] bytes in all (a filter that
//! matches nothing cannot make it read the whole log), and no line longer than
//! [`Limits::max_line`] is held in memory (such a line counts as unreadable). A page cut short by
//! the budget says so (`partial`) and carries the cursor of the oldest line it read, so the next
//! request goes on from there: nothing is skipped, nothing is returned twice.

use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bulwark_rest::{AuditPage, AuditQuery, AuditTrail};
use serde_json::{Map, Value};

use super::chain::{ChainKey, unseal};
use super::{AUDIT_STEM, AuditLog};
use crate::rotate::{current_file, rotated_files};

/// How much one request may read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes read from the files in all (each file opened counts at least one block).
    pub budget: u64,
    /// The longest line kept; a longer one is skipped and counted as unreadable.
    pub max_line: usize,
}

impl Limits {
    /// What a request may read: 16 MiB (some 30,000 entries), lines up to 1 MiB.
    pub const DEFAULT: Limits = Limits { budget: 16 << 20, max_line: 1 << 20 };
}

/// The unit of reading backwards.
const BLOCK: usize = 64 << 10;
/// The unit of reading a line forwards (the bisection's probes).
const PROBE: usize = 4 << 10;

/// The node's audit log, read back.
pub struct AuditFiles {
    logs: PathBuf,
    key: ChainKey,
    /// Flushed before each read, so a page holds everything recorded until then.
    log: Arc<AuditLog>,
}

impl AuditFiles {
    /// The reader of the audit log in `logs`, sealed under `key`, written by `log`.
    pub fn new(logs: &Path, key: &[u8], log: Arc<AuditLog>) -> AuditFiles {
        AuditFiles { logs: logs.to_path_buf(), key: ChainKey::new(key), log }
    }
}

/// The audit files of `logs`, newest first.
pub(super) fn files_newest_first(logs: &Path) -> Vec<PathBuf> {
    let mut files = vec![current_file(logs, AUDIT_STEM)];
    files.extend(rotated_files(logs, AUDIT_STEM).into_iter().rev().map(|(_, p)| p));
    files
}

fn sequence(fields: &Map<String, Value>) -> Option<u64> {
    fields.get("audit.sequence").and_then(Value::as_u64)
}

fn parse(line: &[u8]) -> Option<Map<String, Value>> {
    serde_json::from_slice::<Map<String, Value>>(line).ok().filter(|f| sequence(f).is_some())
}

fn matches(q: &AuditQuery, fields: &Map<String, Value>) -> bool {
    let action = fields.get("event.action").and_then(Value::as_str).unwrap_or_default();
    let user = fields.get("user.name").and_then(Value::as_str);
    (q.events.is_empty() || q.events.iter().any(|e| e == action))
        && q.user.as_deref().is_none_or(|u| user == Some(u))
}

/// What this request has read so far, over all files.
struct Spent {
    /// Bytes read.
    read: Cell<u64>,
    /// Whether a line older than the cursor was looked at: the budget stops a request only after
    /// that, so each request moves the cursor (skipping newer lines costs at most a block, thanks
    /// to the bisection).
    progress: Cell<bool>,
    limits: Limits,
}

impl Spent {
    fn exhausted(&self) -> bool {
        self.progress.get() && self.read.get() >= self.limits.budget
    }
}

/// One open file.
struct Reader<'a> {
    file: File,
    len: u64,
    spent: &'a Spent,
    limits: Limits,
}

/// Why a backwards walk ended.
#[derive(PartialEq, Eq)]
enum Stop {
    /// At the file's first line.
    Start,
    /// The visitor had enough.
    Enough,
    /// The request's budget is spent.
    Budget,
}

impl Reader<'_> {
    /// Up to `n` bytes at `at`.
    fn bytes_at(&mut self, at: u64, n: usize) -> std::io::Result<Vec<u8>> {
        let n = usize::try_from((self.len.saturating_sub(at)).min(n as u64)).unwrap_or(n);
        let mut buf = vec![0; n];
        self.file.seek(SeekFrom::Start(at))?;
        self.file.read_exact(&mut buf)?;
        self.spent.read.set(self.spent.read.get().saturating_add(n.max(1) as u64));
        Ok(buf)
    }

    /// The bytes from `from` up to the next newline before `end` (not included), and where that
    /// newline is; `None` when there is none within `max_line` bytes or the budget is spent.
    fn through_newline(&mut self, from: u64, end: u64) -> std::io::Result<Option<(Vec<u8>, u64)>> {
        let mut bytes = Vec::new();
        let mut pos = from;
        while pos < end && bytes.len() <= self.limits.max_line {
            let chunk = self.bytes_at(pos, PROBE.min(usize::try_from(end - pos).unwrap_or(PROBE)))?;
            if chunk.is_empty() {
                break;
            }
            if let Some(i) = chunk.iter().position(|b| *b == b'\n') {
                bytes.extend_from_slice(&chunk[..i]);
                return Ok(Some((bytes, pos + i as u64)));
            }
            pos += chunk.len() as u64;
            bytes.extend_from_slice(&chunk);
        }
        Ok(None)
    }

    /// The first whole line that starts at or after `at`: its start and its sequence number.
    /// `None` when there is none before `end`, or it has no sequence number, or a line in the way
    /// is longer than a line may be.
    fn line_after(&mut self, at: u64, end: u64) -> std::io::Result<Option<(u64, u64)>> {
        let start = if at == 0 {
            0
        } else {
            // The end of the line the byte before `at` is in.
            match self.through_newline(at - 1, end)? {
                Some((_, newline)) => newline + 1,
                None => return Ok(None),
            }
        };
        if start >= end {
            return Ok(None);
        }
        let line = self.through_newline(start, end)?;
        Ok(line.and_then(|(l, _)| parse(&l)).and_then(|f| sequence(&f)).map(|s| (start, s)))
    }

    /// Where to start reading backwards so that every line with a sequence number below `before`
    /// is still ahead: a line boundary, found by bisecting on the lines' sequence numbers.
    /// The probes read a few KiB each (a line at most), whatever is left of the budget.
    fn end_before(&mut self, before: u64) -> std::io::Result<u64> {
        // A file that starts at or after the cursor is newer than it: skipped whole.
        if let Some((_, first)) = self.line_after(0, self.len)?
            && first >= before
        {
            return Ok(0);
        }
        let (mut lo, mut hi) = (0, self.len);
        // Each step halves the range or ends it: at most 64 steps.
        for _ in 0..64 {
            if hi - lo <= BLOCK as u64 {
                break;
            }
            let mid = lo + (hi - lo) / 2;
            match self.line_after(mid, hi)? {
                Some((start, seq)) if seq >= before => hi = start,
                Some((start, _)) => lo = start,
                None => break,
            }
        }
        Ok(hi)
    }

    /// Walks the lines before `end` backwards, newest first, until `visit` says stop or the
    /// budget is spent. Overlong lines are counted in `unreadable` and skipped.
    fn backwards(
        &mut self,
        end: u64,
        unreadable: &mut u64,
        mut visit: impl FnMut(&[u8]) -> bool,
    ) -> std::io::Result<Stop> {
        let mut pos = end;
        // The bytes of the line that runs into the block read last (its beginning not yet read).
        let mut carry: Vec<u8> = Vec::new();
        let mut overlong = false;
        while pos > 0 {
            if self.spent.exhausted() {
                return Ok(Stop::Budget);
            }
            let from = pos.saturating_sub(BLOCK as u64);
            let mut block = self.bytes_at(from, usize::try_from(pos - from).unwrap_or(BLOCK))?;
            pos = from;
            block.extend_from_slice(&carry);
            let mut lines: Vec<&[u8]> = block.split(|b| *b == b'\n').collect();
            // The first piece may begin before this block.
            let head = if pos > 0 { lines.remove(0) } else { &[] };
            for (i, line) in lines.iter().enumerate().rev() {
                let last_piece = i + 1 == lines.len();
                if last_piece && overlong {
                    // The end of an overlong line read earlier.
                    overlong = false;
                    *unreadable += 1;
                    continue;
                }
                if line.is_empty() {
                    continue;
                }
                if line.len() > self.limits.max_line {
                    *unreadable += 1;
                } else if !visit(line) {
                    return Ok(Stop::Enough);
                }
            }
            carry = head.to_vec();
            if carry.len() > self.limits.max_line {
                carry.clear();
                overlong = true;
            }
        }
        Ok(Stop::Start)
    }
}

/// What the node itself reads: no budget, lines up to [`Limits::DEFAULT`]'s.
fn no_budget() -> Spent {
    let limits = Limits { budget: u64::MAX, ..Limits::DEFAULT };
    Spent { read: Cell::new(0), progress: Cell::new(false), limits }
}

/// `path` and its length; `None` when it does not exist.
fn open(path: &Path) -> std::io::Result<Option<(File, u64)>> {
    match File::open(path) {
        Ok(file) => {
            let len = file.metadata()?.len();
            Ok(Some((file, len)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Walks the lines of `path` backwards from its end, newest first, until `visit` says stop
/// (overlong lines skipped): what a start reads of the log, however long it is.
pub(super) fn walk_back(path: &Path, visit: impl FnMut(&[u8]) -> bool) -> std::io::Result<()> {
    let Some((file, len)) = open(path)? else { return Ok(()) };
    let spent = no_budget();
    let mut r = Reader { file, len, spent: &spent, limits: spent.limits };
    r.backwards(len, &mut 0, visit).map(|_| ())
}

/// The first non-empty line of `path`, read a probe at a time; `None` when there is none, or it
/// is overlong or not ended by a newline.
pub(super) fn first_line(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let Some((file, len)) = open(path)? else { return Ok(None) };
    let spent = no_budget();
    let mut r = Reader { file, len, spent: &spent, limits: spent.limits };
    let mut at = 0;
    while let Some((line, newline)) = r.through_newline(at, len)? {
        if !line.is_empty() {
            return Ok(Some(line));
        }
        at = newline + 1;
    }
    Ok(None)
}

/// One page of the files (newest first) under `limits`, and the bytes read for it.
pub(super) fn page(
    files: &[PathBuf],
    key: &ChainKey,
    q: &AuditQuery,
    limits: Limits,
) -> Result<(AuditPage, u64), String> {
    let mut page = AuditPage::default();
    let spent = Spent { read: Cell::new(0), progress: Cell::new(false), limits };
    // The oldest sequence number looked at: the cursor when the budget ends the page.
    let oldest: Cell<Option<u64>> = Cell::new(None);
    let mut kept = Vec::new();
    for path in files {
        let err = |e: std::io::Error| format!("[{}]: {e}", path.display());
        if spent.exhausted() {
            page.partial = true;
            break;
        }
        let Some((file, len)) = open(path).map_err(err)? else { continue };
        let mut r = Reader { file, len, spent: &spent, limits };
        let end = match q.before {
            Some(b) => r.end_before(b).map_err(err)?,
            None => len,
        };
        let (mut overlong, mut unparsed) = (0, 0);
        let stop = r
            .backwards(end, &mut overlong, |line| {
                let Some(fields) = parse(line) else {
                    unparsed += 1;
                    spent.progress.set(true);
                    return true;
                };
                let seq = sequence(&fields).unwrap_or_default();
                if q.before.is_some_and(|b| seq >= b) {
                    return true;
                }
                spent.progress.set(true);
                oldest.set(Some(seq));
                if matches(q, &fields) {
                    kept.push((fields, line.to_vec()));
                }
                kept.len() < q.size
            })
            .map_err(err)?;
        page.unreadable_lines += overlong + unparsed;
        match stop {
            Stop::Start => {}
            Stop::Enough => break,
            Stop::Budget => {
                page.partial = true;
                break;
            }
        }
    }
    for (mut fields, line) in kept {
        let verified = unseal(Some(key), &line).is_ok();
        fields.insert("audit.verified".into(), Value::Bool(verified));
        page.events.push(Value::Object(fields));
    }
    page.next_before = if page.events.len() >= q.size {
        page.partial = false;
        page.events.last().and_then(|e| e.get("audit.sequence")).and_then(Value::as_u64)
    } else if page.partial {
        oldest.get()
    } else {
        None
    };
    Ok((page, spent.read.get()))
}

impl AuditTrail for AuditFiles {
    fn read(&self, q: &AuditQuery) -> Result<AuditPage, String> {
        self.log.sync();
        page(&files_newest_first(&self.logs), &self.key, q, Limits::DEFAULT).map(|(page, _)| page)
    }
}
