//! `_source` filtering of fetched documents (get, mget, update's `get`): `_source=false`, a
//! list of fields, or `includes`/`excludes` with `*` wildcards over dotted paths. Searches filter
//! inside the index crate; this is the same rule for documents read from the store.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::ApiError;
use crate::resolve::wildcard_match;

/// Which parts of a document's `_source` to return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceFilter {
    disabled: bool,
    includes: Vec<String>,
    excludes: Vec<String>,
}

fn split(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl SourceFilter {
    /// From the URL parameters `_source`, `_source_includes` and `_source_excludes`.
    pub fn from_params(params: &HashMap<String, String>) -> SourceFilter {
        let mut f = SourceFilter::default();
        match params.get("_source").map(String::as_str) {
            Some("false") => f.disabled = true,
            Some("true" | "") | None => {}
            Some(list) => f.includes = split(list),
        }
        if let Some(i) = params.get("_source_includes").or_else(|| params.get("_source_include")) {
            f.disabled = false;
            f.includes = split(i);
        }
        if let Some(e) = params.get("_source_excludes").or_else(|| params.get("_source_exclude")) {
            f.disabled = false;
            f.excludes = split(e);
        }
        f
    }

    /// From a body's `_source`: a boolean, a field or list of fields, or
    /// `{"includes": [...], "excludes": [...]}`.
    pub fn from_json(v: &Value) -> Result<SourceFilter, ApiError> {
        let list = |v: &Value| -> Result<Vec<String>, ApiError> {
            match v {
                Value::String(s) => Ok(vec![s.clone()]),
                Value::Array(a) => a
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| ApiError::parse("[_source] fields must be strings"))
                    })
                    .collect(),
                Value::Null => Ok(Vec::new()),
                _ => Err(ApiError::parse("[_source] fields must be strings")),
            }
        };
        match v {
            Value::Bool(b) => Ok(SourceFilter { disabled: !b, ..SourceFilter::default() }),
            Value::String(_) | Value::Array(_) => {
                Ok(SourceFilter { includes: list(v)?, ..Default::default() })
            }
            Value::Object(m) => {
                let mut f = SourceFilter::default();
                for (k, val) in m {
                    match k.as_str() {
                        "includes" | "include" => f.includes = list(val)?,
                        "excludes" | "exclude" => f.excludes = list(val)?,
                        other => return Err(ApiError::parse(format!("unknown key [{other}] in [_source]"))),
                    }
                }
                Ok(f)
            }
            _ => Err(ApiError::parse("[_source] must be a boolean, a string, an array or an object")),
        }
    }

    /// Whether the answer carries no `_source`.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The filtered source, or `None` when `_source` is off.
    pub fn apply(&self, source: &Value) -> Option<Value> {
        if self.disabled {
            return None;
        }
        if self.includes.is_empty() && self.excludes.is_empty() {
            return Some(source.clone());
        }
        match source {
            Value::Object(m) => Some(Value::Object(self.object(m, "", self.includes.is_empty()))),
            other => Some(other.clone()),
        }
    }

    fn object(&self, m: &Map<String, Value>, prefix: &str, included: bool) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in m {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if self.excludes.iter().any(|p| wildcard_match(p, &path)) {
                continue;
            }
            let here = included || self.includes.iter().any(|p| wildcard_match(p, &path));
            if let Some(kept) = self.value(v, &path, here) {
                out.insert(k.clone(), kept);
            }
        }
        out
    }

    fn value(&self, v: &Value, path: &str, included: bool) -> Option<Value> {
        match v {
            Value::Object(inner) => {
                let kept = self.object(inner, path, included);
                (included || !kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) if items.iter().any(Value::is_object) => {
                let kept: Vec<Value> = items.iter().filter_map(|i| self.value(i, path, included)).collect();
                (included || !kept.is_empty()).then_some(Value::Array(kept))
            }
            other => included.then(|| other.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn filters() {
        let doc = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [{"f": 1, "g": 2}]});
        let f = SourceFilter::from_params(&params(&[("_source", "a,b.c")]));
        assert_eq!(f.apply(&doc), Some(json!({"a": 1, "b": {"c": 2}})));
        let f = SourceFilter::from_params(&params(&[("_source_excludes", "b.*,e.g")]));
        assert_eq!(f.apply(&doc), Some(json!({"a": 1, "b": {}, "e": [{"f": 1}]})));
        let f = SourceFilter::from_params(&params(&[("_source", "false")]));
        assert_eq!(f.apply(&doc), None);
        let f = SourceFilter::from_json(&json!({"includes": ["b"], "excludes": ["b.d"]})).unwrap();
        assert_eq!(f.apply(&doc), Some(json!({"b": {"c": 2}})));
    }
}
