//! Bulwark's replicated store.
//!
//! Every change of node state — security store entries, index metadata, documents — is a typed
//! [`Command`] appended to a Raft log (openraft) and applied by a deterministic state machine.
//! Log and state live in two embedded redb files under the store directory; a write is answered
//! only once it is durable and applied locally, so the writer reads its own writes. On the first
//! open of a fresh directory the node forms a single-member cluster with a new cluster UUID.
//!
//! Layout of the store directory:
//!
//! | file | holds |
//! |---|---|
//! | `FORMAT` | `bulwark-store <version>`: the data format version, checked on open |
//! | `raft-log.redb` | the Raft log, vote, committed index, purge point, and the node's identity |
//! | `state.redb` | the state machine's tables, last applied log id and membership (it is also the snapshot) |
//!
//! The three openraft plug-ins are [`LogStore`], [`StateMachine`] and [`network`] (an
//! object-safe [`RaftTransport`] boundary with an in-process [`LocalNetwork`] for tests).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod apply;
mod cluster;
mod command;
mod compaction;
mod config;
mod db;
mod document;
mod error;
mod event;
mod format;
mod identity;
mod log_store;
pub mod network;
mod reader;
mod snapshot;
mod snapshot_data;
mod state_machine;
mod store;
mod tables;
mod types;

pub use cluster::VotersChange;
pub use command::{Command, CommandResponse, DocOp, DocOutcome, DocResult, EntryKind};
pub use compaction::{CompactionPolicy, LogFloor};
pub use config::{
    Bootstrap, DEFAULT_LOG_BYTES_TO_KEEP, DEFAULT_LOGS_TO_KEEP, DEFAULT_SNAPSHOT_BYTES,
    DEFAULT_SNAPSHOT_EVERY, ENTRY_BYTES, REPLICATION_CALL_BYTES, StoreConfig,
};
pub use db::PageCheck;
pub use document::{DocVersion, PRIMARY_TERM, StoredDoc};
pub use error::{Fault, StoreError};
pub use event::AppliedEvent;
pub use format::{FORMAT_FILE, FORMAT_VERSION};
pub use identity::{ClusterIdentity, new_cluster_uuid};
pub use log_store::{LOG_FILE, LogStore};
pub use network::{ForwardError, Forwarded, LocalNetwork, NoTransport, RaftTransport};
pub use reader::StateReader;
pub use snapshot_data::SnapshotData;
pub use state_machine::{SnapshotBuilder, StateMachine};
pub use store::Store;
pub use tables::STATE_FILE;
pub use types::{Member, NodeId, NodeInfo, Raft, TypeConfig};
