//! What each [`Command`] does to the state machine's tables.
//!
//! This is the deterministic heart of the store: given the same tables and the same command, every
//! node computes the same change and the same [`CommandResponse`]. Nothing here reads a clock or
//! draws a random number. Refusals (conflicts, missing indices) are responses; errors are only
//! about the file (an I/O failure, a record that does not decode).
//!
//! Document versioning follows Elasticsearch: `_version` is 1 for the first write of an id and
//! grows by one with every write of it, deletes included (a deleted id keeps a tombstone with its
//! last version, so that writing it again continues the count); `_seq_no` numbers every write of
//! an index, starting at 0, including deletes and deletes that found nothing.

use std::path::Path;

use redb::{ReadableTable, Table, WriteTransaction};

use crate::command::{Command, CommandResponse, DocOp, DocOutcome, DocResult, EntryKind};
use crate::db::AtPath;
use crate::document::{DocVersion, PRIMARY_TERM, StoredDoc, decode_record, encode_record};
use crate::error::StoreError;
use crate::event::AppliedEvent;
use crate::tables::{DOCS, ENTRIES, INDICES, SEQ_NOS, TOMBSTONES};

type PairTable<'t, V> = Table<'t, (&'static str, &'static str), V>;

/// The state tables open in one write transaction.
pub(crate) struct StateTables<'t> {
    entries: PairTable<'t, &'static [u8]>,
    indices: Table<'t, &'static str, &'static [u8]>,
    seq_nos: Table<'t, &'static str, u64>,
    docs: PairTable<'t, &'static [u8]>,
    tombstones: PairTable<'t, u64>,
    path: &'t Path,
}

impl<'t> StateTables<'t> {
    /// Opens every state table in `txn`.
    pub(crate) fn open(txn: &'t WriteTransaction, path: &'t Path) -> Result<Self, StoreError> {
        Ok(StateTables {
            entries: txn.open_table(ENTRIES).at(path)?,
            indices: txn.open_table(INDICES).at(path)?,
            seq_nos: txn.open_table(SEQ_NOS).at(path)?,
            docs: txn.open_table(DOCS).at(path)?,
            tombstones: txn.open_table(TOMBSTONES).at(path)?,
            path,
        })
    }

    /// Applies one command, recording what changed in `events`.
    pub(crate) fn apply(
        &mut self,
        cmd: &Command,
        events: &mut Vec<AppliedEvent>,
    ) -> Result<CommandResponse, StoreError> {
        match cmd {
            Command::PutEntry { kind, id, value } => self.put_entry(*kind, id, value, events),
            Command::DeleteEntry { kind, id } => self.delete_entry(*kind, id, events),
            Command::CreateIndex { name, metadata } => self.create_index(name, metadata, events),
            Command::UpdateIndexMetadata { name, metadata } => self.update_index(name, metadata, events),
            Command::DeleteIndex { name } => self.delete_index(name, events),
            Command::IndexDocument { index, id, source, op, if_seq_no, if_primary_term } => {
                self.index_document(index, id, source, *op, (*if_seq_no, *if_primary_term), events)
            }
            Command::DeleteDocument { index, id, if_seq_no, if_primary_term } => {
                self.delete_document(index, id, (*if_seq_no, *if_primary_term), events)
            }
            Command::Batch(cmds) => {
                let mut out = Vec::with_capacity(cmds.len());
                for c in cmds {
                    out.push(self.apply(c, events)?);
                }
                Ok(CommandResponse::Batch(out))
            }
        }
    }

    fn put_entry(
        &mut self,
        kind: EntryKind,
        id: &str,
        value: &serde_json::Value,
        events: &mut Vec<AppliedEvent>,
    ) -> Result<CommandResponse, StoreError> {
        let bytes = encode_json(&format!("{kind} entry [{id}]"), value)?;
        let previous = self.entries.insert((kind.as_str(), id), bytes.as_slice()).at(self.path)?;
        let created = previous.is_none();
        drop(previous);
        events.push(AppliedEvent::Entry { kind, id: id.to_string() });
        Ok(CommandResponse::Entry { created })
    }

    fn delete_entry(
        &mut self,
        kind: EntryKind,
        id: &str,
        events: &mut Vec<AppliedEvent>,
    ) -> Result<CommandResponse, StoreError> {
        let removed = self.entries.remove((kind.as_str(), id)).at(self.path)?.is_some();
        if !removed {
            return Ok(CommandResponse::NotFound);
        }
        events.push(AppliedEvent::Entry { kind, id: id.to_string() });
        Ok(CommandResponse::Ok)
    }

    fn index_exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.indices.get(name).at(self.path)?.is_some())
    }

    fn create_index(
        &mut self,
        name: &str,
        metadata: &serde_json::Value,
        events: &mut Vec<AppliedEvent>,
    ) -> Result<CommandResponse, StoreError> {
        if self.index_exists(name)? {
            return Ok(CommandResponse::AlreadyExists);
        }
        let bytes = encode_json(&format!("metadata of index [{name}]"), metadata)?;
        self.indices.insert(name, bytes.as_slice()).at(self.path)?;
        self.seq_nos.insert(name, 0).at(self.path)?;
        events.push(AppliedEvent::Index { name: name.to_string() });
        Ok(CommandResponse::Index { created: true })
    }

    fn update_index(
        &mut self,
        name: &str,
        metadata: &serde_json::Value,
        events: &mut Vec<AppliedEvent>,
    ) -> Result<CommandResponse, StoreError> {
        if !self.index_exists(name)? {
            return Ok(CommandResponse::NotFound);
        }
        let bytes = encode_json(&format!("metadata of index [{name}]"), metadata)?;
        self.indices.insert(name, bytes.as_slice()).at(self.path)?;
        events.push(AppliedEvent::Index { name: name.to_string() });
        Ok(CommandResponse::Ok)
    }

    fn delete_index(
        &mut self,
        name: &str,
        events: &mut Vec<AppliedEvent>,
    ) -> Result<CommandResponse, StoreError> {
        if self.indices.remove(name).at(self.path)?.is_none() {
            return Ok(CommandResponse::NotFound);
        }
        self.seq_nos.remove(name).at(self.path)?;
        for id in ids_in(&self.docs, name, self.path)? {
            self.docs.remove((name, id.as_str())).at(self.path)?;
        }
        for id in ids_in(&self.tombstones, name, self.path)? {
            self.tombstones.remove((name, id.as_str())).at(self.path)?;
        }
        events.push(AppliedEvent::Index { name: name.to_string() });
        Ok(CommandResponse::Ok)
    }

    fn document(&self, index: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        match self.docs.get((index, id)).at(self.path)? {
            None => Ok(None),
            Some(v) => decode_doc(self.path, index, id, v.value()).map(Some),
        }
    }

    fn tombstone(&self, index: &str, id: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.tombstones.get((index, id)).at(self.path)?.map(|v| v.value()))
    }

    /// Takes the next `_seq_no` of `index`.
    fn next_seq_no(&mut self, index: &str) -> Result<u64, StoreError> {
        let seq = self.seq_nos.get(index).at(self.path)?.map_or(0, |v| v.value());
        self.seq_nos.insert(index, seq + 1).at(self.path)?;
        Ok(seq)
    }

    fn index_document(
        &mut self,
        index: &str,
        id: &str,
        source: &serde_json::Value,
        op: DocOp,
        expected: (Option<u64>, Option<u64>),
        events: &mut Vec<AppliedEvent>,
    ) -> Result<CommandResponse, StoreError> {
        if !self.index_exists(index)? {
            return Ok(CommandResponse::NotFound);
        }
        let current = self.document(index, id)?;
        if let Some(conflict) = check_expected(current.as_ref(), expected) {
            return Ok(conflict);
        }
        if op == DocOp::Create && current.is_some() {
            return Ok(CommandResponse::VersionConflict { current: current.map(|d| d.doc_version()) });
        }
        let (version, result) = match &current {
            Some(doc) => (doc.version + 1, DocOutcome::Updated),
            None => (self.tombstone(index, id)?.map_or(1, |v| v + 1), DocOutcome::Created),
        };
        let seq_no = self.next_seq_no(index)?;
        let bytes =
            encode_doc(index, id, source, DocVersion { version, seq_no, primary_term: PRIMARY_TERM })?;
        self.docs.insert((index, id), bytes.as_slice()).at(self.path)?;
        self.tombstones.remove((index, id)).at(self.path)?;
        events.push(AppliedEvent::Document { index: index.to_string(), id: id.to_string() });
        Ok(CommandResponse::Doc(DocResult { result, version, seq_no, primary_term: PRIMARY_TERM }))
    }

    fn delete_document(
        &mut self,
        index: &str,
        id: &str,
        expected: (Option<u64>, Option<u64>),
        events: &mut Vec<AppliedEvent>,
    ) -> Result<CommandResponse, StoreError> {
        if !self.index_exists(index)? {
            return Ok(CommandResponse::NotFound);
        }
        let current = self.document(index, id)?;
        if let Some(conflict) = check_expected(current.as_ref(), expected) {
            return Ok(conflict);
        }
        let seq_no = self.next_seq_no(index)?;
        let (version, result) = match &current {
            Some(doc) => {
                self.docs.remove((index, id)).at(self.path)?;
                events.push(AppliedEvent::Document { index: index.to_string(), id: id.to_string() });
                (doc.version + 1, DocOutcome::Deleted)
            }
            None => (self.tombstone(index, id)?.map_or(1, |v| v + 1), DocOutcome::NotFound),
        };
        self.tombstones.insert((index, id), version).at(self.path)?;
        Ok(CommandResponse::Doc(DocResult { result, version, seq_no, primary_term: PRIMARY_TERM }))
    }
}

/// The conflict response when `if_seq_no`/`if_primary_term` are given and the current document
/// does not carry them (or does not exist).
fn check_expected(
    current: Option<&StoredDoc>,
    expected: (Option<u64>, Option<u64>),
) -> Option<CommandResponse> {
    let (if_seq_no, if_primary_term) = expected;
    if if_seq_no.is_none() && if_primary_term.is_none() {
        return None;
    }
    let matches = current.is_some_and(|d| {
        if_seq_no.is_none_or(|s| s == d.seq_no) && if_primary_term.is_none_or(|t| t == d.primary_term)
    });
    if matches {
        None
    } else {
        Some(CommandResponse::VersionConflict { current: current.map(|d| d.doc_version()) })
    }
}

/// The ids of the rows of `prefix` in a `(prefix, id)` table.
fn ids_in<V: redb::Value + 'static>(
    table: &PairTable<'_, V>,
    prefix: &str,
    path: &Path,
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for row in table.range::<(&str, &str)>((prefix, "")..).at(path)? {
        let (k, _) = row.at(path)?;
        let (p, id) = k.value();
        if p != prefix {
            break;
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

pub(crate) fn encode_json<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::encode(what, e))
}

/// A document's record in the state file ([`encode_record`]).
pub(crate) fn encode_doc(
    index: &str,
    id: &str,
    source: &serde_json::Value,
    version: DocVersion,
) -> Result<Vec<u8>, StoreError> {
    encode_record(source, version).map_err(|e| StoreError::encode(format!("document [{index}][{id}]"), e))
}

pub(crate) fn decode_doc(path: &Path, index: &str, id: &str, bytes: &[u8]) -> Result<StoredDoc, StoreError> {
    decode_record(bytes).map_err(|e| StoreError::decode(path, format!("document [{index}][{id}]"), e))
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
