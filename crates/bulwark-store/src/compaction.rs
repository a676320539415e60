//! Log compaction: when the Raft log holds more than it needs to keep, snapshot and purge it.
//!
//! A snapshot costs nothing to build here (the state machine file is the snapshot, see
//! `state_machine.rs`), so compaction is a matter of choosing how far to purge. The log keeps
//! the newest entries within both of [`CompactionPolicy::logs_to_keep`] entries and
//! [`CompactionPolicy::log_bytes_to_keep`] bytes (so a follower that fell a little behind catches
//! up from the log, not from a whole snapshot), and never an entry that is not applied yet or
//! that a [`LogFloor`] still holds (a search index that replays the entries after its committed
//! position at its next start). Everything older is purged once at least
//! [`CompactionPolicy::snapshot_every`] entries or [`CompactionPolicy::snapshot_bytes`] bytes of
//! it can go, so a purge removes a batch rather than one entry at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::log_store::LogStore;
use crate::types::Raft;

/// How often the compactor looks at the log.
const TICK: Duration = Duration::from_millis(250);

/// How long the compactor waits for a snapshot or a purge it asked for.
const WAIT: Duration = Duration::from_secs(10);

/// A position up to which log entries may be compacted away: the entries after it are kept.
/// Cloning gives another handle on the same position.
///
/// The node's search indices save the store position they hold with each commit and replay the
/// entries after it at the next start; they move the floor as they commit, so compaction never
/// removes an entry they would need. A new floor holds everything (position 0).
#[derive(Debug, Clone, Default)]
pub struct LogFloor(Arc<AtomicU64>);

impl LogFloor {
    /// A floor that keeps every entry until it is [`LogFloor::set`].
    pub fn new() -> LogFloor {
        LogFloor::default()
    }

    /// Lets the entries up to and including `position` be compacted away (it may also move back,
    /// e.g. when an index is created behind the others).
    pub fn set(&self, position: u64) {
        self.0.store(position, Ordering::Release);
    }

    /// The position up to which entries may go.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// When and how far the log is compacted (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// Compact once at least this many entries can go.
    pub snapshot_every: u64,
    /// Compact once at least this many bytes of entries can go.
    pub snapshot_bytes: u64,
    /// Entries kept behind the last applied one, at most.
    pub logs_to_keep: u64,
    /// Bytes of entries kept behind the last applied one, at most.
    pub log_bytes_to_keep: u64,
}

/// Runs compaction for `raft` until it shuts down.
pub(crate) fn spawn(raft: Raft, log: LogStore, policy: CompactionPolicy, floor: Option<LogFloor>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (applied, snapshot, running) = {
                let m = raft.metrics();
                let m = m.borrow();
                (m.last_applied.map_or(0, |l| l.index), m.snapshot.map(|l| l.index), m.running_state.is_ok())
            };
            if !running {
                return;
            }
            let floor = floor.as_ref().map_or(u64::MAX, LogFloor::get);
            let Some(upto) = purge_point(&log, &policy, applied, floor) else { continue };
            if snapshot.is_none_or(|s| s < upto) {
                if raft.trigger().snapshot().await.is_err() {
                    return;
                }
                let built = raft
                    .wait(Some(WAIT))
                    .metrics(|m| m.snapshot.is_some_and(|s| s.index >= upto), "a snapshot for compaction")
                    .await;
                if built.is_err() {
                    continue;
                }
            }
            if raft.trigger().purge_log(upto).await.is_err() {
                return;
            }
            let purged = raft
                .wait(Some(WAIT))
                .metrics(|m| m.purged.is_some_and(|p| p.index >= upto), "the log is purged")
                .await;
            if purged.is_ok() {
                // A follower behind this point catches up from a snapshot, not from the log.
                tracing::info!(log_index = upto, "compacted the store's Raft log up to index {upto}");
            }
        }
    });
}

/// The log index up to which to purge now, if a purge is due.
pub(crate) fn purge_point(
    log: &LogStore,
    policy: &CompactionPolicy,
    applied: u64,
    floor: u64,
) -> Option<u64> {
    let cut = log.retention_cut(policy.logs_to_keep, policy.log_bytes_to_keep)?;
    let upto = cut.min(applied).min(floor);
    let (entries, bytes) = log.held_upto(upto);
    let due = entries > 0 && (entries >= policy.snapshot_every || bytes >= policy.snapshot_bytes);
    due.then_some(upto)
}
