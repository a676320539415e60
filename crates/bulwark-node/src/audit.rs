//! The audit log, `logs/audit.json`: one JSON object per line, written by a background thread so
//! requests never wait for the disk. Each line carries `prev_hash`, the SHA-256 of the previous
//! line's bytes (64 zeros for the first), so editing or deleting a line breaks the chain;
//! `bulwark doctor` verifies it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};

use aws_lc_rs::digest;
use bulwark_security::audit::{AuditEvent, AuditSink};
use serde_json::Value;

use crate::NodeError;

/// The audit file inside the logs directory.
pub const AUDIT_FILE: &str = "audit.json";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn hash(line: &[u8]) -> String {
    digest::digest(&digest::SHA256, line).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A running audit log.
pub struct AuditLog {
    tx: Mutex<Sender<AuditEvent>>,
}

impl AuditLog {
    /// Opens (appending to) the audit file and starts the writer thread.
    pub fn open(logs: &Path) -> Result<AuditLog, NodeError> {
        let path = logs.join(AUDIT_FILE);
        let prev = last_line_hash(&path)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(NodeError::io("cannot open the audit log", &path))?;
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || writer(file, path, prev, rx))
            .map_err(|e| NodeError::Config(format!("cannot start the audit writer: {e}")))?;
        Ok(AuditLog { tx: Mutex::new(tx) })
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: AuditEvent) {
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(event);
        }
    }
}

fn last_line_hash(path: &Path) -> Result<String, NodeError> {
    match std::fs::File::open(path) {
        Ok(f) => {
            let mut last = None;
            for line in BufReader::new(f).split(b'\n') {
                let line = line.map_err(NodeError::io("cannot read the audit log", path))?;
                if !line.is_empty() {
                    last = Some(line);
                }
            }
            Ok(last.map_or_else(|| GENESIS.to_owned(), |l| hash(&l)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(GENESIS.to_owned()),
        Err(e) => Err(NodeError::io("cannot read the audit log", path)(e)),
    }
}

fn writer(file: std::fs::File, path: PathBuf, mut prev: String, rx: Receiver<AuditEvent>) {
    let mut out = std::io::BufWriter::new(file);
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(event) = next {
            let mut fields = event.fields();
            let mut line = serde_json::Map::new();
            line.insert(
                "@timestamp".into(),
                Value::from(crate::timestamp::iso8601(time::OffsetDateTime::now_utc())),
            );
            line.append(&mut fields);
            line.insert("prev_hash".into(), Value::from(prev.clone()));
            let Ok(bytes) = serde_json::to_vec(&line) else { break };
            if out.write_all(&bytes).and_then(|()| out.write_all(b"\n")).is_err() {
                tracing::error!("cannot write the audit log [{}]", path.display());
            }
            prev = hash(&bytes);
            next = rx.try_recv().ok();
        }
        if out.flush().is_err() {
            tracing::error!("cannot write the audit log [{}]", path.display());
        }
    }
}

/// Checks the hash chain; `Ok(lines)` when intact, else the first broken line (1-based) and why.
pub fn verify(path: &Path) -> Result<usize, (usize, String)> {
    let text = std::fs::read(path).map_err(|e| (0, format!("cannot read [{}]: {e}", path.display())))?;
    let mut prev = GENESIS.to_owned();
    let mut n = 0;
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        n += 1;
        let v: Value = serde_json::from_slice(line).map_err(|e| (i + 1, format!("not JSON: {e}")))?;
        let got = v.get("prev_hash").and_then(Value::as_str).unwrap_or_default();
        if got != prev {
            return Err((
                i + 1,
                "its prev_hash does not match the line before it: a line was edited, inserted or deleted"
                    .into(),
            ));
        }
        prev = hash(line);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use bulwark_security::audit::Origin;

    use super::*;

    fn event(i: usize) -> AuditEvent {
        AuditEvent::AuthenticationFailed {
            principal: format!("user{i}"),
            origin: Origin {
                address: IpAddr::V4(Ipv4Addr::LOCALHOST),
                method: "GET".into(),
                path: "/".into(),
            },
        }
    }

    fn wait_lines(path: &Path, n: usize) {
        for _ in 0..500 {
            if std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0) >= n {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("audit lines not written");
    }

    #[test]
    fn the_chain_verifies_continues_across_restarts_and_breaks_on_edits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_FILE);
        let log = AuditLog::open(dir.path()).unwrap();
        for i in 0..3 {
            log.record(event(i));
        }
        wait_lines(&path, 3);
        drop(log);
        let log = AuditLog::open(dir.path()).unwrap();
        log.record(event(3));
        wait_lines(&path, 4);
        assert_eq!(verify(&path), Ok(4));
        let text = std::fs::read_to_string(&path).unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["event.action"], "authentication_failed");
        assert_eq!(first["prev_hash"], GENESIS);

        let edited = text.replacen("user1", "userX", 1);
        std::fs::write(&path, &edited).unwrap();
        assert_eq!(verify(&path).unwrap_err().0, 3);
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&path, format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3])).unwrap();
        assert_eq!(verify(&path).unwrap_err().0, 2);
    }
}
