//! The Elasticsearch query DSL: reading JSON into a [`Query`], and compiling it against an
//! index into a tantivy query.

mod compile;
mod dsl;
mod params;
mod query_string;
mod term_scan;

use std::collections::BTreeMap;

use serde_json::Value;

pub(crate) use compile::Compiler;
pub(crate) use dsl::QueryAst;
pub(crate) use params::{number, scalar_string, token};

use crate::error::{IndexError, Result};

/// A parsed query clause, valid for any index.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    ast: QueryAst,
    default_fields: DefaultFields,
}

/// Per index, the fields `query_string`, `simple_query_string` and `multi_match` search when the
/// query names none (`index.query.default_field`); an index not listed searches every field
/// (`*`), as Elasticsearch's default does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DefaultFields(BTreeMap<String, Vec<(String, f32)>>);

impl DefaultFields {
    /// Every index searches every field.
    pub fn new() -> DefaultFields {
        DefaultFields::default()
    }

    /// Sets the default fields of `index` from the setting's entries: names, `*` patterns and
    /// `name^boost`.
    pub fn set(&mut self, index: &str, entries: &[String]) -> Result<()> {
        let list = Value::Array(entries.iter().map(|e| Value::String(e.clone())).collect());
        let fields = params::field_list("query_string", Some(&list))?;
        self.0.insert(index.to_string(), fields);
        Ok(())
    }

    /// The default fields of `index`.
    pub(crate) fn of(&self, index: &str) -> Vec<(String, f32)> {
        self.0.get(index).cloned().unwrap_or_else(|| vec![("*".to_string(), 1.0)])
    }
}

impl Query {
    /// Reads a query clause (the value of `query` in a search body). Unknown query types are a
    /// `parsing_exception` (`unknown query [xyz]`), malformed clauses a `parsing_exception` or
    /// `illegal_argument_exception`; a `query_string` that cannot be read is a
    /// `query_shard_exception`.
    pub fn parse(v: &Value) -> Result<Query> {
        Ok(Query { ast: dsl::parse(v)?, default_fields: DefaultFields::new() })
    }

    /// Reads a `_count` request: a body holding at most `query`, and the URL parameters `q`,
    /// `df`, `default_operator` and `lenient` (others are the caller's).
    pub fn from_count_request<K, V>(
        body: Option<&Value>,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Query>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut query = Query::match_all();
        if let Some(body) = body {
            let Value::Object(obj) = body else {
                return Err(IndexError::parsing(format!(
                    "Unexpected token [{}] in the count body, expected an object",
                    token(body)
                )));
            };
            for (k, v) in obj {
                match k.as_str() {
                    "query" => query = Query::parse(v)?,
                    other => return Err(IndexError::parsing(format!("request does not support [{other}]"))),
                }
            }
        }
        let mut qs = serde_json::Map::new();
        for (k, v) in params {
            let (k, v) = (k.as_ref(), v.as_ref());
            let key = match k {
                "q" => "query",
                "df" => "default_field",
                "default_operator" => "default_operator",
                "lenient" => {
                    qs.insert("lenient".into(), Value::Bool(v == "true"));
                    continue;
                }
                _ => continue,
            };
            qs.insert(key.into(), Value::String(v.to_string()));
        }
        if qs.contains_key("query") {
            let mut wrapper = serde_json::Map::new();
            wrapper.insert("query_string".into(), Value::Object(qs));
            query = Query::parse(&Value::Object(wrapper))?;
        }
        Ok(query)
    }

    /// `match_all`.
    pub fn match_all() -> Query {
        Query { ast: QueryAst::MatchAll { boost: 1.0 }, default_fields: DefaultFields::new() }
    }

    pub(crate) fn ast(&self) -> &QueryAst {
        &self.ast
    }

    /// The query with each index's `index.query.default_field`.
    pub fn with_default_fields(mut self, fields: DefaultFields) -> Query {
        self.default_fields = fields;
        self
    }

    pub(crate) fn default_fields(&self) -> &DefaultFields {
        &self.default_fields
    }
}

/// Reads a query clause into its syntax tree.
pub(crate) fn parse_ast(v: &Value) -> Result<QueryAst> {
    dsl::parse(v)
}
