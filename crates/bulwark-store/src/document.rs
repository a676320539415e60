//! Stored documents and their version triple.

use serde::{Deserialize, Serialize};

/// The primary term of every write today: there is one copy of the data per node, replicated by
/// Raft, so there is no primary/replica promotion to count.
pub const PRIMARY_TERM: u64 = 1;

/// A document's `_version`, `_seq_no` and `_primary_term`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocVersion {
    /// `_version`: 1 for the first write of an id, +1 for each later write (deletes included).
    pub version: u64,
    /// `_seq_no`: the position of the last write of this document in its index's write sequence.
    pub seq_no: u64,
    /// `_primary_term`.
    pub primary_term: u64,
}

/// A document as the state machine holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDoc {
    /// The document source.
    pub source: serde_json::Value,
    /// `_version`.
    pub version: u64,
    /// `_seq_no`.
    pub seq_no: u64,
    /// `_primary_term`.
    pub primary_term: u64,
}

impl StoredDoc {
    /// The document's version triple.
    pub fn doc_version(&self) -> DocVersion {
        DocVersion { version: self.version, seq_no: self.seq_no, primary_term: self.primary_term }
    }
}
