//! How a [`crate::Store`] is opened.

use std::sync::Arc;
use std::time::Duration;

use crate::network::{NoTransport, RaftTransport};
use crate::types::NodeId;

/// Snapshot after this many log entries by default (then the log is purged down to
/// [`DEFAULT_LOGS_TO_KEEP`]).
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 5000;

/// Log entries kept behind the last snapshot by default, so a follower that is slightly behind
/// can catch up from the log instead of a whole snapshot.
pub const DEFAULT_LOGS_TO_KEEP: u64 = 1000;

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
    /// Build a snapshot after this many log entries since the last one.
    pub snapshot_every: u64,
    /// Log entries kept behind a snapshot when the log is purged.
    pub logs_to_keep: u64,
    /// Verify the checksum of every page of the store files on open (slower opens of large
    /// stores; refuses damaged files instead of trusting them).
    pub verify_on_open: bool,
    /// How long opening waits for this node to become leader of a single-member cluster.
    pub leader_timeout: Duration,
    /// How long a write waits for a leader and for the majority to accept it before it is
    /// refused with [`crate::StoreError::Unavailable`].
    pub write_timeout: Duration,
    /// Raft's heartbeat interval; elections start after 5 to 10 heartbeats without one.
    pub heartbeat: Duration,
    /// How Raft messages reach other nodes.
    pub transport: Arc<dyn RaftTransport>,
}

impl StoreConfig {
    /// Node 1, forming a single-member cluster, with no transport.
    pub fn new(node_name: impl Into<String>, address: impl Into<String>) -> Self {
        StoreConfig {
            node_id: 1,
            node_name: node_name.into(),
            address: address.into(),
            bootstrap: Bootstrap::FormCluster,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            logs_to_keep: DEFAULT_LOGS_TO_KEEP,
            verify_on_open: true,
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
            .field("logs_to_keep", &self.logs_to_keep)
            .field("verify_on_open", &self.verify_on_open)
            .field("leader_timeout", &self.leader_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}
