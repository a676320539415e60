//! One Elasticsearch index: a tantivy index in a directory (or in RAM), its mapping, a writer
//! and a reader.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::Schema;
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, Term};

use crate::delete_by_id;
use crate::document;
use crate::error::{IndexError, Result};
use crate::mapping::Mapping;
use crate::query::Query;
use crate::request::SearchRequest;
use crate::response::SearchResponse;
use crate::schema::{self, Fields};
use crate::searcher;
use crate::writer;

/// The version of what this crate writes into the commit payload.
const FORMAT: u64 = 1;
/// Indexing memory before the writer flushes a segment.
const WRITER_MEMORY: usize = 32_000_000;

/// A searchable Elasticsearch index.
///
/// Writes ([`Index::apply`], [`Index::delete`]) are buffered; [`Index::commit`] makes them
/// durable and [`Index::refresh`] makes them visible to searches (near-real-time: the caller
/// refreshes about once a second, and on `refresh=true|wait_for`). The mapping is saved with
/// every commit, atomically with the documents, and so is a position the caller sets
/// ([`Index::set_position`]: how far the index follows its source of truth).
pub struct Index {
    name: String,
    inner: tantivy::Index,
    fields: Fields,
    reader: IndexReader,
    writer: Option<IndexWriter>,
    mapping: Mapping,
    /// Whether there are writes or a mapping change not yet committed.
    dirty: bool,
    /// Whether there is a commit the reader has not loaded.
    stale: bool,
    dir: Option<PathBuf>,
    /// The caller's position (e.g. of the store it follows) saved with the last commit.
    committed_position: Option<u64>,
    /// The position the next commit saves.
    position: Option<u64>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("name", &self.name).field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Index {
    /// Creates index `name` in the empty or missing directory `dir`, with `mapping`.
    pub fn create(name: &str, dir: &Path, mapping: Mapping) -> Result<Index> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Engine {
            context: "creating the index directory",
            detail: format!("{}: {e}", dir.display()),
        })?;
        let (schema, _) = schema::build();
        let directory = MmapDirectory::open(dir).map_err(|e| IndexError::Engine {
            context: "opening the index directory",
            detail: e.to_string(),
        })?;
        if tantivy::Index::exists(&directory).unwrap_or(true) {
            return Err(IndexError::AlreadyExists { path: dir.display().to_string() });
        }
        // Stored fields in zstd blocks: about half of LZ4's (tantivy's default) size for small
        // documents, no slower to search (docs/architecture.md, "Where the bytes are").
        let settings = tantivy::IndexSettings {
            docstore_compression: tantivy::store::Compressor::Zstd(tantivy::store::ZstdCompressor {
                compression_level: Some(1),
            }),
            ..tantivy::IndexSettings::default()
        };
        let inner = tantivy::Index::create(directory, schema, settings)
            .map_err(IndexError::engine("creating the index"))?;
        Index::init(name, inner, mapping, Some(dir.to_path_buf()))
    }

    /// Creates index `name` in memory (for tests and throw-away indices).
    pub fn create_in_ram(name: &str, mapping: Mapping) -> Result<Index> {
        let (schema, _) = schema::build();
        Index::init(name, tantivy::Index::create_in_ram(schema), mapping, None)
    }

    fn init(name: &str, inner: tantivy::Index, mapping: Mapping, dir: Option<PathBuf>) -> Result<Index> {
        let mut index = Index::wrap(name, inner, mapping, dir)?;
        index.dirty = true;
        index.commit()?;
        index.refresh()?;
        Ok(index)
    }

    /// Opens the index in `dir`, as last committed, under the name `name`.
    pub fn open(name: &str, dir: &Path) -> Result<Index> {
        let shown = dir.display().to_string();
        let corrupt = |detail: String| IndexError::Corrupt { path: shown.clone(), detail };
        let directory = MmapDirectory::open(dir).map_err(|e| corrupt(e.to_string()))?;
        let inner = tantivy::Index::open(directory).map_err(|e| corrupt(e.to_string()))?;
        let metas = inner.load_metas().map_err(|e| corrupt(e.to_string()))?;
        let payload = metas.payload.ok_or_else(|| corrupt("the last commit has no mapping".into()))?;
        let payload: Value = serde_json::from_str(&payload).map_err(|e| corrupt(e.to_string()))?;
        let format = payload.get("format").and_then(Value::as_u64).unwrap_or(0);
        if format != FORMAT {
            return Err(corrupt(format!("format {format} is not {FORMAT}, the format this version reads")));
        }
        // Saved once accepted: not checked again against a limit (the caller sets the index's).
        let mapping = Mapping::from_json_limited(payload.get("mapping").unwrap_or(&Value::Null), usize::MAX)
            .map_err(|e| corrupt(format!("the saved mapping is unreadable: {e}")))?;
        let mut mapping = mapping;
        mapping.set_total_fields_limit(crate::TOTAL_FIELDS_LIMIT);
        let position = match payload.get("position") {
            None | Some(Value::Null) => None,
            Some(v) => {
                Some(v.as_u64().ok_or_else(|| corrupt(format!("the saved position {v} is not a number")))?)
            }
        };
        let mut index = Index::wrap(name, inner, mapping, Some(dir.to_path_buf()))?;
        index.committed_position = position;
        index.position = position;
        Ok(index)
    }

    fn wrap(name: &str, inner: tantivy::Index, mapping: Mapping, dir: Option<PathBuf>) -> Result<Index> {
        let shown = dir.as_ref().map(|d| d.display().to_string()).unwrap_or_else(|| "memory".into());
        let fields = schema::fields_of(&inner.schema(), &shown)?;
        let expected: Schema = schema::build().0;
        if inner.schema() != expected {
            return Err(IndexError::Corrupt { path: shown, detail: "the schema is not this crate's".into() });
        }
        schema::register_analyzers(&inner);
        let reader = inner
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(IndexError::engine("opening an index reader"))?;
        Ok(Index {
            name: name.to_string(),
            inner,
            fields,
            reader,
            writer: None,
            mapping,
            dirty: false,
            stale: false,
            dir,
            committed_position: None,
            position: None,
        })
    }

    /// The index name, as hits report it in `_index`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current mapping, dynamic additions included (committed or not).
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// Merges `mapping` into the index's mapping (`PUT _mapping`). A type change is refused
    /// and nothing changes. Saved with the next commit.
    pub fn put_mapping(&mut self, mapping: &Mapping) -> Result<()> {
        self.mapping.merge(mapping)?;
        self.dirty = true;
        Ok(())
    }

    /// Replaces the index's mapping (e.g. with its source of truth's). Saved with the next commit.
    pub fn set_mapping(&mut self, mapping: Mapping) {
        if mapping.to_json() != self.mapping.to_json() {
            self.mapping = mapping;
            self.dirty = true;
        }
    }

    /// Sets `index.mapping.total_fields.limit` for later mapping updates (a setting: nothing
    /// to save).
    pub fn set_total_fields_limit(&mut self, limit: usize) {
        self.mapping.set_total_fields_limit(limit);
    }

    /// The position saved with the last commit ([`Index::set_position`]), if any.
    pub fn committed_position(&self) -> Option<u64> {
        self.committed_position
    }

    /// Sets the position the next commit saves with the documents: the caller's promise that
    /// everything up to it has been written to this index. A position different from the
    /// committed one makes the next [`Index::commit`] write a commit even without new documents.
    pub fn set_position(&mut self, position: u64) {
        self.position = Some(position);
        if self.committed_position != self.position {
            self.dirty = true;
        }
    }

    /// Checks that `source` can be indexed as document `id` without changing anything, and
    /// returns the fields dynamic mapping would add.
    pub fn check(&self, id: &str, source: &Value) -> Result<Option<Mapping>> {
        Ok(document::parse(&self.mapping, id, source)?.update)
    }

    /// Indexes (creates or replaces) document `id`. Returns the fields dynamic mapping added,
    /// if any. A value that does not fit its field's type is refused
    /// (`mapper_parsing_exception`) and nothing changes.
    pub fn apply(&mut self, id: &str, source: &Value) -> Result<Option<Mapping>> {
        self.apply_doc(id, source, None)
    }

    /// Like [`Index::apply`], recording the document's `_seq_no`.
    pub fn apply_with_seq_no(&mut self, id: &str, source: &Value, seq_no: u64) -> Result<Option<Mapping>> {
        self.apply_doc(id, source, Some(seq_no))
    }

    fn apply_doc(&mut self, id: &str, source: &Value, seq_no: Option<u64>) -> Result<Option<Mapping>> {
        let parsed = document::parse(&self.mapping, id, source)?;
        let doc = writer::to_tantivy(&self.fields, id, source, seq_no, &parsed);
        let id_field = self.fields.id;
        let w = self.writer()?;
        delete_by_id::queue(w, Term::from_field_text(id_field, id))?;
        w.add_document(doc).map_err(IndexError::engine("adding a document"))?;
        if let Some(update) = &parsed.update {
            self.mapping.merge(update)?;
        }
        self.dirty = true;
        Ok(parsed.update)
    }

    /// Deletes document `id` (nothing happens if it does not exist).
    pub fn delete(&mut self, id: &str) -> Result<()> {
        let id_field = self.fields.id;
        delete_by_id::queue(self.writer()?, Term::from_field_text(id_field, id))?;
        self.dirty = true;
        Ok(())
    }

    /// Makes every write so far durable, with the mapping. Searches see them after
    /// [`Index::refresh`].
    pub fn commit(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let payload = json!({"format": FORMAT, "mapping": self.mapping.to_json(), "position": self.position})
            .to_string();
        let w = self.writer()?;
        let mut prepared = w.prepare_commit().map_err(IndexError::engine("preparing a commit"))?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(IndexError::engine("committing"))?;
        self.committed_position = self.position;
        self.dirty = false;
        self.stale = true;
        Ok(())
    }

    /// Commits pending writes and makes everything committed visible to searches.
    pub fn refresh(&mut self) -> Result<()> {
        self.commit()?;
        if self.stale {
            self.reader.reload().map_err(IndexError::engine("reloading the index reader"))?;
            self.stale = false;
        }
        Ok(())
    }

    /// Whether there are writes not yet visible to searches.
    pub fn needs_refresh(&self) -> bool {
        self.dirty || self.stale
    }

    /// The number of documents searches see.
    pub fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Replaces every document with `docs` (`(id, source)`, `(id, source, seq_no)` or
    /// [`SourceDoc`]s, e.g. from the store), keeping the mapping, then commits and refreshes.
    /// Documents that cannot be indexed are skipped and reported.
    pub fn rebuild_from<I, D>(&mut self, docs: I) -> Result<Rebuilt>
    where
        I: IntoIterator<Item = D>,
        D: Into<SourceDoc>,
    {
        self.writer()?.delete_all_documents().map_err(IndexError::engine("clearing the index"))?;
        self.dirty = true;
        let mut rebuilt = Rebuilt::default();
        for doc in docs {
            let SourceDoc { id, source, seq_no } = doc.into();
            match self.apply_doc(&id, &source, seq_no) {
                Ok(_) => rebuilt.indexed += 1,
                Err(e @ IndexError::Engine { .. }) => return Err(e),
                Err(e) => rebuilt.rejected.push((id, e)),
            }
        }
        self.refresh()?;
        Ok(rebuilt)
    }

    /// Runs `request` on this index alone.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        searcher::search_many(&[self], request)
    }

    /// Counts the documents matching `query` (`_count`).
    pub fn count(&self, query: &Query) -> Result<u64> {
        searcher::count_many(&[self], query)
    }

    /// Waits for background merges to finish and releases the directory.
    pub fn close(mut self) -> Result<()> {
        if let Some(w) = self.writer.take() {
            w.wait_merging_threads().map_err(IndexError::engine("closing the index writer"))?;
        }
        Ok(())
    }

    fn writer(&mut self) -> Result<&mut IndexWriter> {
        if self.writer.is_none() {
            let options = IndexWriterOptions::builder()
                .num_worker_threads(1)
                .num_merge_threads(1)
                .memory_budget_per_thread(WRITER_MEMORY)
                .build();
            let w = self
                .inner
                .writer_with_options(options)
                .map_err(IndexError::engine("opening the index writer"))?;
            self.writer = Some(w);
        }
        match self.writer.as_mut() {
            Some(w) => Ok(w),
            None => {
                Err(IndexError::Engine { context: "opening the index writer", detail: "no writer".into() })
            }
        }
    }

    pub(crate) fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }

    pub(crate) fn tantivy(&self) -> &tantivy::Index {
        &self.inner
    }
}

/// A document to index: its id, source and, when known, the store's `_seq_no`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDoc {
    /// `_id`.
    pub id: String,
    /// `_source`.
    pub source: Value,
    /// `_seq_no`, if known.
    pub seq_no: Option<u64>,
}

impl From<(String, Value)> for SourceDoc {
    fn from((id, source): (String, Value)) -> SourceDoc {
        SourceDoc { id, source, seq_no: None }
    }
}

impl From<(String, Value, u64)> for SourceDoc {
    fn from((id, source, seq_no): (String, Value, u64)) -> SourceDoc {
        SourceDoc { id, source, seq_no: Some(seq_no) }
    }
}

/// What [`Index::rebuild_from`] did.
#[derive(Debug, Default)]
pub struct Rebuilt {
    /// Documents indexed.
    pub indexed: u64,
    /// Documents skipped, with the reason.
    pub rejected: Vec<(String, IndexError)>,
}
