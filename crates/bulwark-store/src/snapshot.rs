//! The snapshot payload: the whole state machine as one JSON document.
//!
//! A snapshot lets openraft purge the log (log compaction) and brings a node that is too far
//! behind up to date. The payload is versioned ([`PAYLOAD_FORMAT`], apart from the state file's
//! format: the payload holds documents as JSON whatever the file holds); one of another version,
//! or one that does not decode, is refused rather than half-installed: installing happens in one
//! write transaction.

use std::path::Path;

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::apply::{CodecCache, Codecs, encode_doc, encode_json};
use crate::command::EntryKind;
use crate::db::AtPath;
use crate::document::StoredDoc;
use crate::document::{SourceCodec, dictionary_from};
use crate::error::StoreError;
use crate::reader::json;
use crate::tables::{DOCS, ENTRIES, INDICES, SEQ_NOS, SOURCE_DICTS, TOMBSTONES};

/// The version of the snapshot payload's shape.
const PAYLOAD_FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    format: u32,
    entries: Vec<EntryRow>,
    indices: Vec<IndexRow>,
}

#[derive(Debug, Serialize, Deserialize)]
struct EntryRow {
    kind: EntryKind,
    id: String,
    value: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
struct IndexRow {
    name: String,
    metadata: serde_json::Value,
    next_seq_no: u64,
    documents: Vec<(String, StoredDoc)>,
    tombstones: Vec<(String, u64)>,
}

/// Serializes every state table as seen by `txn`.
pub(crate) fn export(txn: &ReadTransaction, path: &Path) -> Result<Vec<u8>, StoreError> {
    let entries_table = txn.open_table(ENTRIES).at(path)?;
    let mut entries = Vec::new();
    for row in entries_table.iter().at(path)? {
        let (k, v) = row.at(path)?;
        let (kind_name, id) = k.value();
        let kind = EntryKind::from_name(kind_name).ok_or_else(|| {
            StoreError::decode(path, format!("entry [{id}]"), format!("unknown kind {kind_name:?}"))
        })?;
        let value = json(path, || format!("{kind} entry [{id}]"), v.value())?;
        entries.push(EntryRow { kind, id: id.to_string(), value });
    }

    let indices_table = txn.open_table(INDICES).at(path)?;
    let seq_nos = txn.open_table(SEQ_NOS).at(path)?;
    let docs = txn.open_table(DOCS).at(path)?;
    let dicts = txn.open_table(SOURCE_DICTS).at(path)?;
    let mut codecs = Codecs::new(&CodecCache::default());
    let tombstones_table = txn.open_table(TOMBSTONES).at(path)?;
    let mut indices = Vec::new();
    for row in indices_table.iter().at(path)? {
        let (k, v) = row.at(path)?;
        let name = k.value().to_string();
        let metadata = json(path, || format!("metadata of index [{name}]"), v.value())?;
        let next_seq_no = seq_nos.get(name.as_str()).at(path)?.map_or(0, |v| v.value());
        let mut documents = Vec::new();
        for row in docs.range::<(&str, &str)>((name.as_str(), "")..).at(path)? {
            let (k, v) = row.at(path)?;
            let (index, id) = k.value();
            if index != name {
                break;
            }
            documents.push((id.to_string(), codecs.decode(&dicts, path, index, id, v.value())?));
        }
        let mut tombstones = Vec::new();
        for row in tombstones_table.range::<(&str, &str)>((name.as_str(), "")..).at(path)? {
            let (k, v) = row.at(path)?;
            let (index, id) = k.value();
            if index != name {
                break;
            }
            tombstones.push((id.to_string(), v.value()));
        }
        indices.push(IndexRow { name, metadata, next_seq_no, documents, tombstones });
    }
    encode_json("the snapshot", &Payload { format: PAYLOAD_FORMAT, entries, indices })
}

/// Replaces every state table in `txn` with the content of `bytes`.
pub(crate) fn import(
    txn: &WriteTransaction,
    path: &Path,
    snapshot_id: &str,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let invalid =
        |detail: String| StoreError::InvalidSnapshot { snapshot_id: snapshot_id.to_string(), detail };
    let payload: Payload = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if payload.format != PAYLOAD_FORMAT {
        return Err(invalid(format!(
            "it has data format version {}, this release reads version {PAYLOAD_FORMAT}",
            payload.format
        )));
    }
    txn.delete_table(ENTRIES).at(path)?;
    txn.delete_table(INDICES).at(path)?;
    txn.delete_table(SEQ_NOS).at(path)?;
    txn.delete_table(DOCS).at(path)?;
    txn.delete_table(SOURCE_DICTS).at(path)?;
    txn.delete_table(TOMBSTONES).at(path)?;

    let mut entries = txn.open_table(ENTRIES).at(path)?;
    for row in &payload.entries {
        let bytes = encode_json("an entry", &row.value)?;
        entries.insert((row.kind.as_str(), row.id.as_str()), bytes.as_slice()).at(path)?;
    }
    let mut indices = txn.open_table(INDICES).at(path)?;
    let mut seq_nos = txn.open_table(SEQ_NOS).at(path)?;
    let mut docs = txn.open_table(DOCS).at(path)?;
    let mut dicts = txn.open_table(SOURCE_DICTS).at(path)?;
    let mut tombstones = txn.open_table(TOMBSTONES).at(path)?;
    for index in &payload.indices {
        let name = index.name.as_str();
        indices.insert(name, encode_json("index metadata", &index.metadata)?.as_slice()).at(path)?;
        seq_nos.insert(name, index.next_seq_no).at(path)?;
        // The dictionary as the apply would have made it: from the first documents, by id.
        let sources = index
            .documents
            .iter()
            .map(|(id, doc)| encode_json(&format!("document [{name}][{id}]"), &doc.source));
        let mut codec = dictionary_from(sources)?.ok().map(SourceCodec::new);
        if let Some(c) = &codec {
            dicts.insert(name, c.dictionary()).at(path)?;
        }
        for (id, doc) in &index.documents {
            let record = encode_doc(name, id, &doc.source, doc.doc_version(), codec.as_mut())?;
            docs.insert((name, id.as_str()), record.as_slice()).at(path)?;
        }
        for (id, version) in &index.tombstones {
            tombstones.insert((name, id.as_str()), *version).at(path)?;
        }
    }
    Ok(())
}
