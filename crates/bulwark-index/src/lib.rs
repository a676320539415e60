//! Search indices for Bulwark: Elasticsearch mappings, document apply, the query DSL, search
//! and aggregations, on tantivy.
//!
//! This crate knows no users, Raft or HTTP. Documents are pushed in by whoever holds the source
//! of truth (the store); searches come in as parsed [`SearchRequest`]s and leave as
//! [`SearchResponse`]s shaped like Elasticsearch's JSON. Errors carry Elasticsearch's error
//! `type` and `reason` ([`IndexError`]).
//!
//! # Schema design
//!
//! tantivy fixes an index's schema when it is created, while an Elasticsearch mapping grows with
//! every new field. So every index has the same small, fixed tantivy schema, and the mapping
//! (kept by this crate, saved in each commit's payload) decides where a field's values go:
//!
//! | tantivy field | kind | holds |
//! |---|---|---|
//! | `_id` | text, raw, indexed + stored | the document id (upserts delete by it) |
//! | `_source` | bytes, stored | the document as JSON |
//! | `_seq_no` | u64, fast | the store's `_seq_no`, when given |
//! | `_k` | JSON, raw tokenizer, indexed + fast | exact values by dotted path: `keyword` and `ip` as strings, integers and dates (epoch ms) as `i64`, floats as `f64`, `boolean` as bool |
//! | `_t` | JSON, analyzed, with positions | `text` values by dotted path |
//! | `_field_names` | text, raw | the paths a document has indexed values for (`exists`) |
//!
//! A `text` field with a `keyword` multi-field puts its value in `_t` under `title` and in `_k`
//! under `title.keyword`. Term, range and sort work on `_k` (ranges and sorts through fast
//! fields), full-text queries on `_t`. Scores are BM25 per JSON field, so a field's length norm
//! is shared with the other text fields of the index (close to, not equal to, Elasticsearch).
//!
//! # Writing and reading
//!
//! [`Index::apply`] parses a source against the mapping (adding dynamically mapped fields),
//! deletes the old version by `_id` and adds the new one. [`Index::commit`] makes writes
//! durable with the mapping; [`Index::refresh`] commits and makes them visible (near-real-time:
//! the caller refreshes about once a second and on `refresh=true|wait_for`). The store stays the
//! source of truth: [`Index::rebuild_from`] recreates an index from it.
//!
//! # Searching
//!
//! [`SearchRequest::parse`] reads a `_search` body and URL parameters; [`search_many`] runs it
//! over one or more indices and merges hits (by score or sort values) and aggregations.
//! Aggregations use this crate's own collector over tantivy's fast fields (exact counts,
//! calendar intervals), not `tantivy::aggregation`.
//!
//! # Known differences from Elasticsearch
//!
//! - Text is analyzed by one standard-like analyzer (split on non-alphanumerics, lowercase);
//!   `analyzer` other than `standard`, `fuzziness` other than 0 and the other parameters that
//!   would change which documents match are refused naming them (`query::params::no_op`).
//! - `nested` fields are flattened like `object`; IP CIDR/range queries are not supported (IPs
//!   compare as strings). Mapping parameters the node cannot honour (`copy_to`, `analyzer`
//!   other than `standard`, `doc_values: false`, ...) are refused naming them
//!   ([`mapping_params`]).
//! - `time_zone` takes fixed offsets (`+01:00`) only; date `format` is read for
//!   `epoch_second` and `key_as_string` patterns, otherwise ISO-8601 and epoch millis.
//! - `query_string` is parsed here (tantivy's `QueryParser` cannot tell `_k` from `_t`
//!   fields); regular expressions and fuzziness in it are not supported.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod aggs;
mod column;
mod date;
pub mod dates;
mod delete_by_id;
mod document;
mod dynamic_templates;
mod error;
mod fetch;
mod field_type;
mod hits;
mod index;
mod mapping;
pub mod mapping_params;
mod query;
mod request;
mod response;
mod restriction;
mod schema;
mod searcher;
mod sort;
mod source;
mod writer;

pub use aggs::{AggNode, MAX_BUCKETS};
pub use error::{IndexError, Result};
pub use index::{Index, Rebuilt, SourceDoc};
pub use mapping::{DEPTH_LIMIT, Dynamic, FieldMapping, FieldType, Mapping, TOTAL_FIELDS_LIMIT};
pub use query::{DefaultFields, Query};
pub use request::{DEFAULT_TRACK_TOTAL_HITS, MAX_RESULT_WINDOW, SearchRequest, TrackTotalHits};
pub use response::{Hit, Relation, SearchResponse, TotalHits};
pub use restriction::{FieldPredicate, Restriction, Restrictions, matching};
pub use searcher::{count_many, count_many_restricted, search_many};
pub use source::SourceFilter;
