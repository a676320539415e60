//! Restricted reads: a caller may see only some fields (a visible-field predicate over full
//! dotted names) and only the documents matching a filter query. Whoever decides what a caller
//! may see builds a [`Restriction`] per index; this crate enforces it on every read:
//!
//! - queries on hidden fields match nothing (the fields are unmapped for the request's query,
//!   so `*` expansions, `exists`, `query_string` and the rest only reach visible fields);
//! - aggregations treat hidden fields as unmapped, sorts treat them as missing;
//! - `_source` keeps only visible leaves (objects left empty are dropped);
//! - the filter is compiled against the whole mapping (it may test hidden fields) and every
//!   hit, count and aggregation is limited to the documents it matches.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::index::Index;
use crate::mapping::Mapping;
use crate::query::Query;
use crate::request::SearchRequest;

/// Whether a field (full dotted name) is visible.
pub type FieldPredicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What one caller may see of one index.
#[derive(Clone, Default)]
pub struct Restriction {
    visible: Option<FieldPredicate>,
    filter: Option<Query>,
}

impl std::fmt::Debug for Restriction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restriction")
            .field("fields", &self.visible.as_ref().map(|_| "restricted"))
            .field("filter", &self.filter)
            .finish()
    }
}

impl Restriction {
    /// Only the fields `visible` accepts (`None`: all) of the documents `filter` matches
    /// (`None`: all).
    pub fn new(visible: Option<FieldPredicate>, filter: Option<Query>) -> Restriction {
        Restriction { visible, filter }
    }

    /// Whether nothing is hidden.
    pub fn is_none(&self) -> bool {
        self.visible.is_none() && self.filter.is_none()
    }

    /// The document filter, if any.
    pub fn filter(&self) -> Option<&Query> {
        self.filter.as_ref()
    }

    /// Whether `field` is visible.
    pub fn shows(&self, field: &str) -> bool {
        self.visible.as_ref().is_none_or(|v| v(field))
    }

    pub(crate) fn predicate(&self) -> Option<&FieldPredicate> {
        self.visible.as_ref()
    }

    /// `mapping` as the caller sees it (`None`: unchanged).
    pub(crate) fn mapping(&self, mapping: &Mapping) -> Option<Mapping> {
        self.visible.as_ref().map(|v| mapping.restricted(&**v))
    }

    /// `source` with only the visible fields.
    pub fn filter_source(&self, source: &Value) -> Value {
        match (&self.visible, source) {
            (Some(v), Value::Object(m)) => Value::Object(filter_object(m, "", &**v)),
            _ => source.clone(),
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

fn filter_object(m: &Map<String, Value>, prefix: &str, visible: &dyn Fn(&str) -> bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in m {
        let path = join(prefix, k);
        match v {
            Value::Object(inner) => {
                let kept = filter_object(inner, &path, visible);
                if !kept.is_empty() {
                    out.insert(k.clone(), Value::Object(kept));
                }
            }
            Value::Array(items) => {
                let kept = filter_array(items, &path, visible);
                if !kept.is_empty() {
                    out.insert(k.clone(), Value::Array(kept));
                }
            }
            scalar if visible(&path) => {
                out.insert(k.clone(), scalar.clone());
            }
            _ => {}
        }
    }
    out
}

fn filter_array(items: &[Value], path: &str, visible: &dyn Fn(&str) -> bool) -> Vec<Value> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::Object(inner) => {
                let kept = filter_object(inner, path, visible);
                if !kept.is_empty() {
                    out.push(Value::Object(kept));
                }
            }
            Value::Array(nested) => {
                let kept = filter_array(nested, path, visible);
                if !kept.is_empty() {
                    out.push(Value::Array(kept));
                }
            }
            scalar if visible(path) => out.push(scalar.clone()),
            _ => {}
        }
    }
    out
}

/// Restrictions by index name; an index without one is unrestricted.
#[derive(Debug, Clone, Default)]
pub struct Restrictions(HashMap<String, Restriction>);

impl Restrictions {
    /// No restriction anywhere.
    pub fn none() -> Restrictions {
        Restrictions::default()
    }

    /// Restricts reads of `index`.
    pub fn insert(&mut self, index: impl Into<String>, r: Restriction) {
        if !r.is_none() {
            self.0.insert(index.into(), r);
        }
    }

    /// The restriction of `index`, if any.
    pub fn get(&self, index: &str) -> Option<&Restriction> {
        self.0.get(index)
    }

    /// Whether no index is restricted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Which of `docs` (`(id, source)`) match `filter` under `mapping`: for real-time reads of
/// documents not necessarily searchable yet. Documents that cannot be indexed match nothing.
pub fn matching(mapping: &Mapping, docs: &[(String, Value)], filter: &Query) -> Result<Vec<bool>> {
    let mut scratch = Index::create_in_ram("_restricted_read", mapping.clone())?;
    for (id, source) in docs {
        // A document the mapping refuses cannot match (fail closed).
        let _ = scratch.apply(id, source);
    }
    scratch.refresh()?;
    let ids: Vec<Value> = docs.iter().map(|(id, _)| Value::String(id.clone())).collect();
    let request = SearchRequest { size: docs.len(), ..SearchRequest::default() }
        .with_query(&Query::parse(&serde_json::json!({"ids": {"values": ids}}))?);
    let mut restrictions = Restrictions::none();
    restrictions.insert("_restricted_read", Restriction::new(None, Some(filter.clone())));
    let found = scratch.search(&request.restricted(restrictions))?;
    let hits: std::collections::HashSet<&str> = found.hits.iter().filter_map(|h| h.id.as_deref()).collect();
    Ok(docs.iter().map(|(id, _)| hits.contains(id.as_str())).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn only(fields: &'static [&'static str]) -> Restriction {
        Restriction::new(Some(Arc::new(move |f: &str| f.starts_with('_') || fields.contains(&f))), None)
    }

    #[test]
    fn source_keeps_visible_leaves() {
        let r = only(&["name", "addr.city", "tags", "kids.name"]);
        let src = json!({
            "name": "a", "salary": 3, "addr": {"city": "x", "zip": 1}, "secret": {"k": 1},
            "tags": ["p", "q"], "kids": [{"name": "k", "age": 2}, {"age": 3}]
        });
        assert_eq!(
            r.filter_source(&src),
            json!({"name": "a", "addr": {"city": "x"}, "tags": ["p", "q"], "kids": [{"name": "k"}]})
        );
        assert_eq!(Restriction::default().filter_source(&src), src);
    }
}
