//! The typed commands that change node state, and the state machine's answers to them.
//!
//! Every change of node state is one [`Command`] appended to the Raft log and applied, in log
//! order, by the state machine on every node. Applying must be deterministic: a command carries
//! every id and value it needs, chosen by the proposer before it is proposed (no clocks, no
//! randomness while applying). The commands are domain-neutral: security entries and index
//! metadata are JSON values whose schema belongs to the crates that define them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::document::DocVersion;

/// The kinds of security store entries. Each kind is its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// State of a built-in (reserved) user, e.g. its changed password or `enabled` flag.
    ReservedUser,
    /// A native-realm user.
    User,
    /// A role descriptor.
    Role,
    /// A role mapping.
    RoleMapping,
    /// An API key.
    ApiKey,
    /// A service account token.
    ServiceToken,
    /// An application privilege.
    ApplicationPrivilege,
    /// A certificate revoked by one of the cluster's certificate authorities.
    RevokedCertificate,
    /// An access/refresh token pair of the token service (hashes only).
    Token,
    /// A composable index template (`_index_template`).
    IndexTemplate,
    /// A component template (`_component_template`).
    ComponentTemplate,
    /// An index lifecycle policy (`_ilm/policy`), stored and returned, not executed.
    LifecyclePolicy,
    /// An ingest pipeline (`_ingest/pipeline`).
    IngestPipeline,
}

impl EntryKind {
    /// Every kind, in a fixed order.
    pub const ALL: [EntryKind; 13] = [
        EntryKind::ReservedUser,
        EntryKind::User,
        EntryKind::Role,
        EntryKind::RoleMapping,
        EntryKind::ApiKey,
        EntryKind::ServiceToken,
        EntryKind::ApplicationPrivilege,
        EntryKind::RevokedCertificate,
        EntryKind::Token,
        EntryKind::IndexTemplate,
        EntryKind::ComponentTemplate,
        EntryKind::LifecyclePolicy,
        EntryKind::IngestPipeline,
    ];

    /// The kind's stable name, used as its key prefix on disk.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::ReservedUser => "reserved_user",
            EntryKind::User => "user",
            EntryKind::Role => "role",
            EntryKind::RoleMapping => "role_mapping",
            EntryKind::ApiKey => "api_key",
            EntryKind::ServiceToken => "service_token",
            EntryKind::ApplicationPrivilege => "application_privilege",
            EntryKind::RevokedCertificate => "revoked_certificate",
            EntryKind::Token => "token",
            EntryKind::IndexTemplate => "index_template",
            EntryKind::ComponentTemplate => "component_template",
            EntryKind::LifecyclePolicy => "lifecycle_policy",
            EntryKind::IngestPipeline => "ingest_pipeline",
        }
    }

    /// The kind named `name` (as written by [`EntryKind::as_str`]).
    pub fn from_name(name: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a document write treats an existing document with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocOp {
    /// Create or replace (`op_type=index`).
    Index,
    /// Create only; an existing document is a version conflict (`op_type=create`).
    Create,
}

/// One change of node state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Creates or replaces a security store entry.
    PutEntry {
        /// The entry's kind.
        kind: EntryKind,
        /// The entry's id within its kind.
        id: String,
        /// The entry, in the schema its kind's owner defines.
        value: serde_json::Value,
    },
    /// Removes a security store entry.
    DeleteEntry {
        /// The entry's kind.
        kind: EntryKind,
        /// The entry's id within its kind.
        id: String,
    },
    /// Creates an index; answers [`CommandResponse::AlreadyExists`] if it exists.
    CreateIndex {
        /// The index name.
        name: String,
        /// Settings, mappings and aliases, in the schema the index layer defines.
        metadata: serde_json::Value,
    },
    /// Replaces an index's metadata; answers [`CommandResponse::NotFound`] if it does not exist.
    UpdateIndexMetadata {
        /// The index name.
        name: String,
        /// The new metadata.
        metadata: serde_json::Value,
    },
    /// Deletes an index and all its documents.
    DeleteIndex {
        /// The index name.
        name: String,
    },
    /// Indexes (creates or replaces) a document.
    IndexDocument {
        /// The index; it must exist (auto-creation is the caller's decision: batch a
        /// [`Command::CreateIndex`] before it).
        index: String,
        /// The document id, chosen by the caller.
        id: String,
        /// The document source, shared with the caller (a large document is not copied to
        /// build the command).
        source: std::sync::Arc<serde_json::Value>,
        /// Whether an existing document may be replaced.
        op: DocOp,
        /// Optimistic concurrency: the sequence number the current document must have.
        if_seq_no: Option<u64>,
        /// Optimistic concurrency: the primary term the current document must have.
        if_primary_term: Option<u64>,
    },
    /// Deletes a document.
    DeleteDocument {
        /// The index.
        index: String,
        /// The document id.
        id: String,
        /// Optimistic concurrency: the sequence number the current document must have.
        if_seq_no: Option<u64>,
        /// Optimistic concurrency: the primary term the current document must have.
        if_primary_term: Option<u64>,
    },
    /// Several commands applied in order in one log entry, one response each (for `_bulk`).
    Batch(Vec<Command>),
}

/// What a command adds to its JSON besides its documents' sources and names (field names,
/// versions, the operation), about.
const COMMAND_BYTES: usize = 96;

/// The length of `v` encoded as JSON, about (strings without escapes).
fn encoded_size(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 20,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|v| encoded_size(v) + 1).sum::<usize>(),
        Value::Object(o) => 2 + o.iter().map(|(k, v)| k.len() + 4 + encoded_size(v)).sum::<usize>(),
    }
}

impl Command {
    /// The length of this command encoded as JSON, about, without encoding it: enough to cut a
    /// `_bulk` into log entries of a bounded size, and to size the buffer a log entry is encoded
    /// into (grown by doubling, a buffer of several megabytes is allocated and copied several
    /// times over).
    pub fn encoded_size_hint(&self) -> usize {
        match self {
            Command::IndexDocument { index, id, source, .. } => {
                COMMAND_BYTES + index.len() + id.len() + encoded_size(source)
            }
            Command::DeleteDocument { index, id, .. } => COMMAND_BYTES + index.len() + id.len(),
            Command::PutEntry { id: name, value, .. }
            | Command::CreateIndex { name, metadata: value }
            | Command::UpdateIndexMetadata { name, metadata: value } => {
                COMMAND_BYTES + name.len() + encoded_size(value)
            }
            Command::DeleteEntry { id: name, .. } | Command::DeleteIndex { name } => {
                COMMAND_BYTES + name.len()
            }
            Command::Batch(cmds) => 16 + cmds.iter().map(|c| c.encoded_size_hint() + 1).sum::<usize>(),
        }
    }

    /// What this command may change, as events (whether or not it would succeed): a reader that
    /// re-reads each named item from the store brings derived state up to date.
    pub(crate) fn touched(&self, out: &mut Vec<crate::event::AppliedEvent>) {
        use crate::event::AppliedEvent;
        match self {
            Command::PutEntry { kind, id, .. } | Command::DeleteEntry { kind, id } => {
                out.push(AppliedEvent::Entry { kind: *kind, id: id.clone() })
            }
            Command::CreateIndex { name, .. }
            | Command::UpdateIndexMetadata { name, .. }
            | Command::DeleteIndex { name } => out.push(AppliedEvent::Index { name: name.clone() }),
            Command::IndexDocument { index, id, .. } | Command::DeleteDocument { index, id, .. } => {
                out.push(AppliedEvent::Document { index: index.clone(), id: id.clone() })
            }
            Command::Batch(cmds) => cmds.iter().for_each(|c| c.touched(out)),
        }
    }
}

/// What a document write did, in Elasticsearch's `result` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocOutcome {
    /// The document did not exist and now does.
    Created,
    /// The document existed and was replaced.
    Updated,
    /// The document existed and was deleted.
    Deleted,
    /// A delete found no document.
    NotFound,
}

impl DocOutcome {
    /// The Elasticsearch `result` string: `created`, `updated`, `deleted` or `not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocOutcome::Created => "created",
            DocOutcome::Updated => "updated",
            DocOutcome::Deleted => "deleted",
            DocOutcome::NotFound => "not_found",
        }
    }
}

impl fmt::Display for DocOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to a document write that was carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocResult {
    /// What happened.
    pub result: DocOutcome,
    /// The document's `_version` after the write.
    pub version: u64,
    /// The `_seq_no` the write was given.
    pub seq_no: u64,
    /// The `_primary_term` of the write.
    pub primary_term: u64,
}

/// The state machine's answer to one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandResponse {
    /// Done (a delete of an entry or index, a metadata update, a blank or membership entry).
    Ok,
    /// A [`Command::PutEntry`] was applied; `created` is false when it replaced an entry.
    Entry {
        /// Whether the entry is new.
        created: bool,
    },
    /// A [`Command::CreateIndex`] was applied.
    Index {
        /// Always true today; kept for symmetry with [`CommandResponse::Entry`].
        created: bool,
    },
    /// A document write was carried out (including a delete that found nothing).
    Doc(DocResult),
    /// The entry or index the command names does not exist.
    NotFound,
    /// The index a [`Command::CreateIndex`] names exists already.
    AlreadyExists,
    /// A document write was refused: `op=create` on an existing document, or an
    /// `if_seq_no`/`if_primary_term` that does not match. `current` is the document's version,
    /// or `None` when there is no document.
    VersionConflict {
        /// The current document's version, seq_no and primary term, if it exists.
        current: Option<DocVersion>,
    },
    /// One response per command of a [`Command::Batch`], in order.
    Batch(Vec<CommandResponse>),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    #[test]
    fn the_size_hint_is_near_the_encoded_length() {
        let doc = json!({"msg": "hello world", "n": 12345, "tags": ["a", "bc"], "o": {"x": null, "y": true}});
        let put = |id: &str| Command::IndexDocument {
            index: "logs".into(),
            id: id.into(),
            source: Arc::new(doc.clone()),
            op: DocOp::Create,
            if_seq_no: None,
            if_primary_term: None,
        };
        let delete = Command::DeleteDocument {
            index: "logs".into(),
            id: "9".into(),
            if_seq_no: Some(3),
            if_primary_term: Some(1),
        };
        let meta = Command::UpdateIndexMetadata {
            name: "logs".into(),
            metadata: json!({"mappings": {"properties": {"msg": {"type": "text"}}}}),
        };
        for cmd in
            [put("1"), delete.clone(), meta.clone(), Command::Batch(vec![meta, put("1"), put("2"), delete])]
        {
            let real = serde_json::to_vec(&cmd).unwrap().len();
            let hint = cmd.encoded_size_hint();
            assert!(hint >= real && hint < 2 * real, "hint {hint}, encoded {real}: {cmd:?}");
        }
    }
}
