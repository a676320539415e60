//! How a [`crate::Store`] is opened.

use std::sync::Arc;
use std::time::Duration;

use crate::network::{NoTransport, RaftTransport};
use crate::types::NodeId;

/// The most bytes of log entries one replication call carries (unless it carries a single
/// entry). openraft gives each call one heartbeat interval (100 ms) and sends up to 300 entries
/// in one: a follower a few large `_bulk`s behind got megabytes a call, none of which arrived in
/// time on a loaded host, heard nothing else from the leader, and stood for election. A writer
/// that can split its commands keeps each entry well under it (documents: `ENTRY_BYTES`).
pub const REPLICATION_CALL_BYTES: usize = 512 << 10;

/// What a document write puts in one log entry, about (a `_bulk` larger than this is written as
/// several entries): half a replication call, so that an entry with its encoding overhead
/// always fits in one.
pub const ENTRY_BYTES: usize = REPLICATION_CALL_BYTES / 2;

/// Compact the log once this many entries can go, by default (see [`crate::CompactionPolicy`]).
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 5000;

/// Compact the log once this many bytes of entries can go, by default.
pub const DEFAULT_SNAPSHOT_BYTES: u64 = 4 << 20;

/// Log entries kept after compaction by default, at most, so a follower that is slightly behind
/// can catch up from the log instead of a whole snapshot.
pub const DEFAULT_LOGS_TO_KEEP: u64 = 1000;

/// Bytes of log entries kept after compaction by default, at most.
pub const DEFAULT_LOG_BYTES_TO_KEEP: u64 = 4 << 20;

/// What a store with no cluster yet does on its first open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Form a new single-member cluster with a new cluster UUID (the first node of a cluster).
    FormCluster,
    /// A node that already belongs to a cluster (it was enrolled): never form a cluster; its
    /// store must hold its identity, else the open is refused.
    Existing,
    /// Wait to be added to the existing cluster `cluster_uuid` by its leader.
    Join {
        /// The UUID of the cluster being joined.
        cluster_uuid: String,
    },
}

/// Options of [`crate::Store::open_with`]. [`StoreConfig::new`] gives the single-node defaults
/// that [`crate::Store::open`] uses.
#[derive(Clone)]
pub struct StoreConfig {
    /// This node's id, used only when the store is fresh (afterwards the stored id is used).
    pub node_id: NodeId,
    /// This node's name, recorded in the membership.
    pub node_name: String,
    /// This node's transport address, recorded in the membership.
    pub address: String,
    /// What to do when the store has no cluster yet.
    pub bootstrap: Bootstrap,
    /// Compact the log once this many entries can go.
    pub snapshot_every: u64,
    /// Compact the log once this many bytes of entries can go.
    pub snapshot_bytes: u64,
    /// Log entries kept after compaction, at most.
    pub logs_to_keep: u64,
    /// Bytes of log entries kept after compaction, at most.
    pub log_bytes_to_keep: u64,
    /// Compaction never removes the entries after this position (`None`: no such limit); see
    /// [`crate::LogFloor`].
    pub log_floor: Option<crate::LogFloor>,
    /// When an open checks the checksum of every page of the store files (refusing damaged
    /// files instead of trusting them).
    pub page_check: crate::PageCheck,
    /// How long opening waits for this node to become leader of a single-member cluster.
    pub leader_timeout: Duration,
    /// How long a write waits for a leader and for the majority to accept it before it is
    /// refused with [`crate::StoreError::Unavailable`].
    pub write_timeout: Duration,
    /// Raft's heartbeat interval (also openraft's deadline for each log replication call); a
    /// follower stands for election after 30 to 40 heartbeats without one.
    pub heartbeat: Duration,
    /// How Raft messages reach other nodes.
    pub transport: Arc<dyn RaftTransport>,
}

impl StoreConfig {
    /// The compaction policy these options make.
    pub fn compaction(&self) -> crate::CompactionPolicy {
        crate::CompactionPolicy {
            snapshot_every: self.snapshot_every,
            snapshot_bytes: self.snapshot_bytes,
            logs_to_keep: self.logs_to_keep,
            log_bytes_to_keep: self.log_bytes_to_keep,
        }
    }

    /// Node 1, forming a single-member cluster, with no transport.
    pub fn new(node_name: impl Into<String>, address: impl Into<String>) -> Self {
        StoreConfig {
            node_id: 1,
            node_name: node_name.into(),
            address: address.into(),
            bootstrap: Bootstrap::FormCluster,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            snapshot_bytes: DEFAULT_SNAPSHOT_BYTES,
            logs_to_keep: DEFAULT_LOGS_TO_KEEP,
            log_bytes_to_keep: DEFAULT_LOG_BYTES_TO_KEEP,
            log_floor: None,
            page_check: crate::PageCheck::WhenChanged,
            leader_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_millis(50),
            transport: Arc::new(NoTransport),
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("node_id", &self.node_id)
            .field("node_name", &self.node_name)
            .field("address", &self.address)
            .field("bootstrap", &self.bootstrap)
            .field("snapshot_every", &self.snapshot_every)
            .field("snapshot_bytes", &self.snapshot_bytes)
            .field("logs_to_keep", &self.logs_to_keep)
            .field("log_bytes_to_keep", &self.log_bytes_to_keep)
            .field("log_floor", &self.log_floor.as_ref().map(crate::LogFloor::get))
            .field("page_check", &self.page_check)
            .field("leader_timeout", &self.leader_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}
