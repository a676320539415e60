//! The tables of the state machine's redb file (`state.redb`).
//!
//! Values are JSON. Keys of per-kind and per-index tables are `(kind or index, id)` tuples, so
//! the rows of one kind or index are adjacent and can be read as a range.

use redb::TableDefinition;

/// The state machine file's name inside the store directory.
pub const STATE_FILE: &str = "state.redb";

/// `last_applied` (an `Option<LogId>`) and `membership` (a `StoredMembership`).
pub(crate) const SM_META: TableDefinition<&str, &[u8]> = TableDefinition::new("sm_meta");
/// Security store entries: `(kind, id)` → JSON value.
pub(crate) const ENTRIES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("entries");
/// Index metadata: index name → JSON value.
pub(crate) const INDICES: TableDefinition<&str, &[u8]> = TableDefinition::new("indices");
/// The next `_seq_no` of each index.
pub(crate) const SEQ_NOS: TableDefinition<&str, u64> = TableDefinition::new("seq_nos");
/// Documents: `(index, id)` → a record (`document::encode_record`).
pub(crate) const DOCS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("documents");
/// Each index's source dictionary (`document::SourceCodec`): index name → its bytes. Written
/// once, when the index's documents first hold `document::SAMPLE_BYTES` of source; deleted with the
/// index.
pub(crate) const SOURCE_DICTS: TableDefinition<&str, &[u8]> = TableDefinition::new("source_dicts");
/// The `_version` of deleted documents, so a later write of the same id continues the count.
pub(crate) const TOMBSTONES: TableDefinition<(&str, &str), u64> = TableDefinition::new("tombstones");
/// Where earlier versions kept a full JSON copy of the state as their last snapshot (the state
/// file itself is the snapshot now); deleted on open.
pub(crate) const LEGACY_SNAPSHOT: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshot");

pub(crate) const KEY_LAST_APPLIED: &str = "last_applied";
pub(crate) const KEY_MEMBERSHIP: &str = "membership";
