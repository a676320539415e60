//! The fixed tantivy schema every index shares, and how Elasticsearch field paths map onto it.
//!
//! See the crate documentation for the design. In short: field values live under their dotted
//! path inside one of two tantivy JSON fields, `_k` (exact values, fast) or `_t` (analyzed text);
//! the field's mapping decides which one and with what type.

use tantivy::Term;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, JsonObjectOptions, STORED, STRING, Schema, TextFieldIndexing,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

use crate::error::{IndexError, Result};

/// Document id (raw string, indexed and stored).
pub(crate) const ID: &str = "_id";
/// The document source as JSON bytes (stored only).
pub(crate) const SOURCE: &str = "_source";
/// The document's `_seq_no` (fast).
pub(crate) const SEQ_NO: &str = "_seq_no";
/// Exact values: keywords, numbers, dates, booleans, IPs (JSON, raw tokenizer, fast).
pub(crate) const KEYWORD: &str = "_k";
/// Analyzed full text (JSON, standard-like tokenizer, with positions).
pub(crate) const TEXT: &str = "_t";
/// The paths of the fields a document has values for (for `exists`).
pub(crate) const FIELD_NAMES: &str = "_field_names";

/// The analyzer for `text` fields: split on non-alphanumeric characters, drop tokens longer
/// than 255 bytes, lowercase (close to Elasticsearch's `standard` analyzer).
pub(crate) const TEXT_ANALYZER: &str = "bulwark_standard";

/// Handles on the schema's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) id: Field,
    pub(crate) source: Field,
    pub(crate) seq_no: Field,
    pub(crate) keyword: Field,
    pub(crate) text: Field,
    pub(crate) field_names: Field,
}

/// Builds the schema.
pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_text_field(ID, STRING | STORED);
    let source = b.add_bytes_field(SOURCE, STORED);
    let seq_no = b.add_u64_field(SEQ_NO, INDEXED | FAST);
    let keyword_opts = JsonObjectOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default().set_tokenizer("raw").set_index_option(IndexRecordOption::Basic),
        )
        .set_fast("raw");
    let keyword = b.add_json_field(KEYWORD, keyword_opts);
    let text_opts = JsonObjectOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TEXT_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let text = b.add_json_field(TEXT, text_opts);
    let field_names = b.add_text_field(FIELD_NAMES, STRING);
    (b.build(), Fields { id, source, seq_no, keyword, text, field_names })
}

/// Finds the fields in a schema read from disk, refusing one this crate did not write.
pub(crate) fn fields_of(schema: &Schema, dir: &str) -> Result<Fields> {
    let get = |name: &str| {
        schema.get_field(name).map_err(|_| IndexError::Corrupt {
            path: dir.to_string(),
            detail: format!("the schema has no field [{name}]"),
        })
    };
    Ok(Fields {
        id: get(ID)?,
        source: get(SOURCE)?,
        seq_no: get(SEQ_NO)?,
        keyword: get(KEYWORD)?,
        text: get(TEXT)?,
        field_names: get(FIELD_NAMES)?,
    })
}

/// Registers the analyzers the schema names on a freshly created or opened tantivy index.
pub(crate) fn register_analyzers(index: &tantivy::Index) {
    let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(256))
        .filter(LowerCaser)
        .build();
    index.tokenizers().register(TEXT_ANALYZER, analyzer);
}

/// A dotted Elasticsearch path as a tantivy JSON path: segments never hold dots (mappings
/// split them), so only backslashes need escaping.
pub(crate) fn json_path(path: &str) -> String {
    path.replace('\\', "\\\\")
}

/// The term prefix (field + path, no type or value yet) of `path` in JSON field `field`.
pub(crate) fn path_term(field: Field, path: &str) -> Term {
    Term::from_field_json_path(field, &json_path(path), false)
}

/// The fast-field (column) name of `path` in `_k`.
pub(crate) fn column_name(path: &str) -> String {
    format!("{KEYWORD}.{}", json_path(path))
}
