//! The one error type of the store.
//!
//! Every variant says what happened and carries the file, table or command it concerns, so that a
//! message printed to an operator names what to look at and, where there is one, what to do.

use std::path::PathBuf;
use std::time::Duration;

use crate::types::Member;

/// Everything that can go wrong while opening, writing or reading the store.
///
/// A command that is refused by the state machine (an index that already exists, a version
/// conflict) is *not* an error: it is a [`crate::CommandResponse`]. Errors are about the store
/// itself: files, consensus, shutdown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation on the store's directory failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, as a verb phrase ("create the directory", "read").
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The data directory was written by a newer release with a newer data format.
    #[error(
        "the store in {path} has data format version {found}, but this release of Bulwark supports \
         data format version {supported} at most; run a release that supports version {found}, or \
         restore a data directory written by this release"
    )]
    NewerFormat {
        /// The format file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// The data format file exists but does not hold a format line this build understands.
    #[error(
        "the data format file {path} is not valid: expected a single line `bulwark-store <version>` \
         (this release writes `bulwark-store {supported}`), found {found:?}; the data directory is \
         damaged or was not written by Bulwark"
    )]
    InvalidFormat {
        /// The format file.
        path: PathBuf,
        /// The start of what the file holds.
        found: String,
        /// The version this build writes.
        supported: u32,
    },

    /// Store files exist but the format file that must precede them does not.
    #[error(
        "the store directory {path} holds store files but no FORMAT file; it was not written by \
         this release of Bulwark or has been damaged: restore it from a backup"
    )]
    MissingFormat {
        /// The store directory.
        path: PathBuf,
    },

    /// A store file is damaged in a way the embedded database could not repair.
    #[error(
        "the store file {path} is damaged and could not be repaired ({detail}); restore the node's \
         data directory from a backup (or, in a cluster of several nodes, remove this node's store \
         directory and let it rejoin)"
    )]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What the database reported.
        detail: String,
    },

    /// A store file is opened by another process.
    #[error(
        "the store file {path} is in use by another process; is another Bulwark node running with \
         the same data directory?"
    )]
    Locked {
        /// The locked file.
        path: PathBuf,
    },

    /// The embedded database reported an error.
    #[error("store database {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What redb reported.
        #[source]
        source: Box<redb::Error>,
    },

    /// A record read from a store file could not be decoded.
    #[error("cannot decode {what} in {path}: {detail}; the store file is damaged")]
    Decode {
        /// What was being decoded, e.g. `log entry 17` or `document [logs][42]`.
        what: String,
        /// The file it was read from.
        path: PathBuf,
        /// The decoder's message.
        detail: String,
    },

    /// A record could not be encoded for writing (a bug, or a value serde cannot represent).
    #[error("cannot encode {what}: {detail}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// The encoder's message.
        detail: String,
    },

    /// A snapshot received from another node (or read from disk) is not valid.
    #[error("invalid snapshot {snapshot_id}: {detail}")]
    InvalidSnapshot {
        /// The snapshot's id.
        snapshot_id: String,
        /// What is wrong with it.
        detail: String,
    },

    /// This node is not the leader, so it cannot accept writes.
    #[error("{}", not_leader_message(.leader))]
    NotLeader {
        /// The current leader, when known.
        leader: Option<Member>,
    },

    /// The store belongs to another cluster than the one this node was asked to join.
    #[error(
        "the store in {path} belongs to cluster {stored}, not to cluster {requested} that this node \
         was asked to join; use an empty data directory to join another cluster"
    )]
    ClusterMismatch {
        /// The store directory.
        path: PathBuf,
        /// The cluster UUID the store holds.
        stored: String,
        /// The cluster UUID the node was asked to join.
        requested: String,
    },

    /// Waiting for a cluster condition took too long.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        waited: Duration,
    },

    /// The consensus layer reported an error (a storage failure, or the node is shutting down).
    #[error("consensus error while {context}: {detail}")]
    Raft {
        /// What the store was doing.
        context: &'static str,
        /// openraft's message.
        detail: String,
    },

    /// The cluster cannot accept writes now: no leader is reachable, or this side of the cluster
    /// holds no majority of the voting nodes. Retrying later (or on another node) may succeed.
    #[error("{reason}")]
    Unavailable {
        /// What is missing, for the operator.
        reason: String,
    },

    /// The cluster refused a change the caller asked for (e.g. one that would leave it without
    /// a voting node).
    #[error("{reason}")]
    Refused {
        /// Why.
        reason: String,
    },

    /// A background task of the store stopped unexpectedly.
    #[error("store task failed while {context}: {detail}")]
    Task {
        /// What the task was doing.
        context: &'static str,
        /// The join error.
        detail: String,
    },
}

fn not_leader_message(leader: &Option<Member>) -> String {
    match leader {
        Some(m) => format!(
            "this node is not the cluster leader; the leader is node {} ({}) at {}",
            m.id, m.name, m.address
        ),
        None => "this node is not the cluster leader and no leader is known yet".to_string(),
    }
}

/// Who must act on a store failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// This node: its disk, its files, or a bug. Retrying does not help.
    Node,
    /// The cluster's state: no leader here or yet, or a condition that took too long. The
    /// request may succeed later or on another node.
    Cluster,
    /// The caller: the request asks for something the cluster does not allow.
    Caller,
}

impl StoreError {
    /// Who must act on this failure.
    pub fn fault(&self) -> Fault {
        match self {
            StoreError::NotLeader { .. } | StoreError::Timeout { .. } | StoreError::Unavailable { .. } => {
                Fault::Cluster
            }
            StoreError::Refused { .. } => Fault::Caller,
            _ => Fault::Node,
        }
    }

    /// Wraps a redb error, turning the kinds an operator must act on into their own variants.
    pub(crate) fn db(path: &std::path::Path, err: impl Into<redb::Error>) -> Self {
        let err: redb::Error = err.into();
        match err {
            redb::Error::DatabaseAlreadyOpen => StoreError::Locked { path: path.to_path_buf() },
            redb::Error::Corrupted(detail) => StoreError::Corrupt { path: path.to_path_buf(), detail },
            redb::Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                StoreError::Corrupt { path: path.to_path_buf(), detail: e.to_string() }
            }
            other => StoreError::Database { path: path.to_path_buf(), source: Box::new(other) },
        }
    }

    /// A record read from disk that does not decode.
    pub(crate) fn decode(
        path: &std::path::Path,
        what: impl Into<String>,
        err: impl std::fmt::Display,
    ) -> Self {
        StoreError::Decode { what: what.into(), path: path.to_path_buf(), detail: err.to_string() }
    }

    /// A value that does not encode.
    pub(crate) fn encode(what: impl Into<String>, err: impl std::fmt::Display) -> Self {
        StoreError::Encode { what: what.into(), detail: err.to_string() }
    }
}
