//! The Elasticsearch query DSL: reading JSON into a [`Query`], and compiling it against an
//! index into a tantivy query.

mod compile;
mod dsl;
mod query_string;
mod term_scan;

use serde_json::Value;

pub(crate) use compile::Compiler;
pub(crate) use dsl::{QueryAst, number, scalar_string, token};

use crate::error::Result;

/// A parsed query clause, valid for any index.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    ast: QueryAst,
}

impl Query {
    /// Reads a query clause (the value of `query` in a search body). Unknown query types are a
    /// `parsing_exception` (`unknown query [xyz]`), malformed clauses a `parsing_exception` or
    /// `illegal_argument_exception`; a `query_string` that cannot be read is a
    /// `query_shard_exception`.
    pub fn parse(v: &Value) -> Result<Query> {
        Ok(Query { ast: dsl::parse(v)? })
    }

    /// `match_all`.
    pub fn match_all() -> Query {
        Query { ast: QueryAst::MatchAll { boost: 1.0 } }
    }

    pub(crate) fn ast(&self) -> &QueryAst {
        &self.ast
    }
}

/// Reads a query clause into its syntax tree.
pub(crate) fn parse_ast(v: &Value) -> Result<QueryAst> {
    dsl::parse(v)
}
