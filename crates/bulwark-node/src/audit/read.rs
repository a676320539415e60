//! Reading the audit log back for `GET /_bulwark/audit`: the files newest first (`audit.json`,
//! then the rotated ones from the highest number down), each streamed line by line, keeping the
//! newest matching lines of each. A file whose first line is not older than the cursor is skipped
//! after reading that line. Every returned line is checked against the chain key
//! (`audit.verified`); the chain's continuity is `bulwark doctor`'s job.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bulwark_rest::{AuditPage, AuditQuery, AuditTrail};
use serde_json::{Map, Value};

use super::chain::{ChainKey, unseal};
use super::{AUDIT_STEM, AuditLog};
use crate::rotate::{current_file, rotated_files};

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

/// One line that passed the filters.
struct Kept {
    fields: Map<String, Value>,
    line: Vec<u8>,
}

fn sequence(fields: &Map<String, Value>) -> Option<u64> {
    fields.get("audit.sequence").and_then(Value::as_u64)
}

fn matches(q: &AuditQuery, fields: &Map<String, Value>) -> bool {
    let action = fields.get("event.action").and_then(Value::as_str).unwrap_or_default();
    let user = fields.get("user.name").and_then(Value::as_str);
    (q.events.is_empty() || q.events.iter().any(|e| e == action))
        && q.user.as_deref().is_none_or(|u| user == Some(u))
}

/// The newest `want` lines of one file that match `q`, oldest first; counts unreadable lines.
fn scan(path: &Path, q: &AuditQuery, want: usize, unreadable: &mut u64) -> std::io::Result<VecDeque<Kept>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(VecDeque::new()),
        Err(e) => return Err(e),
    };
    let mut kept = VecDeque::new();
    let mut first = true;
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let Some(fields) =
            serde_json::from_slice::<Map<String, Value>>(&line).ok().filter(|f| sequence(f).is_some())
        else {
            *unreadable += 1;
            continue;
        };
        let seq = sequence(&fields).unwrap_or_default();
        if q.before.is_some_and(|b| seq >= b) {
            // Lines run in order: the rest of this file is newer still.
            if first {
                return Ok(VecDeque::new());
            }
            break;
        }
        first = false;
        if matches(q, &fields) {
            kept.push_back(Kept { fields, line });
            if kept.len() > want {
                kept.pop_front();
            }
        }
    }
    Ok(kept)
}

impl AuditFiles {
    fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![current_file(&self.logs, AUDIT_STEM)];
        files.extend(rotated_files(&self.logs, AUDIT_STEM).into_iter().rev().map(|(_, p)| p));
        files
    }
}

impl AuditTrail for AuditFiles {
    fn read(&self, q: &AuditQuery) -> Result<AuditPage, String> {
        self.log.sync();
        let mut page = AuditPage::default();
        for path in self.files() {
            let want = q.size - page.events.len();
            let kept = scan(&path, q, want, &mut page.unreadable_lines)
                .map_err(|e| format!("[{}]: {e}", path.display()))?;
            for Kept { mut fields, line } in kept.into_iter().rev() {
                let verified = unseal(Some(&self.key), &line).is_ok();
                fields.insert("audit.verified".into(), Value::Bool(verified));
                page.events.push(Value::Object(fields));
            }
            if page.events.len() >= q.size {
                page.next_before =
                    page.events.last().and_then(|e| e.get("audit.sequence")).and_then(Value::as_u64);
                break;
            }
        }
        Ok(page)
    }
}
