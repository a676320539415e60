//! The audit log, `logs/audit.json`: one JSON object per line, written in batches by a background
//! thread so requests never wait for the disk (nor wake the thread). Lines are sealed into a keyed chain ([`chain`]); the tail
//! anchor `data/audit.anchor` follows the writes at most [`ANCHOR_DELAY`] behind, and at once on
//! rotation and shutdown. Files rotate by `logger.rotation.*`; the chain runs on across them.
//! `bulwark doctor` verifies it all ([`verify`]).

pub mod chain;
pub mod read;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use bulwark_security::audit::{AuditEvent, AuditFilter, AuditSink, FieldValue};
use bulwark_settings::logs::RotationSettings;

use self::chain::{ANCHOR_FILE, Anchor, ChainKey, Link, unseal};
use crate::NodeError;
use crate::rotate::{Rotating, current_file, rotated_files};

/// The audit log's name: `audit.json`, rotated to `audit-<n>.json`.
pub const AUDIT_STEM: &str = "audit";
/// The file being written, as the anchor names it.
const CURRENT_FILE: &str = "audit.json";
/// The longest the anchor lags behind the written lines, give or take one [`LINGER`] (the
/// bounded gap in which truncation goes unnoticed).
pub const ANCHOR_DELAY: Duration = Duration::from_millis(200);
/// How long the writer lets events gather after writing a batch. Meanwhile requests hand their
/// events over without waking it (no futex wake, no context switch, no `write` per request);
/// under load the log is written in batches of this period. 5 ms rather than 20: a batch then
/// holds a core for a quarter of the time, which halved the p99 of `GET /` under load (1.3 ->
/// 0.6 ms) for no CPU measurable side by side (docs/profiling.md, session 15).
const LINGER: Duration = Duration::from_millis(5);

/// The chain key from the keystore; on the first start with audit on, 32 random bytes are added
/// (creating the keystore, protected by `password`, when there is none).
pub fn chain_key(
    home: &bulwark_settings::Home,
    keystore: &mut Option<bulwark_keystore::Keystore>,
    password: &secrecy::SecretString,
) -> Result<zeroize::Zeroizing<Vec<u8>>, NodeError> {
    use bulwark_settings::secure::AUDIT_CHAIN_KEY;
    let ks = match keystore {
        Some(ks) => ks,
        None => keystore.insert(bulwark_keystore::Keystore::new()?),
    };
    if let Some(k) = ks.get(AUDIT_CHAIN_KEY) {
        return Ok(zeroize::Zeroizing::new(k.to_vec()));
    }
    let mut key = zeroize::Zeroizing::new(vec![0u8; 32]);
    bulwark_random::fill(&mut key).map_err(NodeError::random("the audit chain key"))?;
    ks.set(AUDIT_CHAIN_KEY, key.clone())?;
    crate::files::create_dir(home.config_dir(), 0o750)?;
    ks.save(&home.keystore_file(), password)?;
    tracing::info!(
        "added the audit chain key [{AUDIT_CHAIN_KEY}] to the keystore [{}]",
        home.keystore_file().display()
    );
    Ok(key)
}

/// Where an audit log lives and how it is kept.
pub struct AuditConfig<'a> {
    /// `path.logs`: where the audit log is written.
    pub logs: &'a Path,
    /// `path.data`: where its anchor is kept.
    pub data: &'a Path,
    /// The chain key.
    pub key: &'a [u8],
    /// When files rotate.
    pub rotation: RotationSettings,
    /// Which events are written.
    pub filter: AuditFilter,
}

enum Message {
    Event(AuditEvent),
    /// Flush and anchor, then answer.
    Sync(Sender<()>),
}

/// A running audit log.
pub struct AuditLog {
    tx: Sender<Message>,
    filter: AuditFilter,
}

/// The newest lines written, newest first, and the name of their file (the newest non-empty one):
/// read backwards from its end down to the line numbered `down_to` (the anchor's; 0 for just the
/// last line), so a start reads what followed the anchor, not the whole file.
fn tail(logs: &Path, down_to: u64) -> Result<(Vec<Link>, String), NodeError> {
    for path in read::files_newest_first(logs) {
        let mut links = Vec::new();
        read::walk_back(&path, |line| {
            let Ok(link) = unseal(None, line) else { return true };
            let more = link.sequence > down_to && down_to > 0;
            links.push(link);
            more
        })
        .map_err(NodeError::io("cannot read the audit log", &path))?;
        if !links.is_empty() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            return Ok((links, name));
        }
    }
    Ok((Vec::new(), String::new()))
}

/// What the node finds wrong with the log against its anchor at start (the doctor says more).
fn check_against(anchor: &Anchor, last: Option<&Link>, links: &[Link]) -> Option<String> {
    if anchor.sequence == 0 {
        return None;
    }
    let Some(last) = last else {
        return Some(format!(
            "the audit log was emptied or deleted: {} entries had been written",
            anchor.sequence
        ));
    };
    if last.sequence < anchor.sequence {
        return Some(format!(
            "the audit log was truncated: it ends at sequence {} but sequence {} had been written",
            last.sequence, anchor.sequence
        ));
    }
    let at = links.iter().find(|l| l.sequence == anchor.sequence).map(|l| &l.mac);
    let next = links.iter().find(|l| l.sequence == anchor.sequence + 1).map(|l| &l.prev_mac);
    match at.or(next) {
        Some(mac) if *mac != anchor.mac => Some(format!(
            "entry {} of the audit log is not the one written: the log was rewritten",
            anchor.sequence
        )),
        _ => None,
    }
}

impl AuditLog {
    /// Opens (appending to) the audit log, continues its chain and starts the writer thread.
    pub fn open(config: AuditConfig<'_>) -> Result<AuditLog, NodeError> {
        let key = ChainKey::new(config.key);
        let anchor_path = config.data.join(ANCHOR_FILE);
        let stored = Anchor::read(&anchor_path, &key);
        let down_to = stored.as_ref().ok().and_then(|a| a.as_ref()).map_or(0, |a| a.sequence);
        let (links, file) = tail(config.logs, down_to)?;
        let last = links.first();
        let mut anchor = match stored {
            Ok(Some(a)) => a,
            Ok(None) if last.is_none() => Anchor::empty(CURRENT_FILE),
            Ok(None) => Anchor {
                broken: Some(format!("the audit anchor [{}] was missing", anchor_path.display())),
                ..Anchor::empty(&file)
            },
            Err(e) => Anchor { broken: Some(e), ..Anchor::empty(&file) },
        };
        if let Some(why) = check_against(&anchor, last, &links) {
            tracing::error!(
                "{why}; `bulwark doctor` reports it until the log and its anchor are moved aside"
            );
            anchor.broken.get_or_insert(why);
        }
        if let Some(l) = last {
            (anchor.sequence, anchor.mac, anchor.file) = (l.sequence, l.mac.clone(), file);
        }
        if anchor.broken.is_some() {
            // The retention floor becomes what is left.
            anchor.first_sequence = oldest_link(config.logs).map_or(anchor.sequence + 1, |l| l.sequence);
        }
        anchor
            .write(&anchor_path, &key)
            .map_err(|e| NodeError::Config(format!("cannot write the audit anchor: {e}")))?;
        let out = Rotating::open(config.logs, AUDIT_STEM, config.rotation, 0o600)
            .map_err(NodeError::io("cannot open the audit log", &current_file(config.logs, AUDIT_STEM)))?;
        let (tx, rx) = channel();
        let writer = Writer {
            out,
            key,
            anchor,
            anchor_path,
            anchored: Instant::now(),
            pending: false,
            line: Vec::new(),
            clock: Clock::default(),
        };
        std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || writer.run(rx))
            .map_err(|source| NodeError::Runtime { context: "cannot start the audit writer", source })?;
        Ok(AuditLog { tx, filter: config.filter })
    }

    /// Writes out everything recorded so far and anchors it (at shutdown); waits at most 5 s.
    pub fn sync(&self) {
        let (tx, rx) = channel();
        if self.tx.send(Message::Sync(tx)).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: AuditEvent) {
        if self.filter.admits(&event) {
            let _ = self.tx.send(Message::Event(event));
        }
    }
}

/// The first line of the oldest audit file.
fn oldest_link(logs: &Path) -> Option<Link> {
    read::files_newest_first(logs).iter().rev().find_map(|p| first_link(p))
}

/// The first line of `path` (read up to its first newline, not whole).
fn first_link(path: &Path) -> Option<Link> {
    read::first_line(path).ok().flatten().and_then(|l| unseal(None, &l).ok())
}

struct Writer {
    out: Rotating,
    key: ChainKey,
    anchor: Anchor,
    anchor_path: PathBuf,
    anchored: Instant,
    pending: bool,
    /// The line being built, kept between events so that its buffer is allocated once.
    line: Vec<u8>,
    clock: Clock,
}

/// The time, formatted once per millisecond (a batch's lines mostly share one).
#[derive(Default)]
struct Clock {
    millis: i128,
    text: String,
}

impl Clock {
    fn now(&mut self) -> &str {
        let now = time::OffsetDateTime::now_utc();
        let millis = now.unix_timestamp_nanos() / 1_000_000;
        if millis != self.millis || self.text.is_empty() {
            self.millis = millis;
            self.text = crate::timestamp::iso8601(now);
        }
        &self.text
    }
}

impl Writer {
    fn run(mut self, rx: Receiver<Message>) {
        loop {
            match rx.recv_timeout(ANCHOR_DELAY) {
                Ok(first) => {
                    if !self.batches(first, &rx) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) if self.pending => self.write_anchor(),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    if self.pending {
                        self.flush_and_anchor();
                    }
                    return;
                }
            }
        }
    }

    /// Writes `first` and all that is queued, flushes, then lingers and goes on while events keep
    /// coming; returns false once every sender is gone.
    fn batches(&mut self, first: Message, rx: &Receiver<Message>) -> bool {
        let mut next = Some(first);
        loop {
            while let Some(m) = next {
                match m {
                    Message::Event(e) => self.write(&e),
                    Message::Sync(done) => {
                        self.flush_and_anchor();
                        let _ = done.send(());
                    }
                }
                next = rx.try_recv().ok();
            }
            self.flush();
            if self.pending && self.anchored.elapsed() >= ANCHOR_DELAY {
                self.write_anchor();
            }
            std::thread::sleep(LINGER);
            match rx.try_recv() {
                Ok(m) => next = Some(m),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => {
                    self.flush_and_anchor();
                    return false;
                }
            }
        }
    }

    fn write(&mut self, event: &AuditEvent) {
        let mut bytes = std::mem::take(&mut self.line);
        bytes.clear();
        bytes.push(b'{');
        let timestamp = self.clock.now();
        let mut field = |name: &str, value: FieldValue<'_>| {
            if bytes.len() > 1 {
                bytes.push(b',');
            }
            FieldValue::Text(name).write_json(&mut bytes);
            bytes.push(b':');
            value.write_json(&mut bytes);
        };
        field("@timestamp", FieldValue::Text(timestamp));
        event.each_field(&mut field);
        let mac = chain::seal(&self.key, &mut bytes, self.anchor.sequence + 1, &self.anchor.mac);
        if self.out.due(bytes.len() + 1) {
            self.rotate();
        }
        if self.out.write_line(&bytes).is_err() {
            tracing::error!("cannot write the audit log [{}]", self.out.path().display());
        }
        self.line = bytes;
        self.anchor.sequence += 1;
        self.anchor.mac.clear();
        self.anchor.mac.push_str(mac.as_str());
        if self.anchor.file != CURRENT_FILE {
            self.anchor.file = CURRENT_FILE.into();
        }
        self.pending = true;
    }

    /// Rotates, anchors the rotated tail, then applies retention: the anchor's floor moves up
    /// before the oldest files are deleted, so a crash in between leaves extra files, never a gap.
    fn rotate(&mut self) {
        match self.out.rotate() {
            Ok(rotated) => {
                let name = rotated.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                self.anchor.file = name;
                let excess = self.out.excess();
                let kept = rotated_files(self.out.path().parent().unwrap_or(Path::new(".")), AUDIT_STEM);
                if let Some((_, oldest_kept)) = kept.get(excess.len())
                    && let Some(first) = first_link(oldest_kept)
                {
                    self.anchor.first_sequence = first.sequence;
                }
                self.write_anchor();
                for old in excess {
                    if let Err(e) = std::fs::remove_file(&old) {
                        tracing::warn!("cannot delete the old audit file [{}]: {e}", old.display());
                    }
                }
            }
            Err(e) => tracing::error!("cannot rotate the audit log [{}]: {e}", self.out.path().display()),
        }
    }

    fn flush(&mut self) {
        if self.out.flush().is_err() {
            tracing::error!("cannot write the audit log [{}]", self.out.path().display());
        }
    }

    fn flush_and_anchor(&mut self) {
        self.flush();
        self.write_anchor();
    }

    fn write_anchor(&mut self) {
        if let Err(e) = self.anchor.write(&self.anchor_path, &self.key) {
            tracing::error!("cannot write the audit anchor [{}]: {e}", self.anchor_path.display());
        }
        self.anchored = Instant::now();
        self.pending = false;
    }
}

#[cfg(test)]
mod tests;
