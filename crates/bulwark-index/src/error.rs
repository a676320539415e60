//! The crate's one error type, shaped after Elasticsearch's error `type` and `reason`.

use std::fmt;

/// Everything that can go wrong in this crate.
///
/// Each variant maps to exactly one Elasticsearch error `type` ([`IndexError::error_type`]) and
/// HTTP status ([`IndexError::status`]), so the REST layer can build Elasticsearch's
/// `{"error": {"root_cause": [..], "type", "reason"}, "status"}` without inspecting messages.
/// Errors caused by the request are 400s; only [`IndexError::Engine`] and
/// [`IndexError::Corrupt`] are the node's fault.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The query DSL or another request body part is malformed (`parsing_exception`).
    #[error("{0}")]
    Parsing(String),
    /// A body value has the wrong JSON shape for its key (`x_content_parse_exception`).
    #[error("{0}")]
    XContentParse(String),
    /// A request parameter or value is not acceptable (`illegal_argument_exception`), e.g. a
    /// result window that is too large or a mapping type change.
    #[error("{0}")]
    IllegalArgument(String),
    /// A document or a mapping definition cannot be parsed (`mapper_parsing_exception`).
    #[error("{0}")]
    MapperParsing(String),
    /// A document introduces a field into a mapping with `dynamic: strict`
    /// (`strict_dynamic_mapping_exception`).
    #[error("{0}")]
    StrictDynamicMapping(String),
    /// A query is well formed but cannot be run against a field as mapped
    /// (`query_shard_exception`), e.g. a number query on `"abc"`.
    #[error("{0}")]
    QueryShard(String),
    /// An aggregation would create more buckets than allowed (`too_many_buckets_exception`).
    #[error("{0}")]
    TooManyBuckets(String),
    /// [`crate::Index::create`] found an index in its directory already
    /// (`resource_already_exists_exception`).
    #[error("an index already exists in {path}")]
    AlreadyExists {
        /// The directory.
        path: String,
    },
    /// The search engine failed while reading or writing (`engine_exception`): a bug or an I/O
    /// problem, never the caller's fault.
    #[error("{context}: {detail}")]
    Engine {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        detail: String,
    },
    /// The index directory holds something this crate did not write (`corrupt_index_exception`).
    #[error("the index in {path} is unreadable: {detail}")]
    Corrupt {
        /// The directory.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

impl IndexError {
    /// Elasticsearch's error `type` for this error, as this crate's tests name errors. What is
    /// answered (type and status) is decided by `bulwark-rest`'s registry of error types, whose
    /// tests check that it agrees.
    pub fn error_type(&self) -> &'static str {
        match self {
            IndexError::Parsing(_) => "parsing_exception",
            IndexError::XContentParse(_) => "x_content_parse_exception",
            IndexError::IllegalArgument(_) => "illegal_argument_exception",
            IndexError::MapperParsing(_) => "mapper_parsing_exception",
            IndexError::StrictDynamicMapping(_) => "strict_dynamic_mapping_exception",
            IndexError::QueryShard(_) => "query_shard_exception",
            IndexError::TooManyBuckets(_) => "too_many_buckets_exception",
            IndexError::AlreadyExists { .. } => "resource_already_exists_exception",
            IndexError::Engine { .. } => "engine_exception",
            IndexError::Corrupt { .. } => "corrupt_index_exception",
        }
    }

    /// Whether the request (its body, a document, a parameter) is at fault, rather than the
    /// engine or its files.
    pub fn is_callers_fault(&self) -> bool {
        !matches!(self, IndexError::Engine { .. } | IndexError::Corrupt { .. })
    }

    /// Elasticsearch's `reason` for this error.
    pub fn reason(&self) -> String {
        self.to_string()
    }

    /// Whether a search that failed with this error is reported by Elasticsearch wrapped in a
    /// `search_phase_execution_exception` (the error happened on the shards, not while parsing
    /// the request): `query_shard_exception` and `too_many_buckets_exception` are.
    pub fn is_shard_failure(&self) -> bool {
        matches!(self, IndexError::QueryShard(_) | IndexError::TooManyBuckets(_) | IndexError::Engine { .. })
    }

    pub(crate) fn parsing(reason: impl fmt::Display) -> IndexError {
        IndexError::Parsing(reason.to_string())
    }

    pub(crate) fn illegal(reason: impl fmt::Display) -> IndexError {
        IndexError::IllegalArgument(reason.to_string())
    }

    pub(crate) fn mapper(reason: impl fmt::Display) -> IndexError {
        IndexError::MapperParsing(reason.to_string())
    }

    pub(crate) fn engine(context: &'static str) -> impl Fn(tantivy::TantivyError) -> IndexError {
        move |e| IndexError::Engine { context, detail: e.to_string() }
    }
}

/// The crate's result type.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
