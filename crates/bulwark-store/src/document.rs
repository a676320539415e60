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

/// A [`StoredDoc`] to encode without copying its source: the same fields in the same order, so
/// both encode to the same bytes.
#[derive(Serialize)]
pub(crate) struct StoredDocRef<'a> {
    pub source: &'a serde_json::Value,
    pub version: u64,
    pub seq_no: u64,
    pub primary_term: u64,
}

impl StoredDoc {
    /// The document's version triple.
    pub fn doc_version(&self) -> DocVersion {
        DocVersion { version: self.version, seq_no: self.seq_no, primary_term: self.primary_term }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_borrowed_form_encodes_like_the_owned_one() {
        let source = serde_json::json!({"a": [1, "b", {"c": null}]});
        let owned = StoredDoc { source: source.clone(), version: 3, seq_no: 7, primary_term: 1 };
        let borrowed = StoredDocRef { source: &source, version: 3, seq_no: 7, primary_term: 1 };
        assert_eq!(serde_json::to_vec(&owned).unwrap(), serde_json::to_vec(&borrowed).unwrap());
    }
}
