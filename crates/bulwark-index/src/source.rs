//! `_source` filtering: `false`, a pattern or patterns, or `{includes, excludes}` with `*`
//! wildcards over dotted paths.

use bulwark_pattern::{Syntax, matches};
use serde_json::{Map, Value};

use crate::error::{IndexError, Result};

/// Which parts of `_source` a hit returns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceFilter {
    disabled: bool,
    includes: Vec<String>,
    excludes: Vec<String>,
}

impl SourceFilter {
    /// Reads a body's `_source`: a boolean, a field pattern or list of them, or
    /// `{"includes": [...], "excludes": [...]}`.
    pub fn from_json(v: &Value) -> Result<SourceFilter> {
        let list = |v: &Value, what: &str| -> Result<Vec<String>> {
            match v {
                Value::String(s) => Ok(vec![s.clone()]),
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_string).ok_or_else(|| {
                            IndexError::parsing(format!(
                                "Unknown key for a {} in [{what}].",
                                crate::query::token(i)
                            ))
                        })
                    })
                    .collect(),
                Value::Null => Ok(Vec::new()),
                other => Err(IndexError::parsing(format!(
                    "Unknown key for a {} in [{what}].",
                    crate::query::token(other)
                ))),
            }
        };
        match v {
            Value::Bool(b) => Ok(SourceFilter { disabled: !b, ..SourceFilter::default() }),
            Value::String(_) | Value::Array(_) => {
                Ok(SourceFilter { includes: list(v, "_source")?, ..SourceFilter::default() })
            }
            Value::Object(obj) => {
                let mut f = SourceFilter::default();
                for (k, val) in obj {
                    match k.as_str() {
                        "includes" | "include" => f.includes = list(val, k)?,
                        "excludes" | "exclude" => f.excludes = list(val, k)?,
                        _ => {
                            return Err(IndexError::parsing(format!(
                                "Unknown key for a {} in [{k}].",
                                crate::query::token(val)
                            )));
                        }
                    }
                }
                Ok(f)
            }
            other => Err(IndexError::parsing(format!(
                "Unknown key for a {} in [_source].",
                crate::query::token(other)
            ))),
        }
    }

    /// From the URL parameters `_source`, `_source_includes` and `_source_excludes` (also
    /// spelled `_source_include`/`_source_exclude`), as document reads take them.
    pub fn from_params(params: &std::collections::HashMap<String, String>) -> SourceFilter {
        let get = |a: &str, b: &str| params.get(a).or_else(|| params.get(b)).map(String::as_str);
        let mut f = SourceFilter::default();
        f.apply_params(
            params.get("_source").map(String::as_str),
            get("_source_includes", "_source_include"),
            get("_source_excludes", "_source_exclude"),
        );
        f
    }

    /// Applies the URL parameters `_source`, `_source_includes` and `_source_excludes`.
    pub(crate) fn apply_params(
        &mut self,
        source: Option<&str>,
        includes: Option<&str>,
        excludes: Option<&str>,
    ) {
        let split = |s: &str| {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>()
        };
        match source {
            Some("false") => self.disabled = true,
            Some("true") => self.disabled = false,
            Some(list) => {
                self.disabled = false;
                self.includes = split(list);
            }
            None => {}
        }
        if let Some(i) = includes {
            self.disabled = false;
            self.includes = split(i);
        }
        if let Some(e) = excludes {
            self.disabled = false;
            self.excludes = split(e);
        }
    }

    /// Whether hits carry no `_source`.
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
            Value::Object(obj) => Some(Value::Object(self.filter_object(obj, ""))),
            other => Some(other.clone()),
        }
    }

    fn included(&self, path: &str) -> bool {
        self.includes.is_empty() || self.includes.iter().any(|p| matches(p, path, Syntax::STAR))
    }

    fn excluded(&self, path: &str) -> bool {
        self.excludes.iter().any(|p| matches(p, path, Syntax::STAR))
    }

    /// Whether an include pattern may match something below `path`.
    fn may_include_below(&self, path: &str) -> bool {
        self.includes.is_empty()
            || self.includes.iter().any(|p| {
                let prefix = format!("{path}.");
                p.starts_with(&prefix) || p.contains('*') && wildcard_could_extend(p, &prefix)
            })
    }

    fn filter_object(&self, obj: &Map<String, Value>, prefix: &str) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in obj {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if self.excluded(&path) {
                continue;
            }
            if self.included(&path) {
                // Included whole, but excludes may still apply below.
                let kept =
                    if self.excludes.is_empty() { v.clone() } else { self.filter_value(v, &path, true) };
                out.insert(k.clone(), kept);
            } else if self.may_include_below(&path) {
                let kept = self.filter_value(v, &path, false);
                let empty = match &kept {
                    Value::Object(o) => o.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    _ => true,
                };
                if !empty {
                    out.insert(k.clone(), kept);
                }
            }
        }
        out
    }

    /// Filters below `path`; `whole` when the path itself is included.
    fn filter_value(&self, v: &Value, path: &str, whole: bool) -> Value {
        match v {
            Value::Object(o) if whole => {
                let mut out = Map::new();
                for (k, child) in o {
                    let p = format!("{path}.{k}");
                    if !self.excluded(&p) {
                        out.insert(k.clone(), self.filter_value(child, &p, true));
                    }
                }
                Value::Object(out)
            }
            Value::Object(o) => Value::Object(self.filter_object(o, path)),
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(|i| match i {
                        Value::Object(_) | Value::Array(_) => {
                            let f = self.filter_value(i, path, whole);
                            let empty = matches!(&f, Value::Object(o) if o.is_empty());
                            (!empty || whole).then_some(f)
                        }
                        scalar => whole.then(|| scalar.clone()),
                    })
                    .collect();
                Value::Array(kept)
            }
            scalar => scalar.clone(),
        }
    }
}

/// Whether wildcard pattern `p` could match a path starting with `prefix` (conservatively yes
/// when the literal part before the first `*` is compatible).
fn wildcard_could_extend(p: &str, prefix: &str) -> bool {
    let literal = p.split('*').next().unwrap_or("");
    literal.starts_with(prefix) || prefix.starts_with(literal)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> Value {
        json!({"a": 1, "b": {"c": 2, "d": {"e": 3}}, "arr": [{"x": 1, "y": 2}, {"x": 3}], "name": "n"})
    }

    #[test]
    fn table() {
        let cases = [
            (json!(true), Some(doc())),
            (json!(false), None),
            (json!("a"), Some(json!({"a": 1}))),
            (json!(["a", "name"]), Some(json!({"a": 1, "name": "n"}))),
            (json!("b"), Some(json!({"b": {"c": 2, "d": {"e": 3}}}))),
            (json!("b.d.*"), Some(json!({"b": {"d": {"e": 3}}}))),
            (json!("b.c"), Some(json!({"b": {"c": 2}}))),
            (json!("*.e"), Some(json!({"b": {"d": {"e": 3}}}))),
            (json!({"includes": ["b"], "excludes": ["b.d"]}), Some(json!({"b": {"c": 2}}))),
            (json!({"excludes": ["arr", "b.*"]}), Some(json!({"a": 1, "b": {}, "name": "n"}))),
            (json!({"includes": "arr.x"}), Some(json!({"arr": [{"x": 1}, {"x": 3}]}))),
            (json!("n*"), Some(json!({"name": "n"}))),
            (json!("zzz"), Some(json!({}))),
        ];
        for (spec, want) in cases {
            let f = SourceFilter::from_json(&spec).unwrap();
            assert_eq!(f.apply(&doc()), want, "{spec}");
        }
    }

    #[test]
    fn document_read_params() {
        let params = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let f = SourceFilter::from_params(&params(&[("_source", "a,b.c")]));
        assert_eq!(f.apply(&doc()), Some(json!({"a": 1, "b": {"c": 2}})));
        let f = SourceFilter::from_params(&params(&[("_source_exclude", "b.*,arr.y")]));
        assert_eq!(f.apply(&doc()), Some(json!({"a": 1, "b": {}, "arr": [{"x": 1}, {"x": 3}], "name": "n"})));
        assert!(SourceFilter::from_params(&params(&[("_source", "false")])).is_disabled());
        assert_eq!(SourceFilter::from_params(&params(&[("_source", "")])).apply(&doc()), Some(doc()));
    }

    #[test]
    fn url_params() {
        let mut f = SourceFilter::default();
        f.apply_params(None, Some("a,b.c"), Some("b.d"));
        assert_eq!(f.apply(&doc()), Some(json!({"a": 1, "b": {"c": 2}})));
        let mut f = SourceFilter::default();
        f.apply_params(Some("false"), None, None);
        assert_eq!(f.apply(&doc()), None);
    }

    #[test]
    fn refuses_bad_shapes() {
        assert!(SourceFilter::from_json(&json!(5)).is_err());
        assert!(SourceFilter::from_json(&json!({"foo": []})).is_err());
        assert!(SourceFilter::from_json(&json!([1])).is_err());
    }
}
