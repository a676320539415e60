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

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use redb::{ReadableTable, Table, WriteTransaction};

use crate::command::{Command, CommandResponse, DocOp, DocOutcome, DocResult, EntryKind};
use crate::db::AtPath;
use crate::document::{
    DocVersion, PRIMARY_TERM, SAMPLE_BYTES, SourceCodec, StoredDoc, decode_record, decode_version,
    dictionary_from, encode_record, is_compressed, plain_source,
};
use crate::error::StoreError;
use crate::event::AppliedEvent;
use crate::tables::{DOCS, ENTRIES, INDICES, SEQ_NOS, SOURCE_DICTS, TOMBSTONES};

type PairTable<'t, V> = Table<'t, (&'static str, &'static str), V>;

/// The state tables open in one write transaction.
pub(crate) struct StateTables<'t> {
    entries: PairTable<'t, &'static [u8]>,
    indices: Table<'t, &'static str, &'static [u8]>,
    seq_nos: Table<'t, &'static str, u64>,
    docs: PairTable<'t, &'static [u8]>,
    dicts: Table<'t, &'static str, &'static [u8]>,
    tombstones: PairTable<'t, u64>,
    codecs: Codecs,
    path: &'t Path,
}

impl<'t> StateTables<'t> {
    /// Opens every state table in `txn`.
    pub(crate) fn open(
        txn: &'t WriteTransaction,
        path: &'t Path,
        codecs: &CodecCache,
    ) -> Result<Self, StoreError> {
        Ok(StateTables {
            entries: txn.open_table(ENTRIES).at(path)?,
            indices: txn.open_table(INDICES).at(path)?,
            seq_nos: txn.open_table(SEQ_NOS).at(path)?,
            docs: txn.open_table(DOCS).at(path)?,
            dicts: txn.open_table(SOURCE_DICTS).at(path)?,
            tombstones: txn.open_table(TOMBSTONES).at(path)?,
            codecs: Codecs::new(codecs),
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
        self.dicts.remove(name).at(self.path)?;
        self.codecs.forget(name);
        events.push(AppliedEvent::Index { name: name.to_string() });
        Ok(CommandResponse::Ok)
    }

    /// The version of document `id` of `index` (its source is not decoded).
    fn current_version(&self, index: &str, id: &str) -> Result<Option<DocVersion>, StoreError> {
        match self.docs.get((index, id)).at(self.path)? {
            None => Ok(None),
            Some(v) => decode_version(v.value()).map(Some).map_err(bad_record(self.path, index, id)),
        }
    }

    /// The codec that new records of `index` are written with. An index gets its dictionary when
    /// its documents first hold [`SAMPLE_BYTES`] of source; until then records are not compressed.
    fn writing_codec(&mut self, index: &str) -> Result<Option<&mut SourceCodec>, StoreError> {
        if !self.codecs.load(&self.dicts, index, self.path)?
            && self.codecs.cache.plain_bytes(index).is_none_or(|n| n >= SAMPLE_BYTES)
        {
            let path = self.path;
            let rows = self.docs.range::<(&str, &str)>((index, "")..).at(path)?;
            let sources = rows.map_while(|row| match row.at(path) {
                Err(e) => Some(Err(e)),
                Ok((k, v)) => {
                    let (p, id) = k.value();
                    (p == index).then(|| plain_source(v.value()).map_err(bad_record(path, index, id)))
                }
            });
            match dictionary_from(sources)? {
                Ok(dict) => {
                    self.dicts.insert(index, dict.as_slice()).at(path)?;
                    self.codecs.insert(index, SourceCodec::new(dict));
                    self.codecs.cache.set_plain_bytes(index, None);
                }
                Err(held) => self.codecs.cache.set_plain_bytes(index, Some(held)),
            }
        }
        Ok(self.codecs.loaded(index))
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
        let current = self.current_version(index, id)?;
        if let Some(conflict) = check_expected(current, expected) {
            return Ok(conflict);
        }
        if op == DocOp::Create && current.is_some() {
            return Ok(CommandResponse::VersionConflict { current });
        }
        let (version, result) = match &current {
            Some(doc) => (doc.version + 1, DocOutcome::Updated),
            None => (self.tombstone(index, id)?.map_or(1, |v| v + 1), DocOutcome::Created),
        };
        let seq_no = self.next_seq_no(index)?;
        let version_triple = DocVersion { version, seq_no, primary_term: PRIMARY_TERM };
        let codec = self.writing_codec(index)?;
        let compressed = codec.is_some();
        let bytes = encode_doc(index, id, source, version_triple, codec)?;
        if !compressed {
            self.codecs.cache.add_plain_bytes(index, bytes.len());
        }
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
        let current = self.current_version(index, id)?;
        if let Some(conflict) = check_expected(current, expected) {
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
    current: Option<DocVersion>,
    expected: (Option<u64>, Option<u64>),
) -> Option<CommandResponse> {
    let (if_seq_no, if_primary_term) = expected;
    if if_seq_no.is_none() && if_primary_term.is_none() {
        return None;
    }
    let matches = current.is_some_and(|d| {
        if_seq_no.is_none_or(|s| s == d.seq_no) && if_primary_term.is_none_or(|t| t == d.primary_term)
    });
    if matches { None } else { Some(CommandResponse::VersionConflict { current }) }
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
    codec: Option<&mut SourceCodec>,
) -> Result<Vec<u8>, StoreError> {
    encode_record(source, version, codec)
        .map_err(|e| StoreError::encode(format!("document [{index}][{id}]"), e))
}

/// The error for the record of document `id` of `index` in `path` that does not decode.
fn bad_record<'a>(path: &'a Path, index: &'a str, id: &'a str) -> impl FnOnce(String) -> StoreError + 'a {
    move |detail| StoreError::decode(path, format!("document [{index}][{id}]"), detail)
}

/// Source codecs kept between transactions (their zstd contexts and prepared dictionaries cost
/// tens of microseconds to make), at most [`CodecCache::KEPT`] indices' worth. A transaction
/// takes an index's codec out while it uses it, and only if the codec was made with the very
/// dictionary the transaction reads (an index deleted and made again, a snapshot installed or a
/// transaction that did not commit leave codecs of other dictionaries behind: they are not used).
///
/// It also keeps, for indices without a dictionary, how many bytes of source they hold: an
/// estimate that only errs high (overwrites count twice; a transaction that did not commit
/// counted anyway), so that the sources are read (and counted exactly) only when it reaches
/// [`SAMPLE_BYTES`], not at every write.
#[derive(Clone, Default)]
pub(crate) struct CodecCache(Arc<Mutex<Kept>>);

#[derive(Default)]
struct Kept {
    codecs: HashMap<String, SourceCodec>,
    plain_bytes: HashMap<String, usize>,
}

impl CodecCache {
    const KEPT: usize = 16;

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, index: &str, dict: &[u8]) -> SourceCodec {
        match self.kept().codecs.remove(index) {
            Some(codec) if codec.dictionary() == dict => codec,
            _ => SourceCodec::new(dict.to_vec()),
        }
    }

    fn give_back(&self, index: String, codec: SourceCodec) {
        let codecs = &mut self.kept().codecs;
        if codecs.len() >= Self::KEPT && !codecs.contains_key(&index) {
            codecs.clear();
        }
        codecs.insert(index, codec);
    }

    fn plain_bytes(&self, index: &str) -> Option<usize> {
        self.kept().plain_bytes.get(index).copied()
    }

    fn set_plain_bytes(&self, index: &str, held: Option<usize>) {
        let plain = &mut self.kept().plain_bytes;
        match held {
            Some(n) => {
                if plain.len() >= 1024 && !plain.contains_key(index) {
                    plain.clear();
                }
                plain.insert(index.to_owned(), n);
            }
            None => {
                plain.remove(index);
            }
        }
    }

    fn add_plain_bytes(&self, index: &str, bytes: usize) {
        if let Some(n) = self.kept().plain_bytes.get_mut(index) {
            *n += bytes;
        }
    }
}

/// The source codecs of the indices read in one transaction, each loaded (from the
/// [`CodecCache`] when it holds one made with the same dictionary) the first time one of its
/// compressed records is decoded, and given back to the cache at the end.
pub(crate) struct Codecs {
    cache: CodecCache,
    by_index: HashMap<String, Option<SourceCodec>>,
}

impl Drop for Codecs {
    fn drop(&mut self) {
        for (index, codec) in self.by_index.drain() {
            if let Some(codec) = codec {
                self.cache.give_back(index, codec);
            }
        }
    }
}

impl Codecs {
    pub(crate) fn new(cache: &CodecCache) -> Codecs {
        Codecs { cache: cache.clone(), by_index: HashMap::new() }
    }

    /// Loads the codec of `index` unless known; whether it has one.
    fn load(
        &mut self,
        dicts: &impl ReadableTable<&'static str, &'static [u8]>,
        index: &str,
        path: &Path,
    ) -> Result<bool, StoreError> {
        if !self.by_index.contains_key(index) {
            let codec = dicts.get(index).at(path)?.map(|v| self.cache.take(index, v.value()));
            self.by_index.insert(index.to_owned(), codec);
        }
        Ok(self.by_index.get(index).is_some_and(Option::is_some))
    }

    fn loaded(&mut self, index: &str) -> Option<&mut SourceCodec> {
        self.by_index.get_mut(index).and_then(Option::as_mut)
    }

    fn insert(&mut self, index: &str, codec: SourceCodec) {
        self.by_index.insert(index.to_owned(), Some(codec));
    }

    fn forget(&mut self, index: &str) {
        self.by_index.remove(index);
        self.cache.set_plain_bytes(index, None);
    }

    /// Decodes the record `bytes` of document `id` of `index`, read from `path`.
    pub(crate) fn decode(
        &mut self,
        dicts: &impl ReadableTable<&'static str, &'static [u8]>,
        path: &Path,
        index: &str,
        id: &str,
        bytes: &[u8],
    ) -> Result<StoredDoc, StoreError> {
        let codec = if is_compressed(bytes) {
            self.load(dicts, index, path)?;
            self.loaded(index)
        } else {
            None
        };
        decode_record(bytes, codec).map_err(bad_record(path, index, id))
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
