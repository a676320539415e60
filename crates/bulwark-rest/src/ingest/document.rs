//! The document a pipeline works on: its source, the metadata a pipeline may read or change
//! (`_index`, `_id`) and `_ingest` (`timestamp`, and the failure fields in `on_failure`), with
//! Elasticsearch's dotted field paths and its error messages.

use serde_json::{Map, Value};

use crate::ApiError;

/// Metadata fields Elasticsearch lets a pipeline change and this node does not: changing one
/// fails the document rather than being ignored.
const FIXED_METADATA: &[&str] = &[
    "_routing",
    "_version",
    "_version_type",
    "_if_seq_no",
    "_if_primary_term",
    "_dynamic_templates",
    "_op_type",
];

/// A document passing through pipelines.
#[derive(Debug, Clone)]
pub struct IngestDoc {
    /// `_index`: the index the document is written to (a pipeline may not change it here).
    pub index: String,
    /// `_id`: the document's id, if the request gave one (a pipeline may set it).
    pub id: Option<String>,
    /// `_source`.
    pub source: Map<String, Value>,
    /// `_ingest`: `timestamp`, `pipeline`, and `on_failure_*` while a failure is handled.
    pub ingest: Map<String, Value>,
}

/// Elasticsearch's (Java) name of a JSON value's type, for cast errors.
pub fn java_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) {
                "java.lang.Integer"
            } else {
                "java.lang.Long"
            }
        }
        Value::Number(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.HashMap",
    }
}

/// `field [f] of type [T] cannot be cast to [U]`
pub fn cast_error(field: &str, v: &Value, to: &str) -> ApiError {
    ApiError::illegal_argument(format!("field [{field}] of type [{}] cannot be cast to [{to}]", java_type(v)))
}

/// `field [leaf] not present as part of path [path]`
pub fn not_present(path: &str) -> ApiError {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    ApiError::illegal_argument(format!("field [{leaf}] not present as part of path [{path}]"))
}

/// A value as Elasticsearch's templates and `string` conversion print it.
pub fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Where a path points.
enum Root<'p> {
    Source(&'p str),
    Ingest(&'p str),
    Index,
    Id,
    Fixed(&'p str),
}

fn root(path: &str) -> Root<'_> {
    match path {
        "_index" => return Root::Index,
        "_id" => return Root::Id,
        p if FIXED_METADATA.contains(&p) => return Root::Fixed(p),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("_ingest.") {
        Root::Ingest(rest)
    } else if let Some(rest) = path.strip_prefix("_source.") {
        Root::Source(rest)
    } else {
        Root::Source(path)
    }
}

fn step<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn step_mut<'v>(v: &'v mut Value, key: &str) -> Option<&'v mut Value> {
    match v {
        Value::Object(m) => m.get_mut(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    }
}

fn get_in<'v>(m: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut cur = m.get(parts.next()?)?;
    for p in parts {
        cur = step(cur, p)?;
    }
    Some(cur)
}

fn set_in(m: &mut Map<String, Value>, path: &str, value: Value) -> Result<(), ApiError> {
    let parts: Vec<&str> = path.split('.').collect();
    let Some((leaf, parents)) = parts.split_last() else { return Ok(()) };
    if parts.iter().any(|p| p.is_empty()) {
        return Err(ApiError::illegal_argument(format!("path [{path}] is not valid")));
    }
    let mut cur: &mut Map<String, Value> = m;
    for p in parents {
        let entry = cur.entry((*p).to_owned()).or_insert_with(|| Value::Object(Map::new()));
        match entry {
            Value::Object(next) => cur = next,
            other => {
                return Err(ApiError::illegal_argument(format!(
                    "cannot set [{leaf}] with parent object of type [{}] as part of path [{path}]",
                    java_type(other)
                )));
            }
        }
    }
    cur.insert((*leaf).to_owned(), value);
    Ok(())
}

fn remove_in(m: &mut Map<String, Value>, path: &str) -> Option<Value> {
    match path.rsplit_once('.') {
        None => m.remove(path),
        Some((parent, leaf)) => {
            let mut parts = parent.split('.');
            let mut cur = m.get_mut(parts.next()?)?;
            for p in parts {
                cur = step_mut(cur, p)?;
            }
            match cur {
                Value::Object(o) => o.remove(leaf),
                Value::Array(a) => {
                    let i = leaf.parse::<usize>().ok().filter(|i| *i < a.len())?;
                    Some(a.remove(i))
                }
                _ => None,
            }
        }
    }
}

impl IngestDoc {
    /// A document about to be written to `index`.
    pub fn new(index: &str, id: Option<&str>, source: Map<String, Value>, timestamp: String) -> IngestDoc {
        let mut ingest = Map::new();
        ingest.insert("timestamp".into(), Value::String(timestamp));
        IngestDoc { index: index.to_owned(), id: id.map(str::to_owned), source, ingest }
    }

    /// The value at `path`, if there is one.
    pub fn get(&self, path: &str) -> Option<Value> {
        match root(path) {
            Root::Source(p) => get_in(&self.source, p).cloned(),
            Root::Ingest(p) => get_in(&self.ingest, p).cloned(),
            Root::Index => Some(Value::String(self.index.clone())),
            Root::Id => self.id.clone().map(Value::String),
            Root::Fixed(_) => None,
        }
    }

    /// Whether `path` names a value (possibly `null`).
    pub fn has(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// The value at `path`, or Elasticsearch's error for a missing field.
    pub fn require(&self, path: &str) -> Result<Value, ApiError> {
        self.get(path).ok_or_else(|| not_present(path))
    }

    /// Sets `path` to `value`, creating the objects on the way.
    pub fn set(&mut self, path: &str, value: Value) -> Result<(), ApiError> {
        match root(path) {
            Root::Source(p) => set_in(&mut self.source, p, value),
            Root::Ingest(p) => set_in(&mut self.ingest, p, value),
            Root::Id => {
                self.id = Some(display(&value));
                Ok(())
            }
            Root::Index => {
                if display(&value) == self.index {
                    return Ok(());
                }
                Err(ApiError::illegal_argument(format!(
                    "a pipeline may not change [_index] on this node (from [{}] to [{}]); write to the target index instead",
                    self.index,
                    display(&value)
                )))
            }
            Root::Fixed(f) => {
                Err(ApiError::illegal_argument(format!("a pipeline may not change [{f}] on this node")))
            }
        }
    }

    /// Removes the value at `path`, answering it.
    pub fn remove(&mut self, path: &str) -> Result<Option<Value>, ApiError> {
        match root(path) {
            Root::Source(p) => Ok(remove_in(&mut self.source, p)),
            Root::Ingest(p) => Ok(remove_in(&mut self.ingest, p)),
            Root::Index | Root::Id | Root::Fixed(_) => {
                Err(ApiError::illegal_argument(format!("cannot remove metadata field [{path}]")))
            }
        }
    }

    /// Keeps only the source fields at `paths` (the `remove` processor's `keep`).
    pub fn keep_only(&mut self, paths: &[String]) -> Result<(), ApiError> {
        let old = std::mem::take(&mut self.source);
        for p in paths {
            let p = p.strip_prefix("_source.").unwrap_or(p);
            if let Some(v) = get_in(&old, p) {
                set_in(&mut self.source, p, v.clone())?;
            }
        }
        Ok(())
    }

    /// The document as `_simulate` shows it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("_index".into(), Value::String(self.index.clone()));
        m.insert("_id".into(), Value::String(self.id.clone().unwrap_or_else(|| "_id".into())));
        m.insert("_version".into(), Value::String("-3".into()));
        m.insert("_source".into(), Value::Object(self.source.clone()));
        m.insert("_ingest".into(), Value::Object(self.ingest.clone()));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> IngestDoc {
        let Value::Object(m) = v else { panic!("object") };
        IngestDoc::new("i", Some("1"), m, "t".into())
    }

    #[test]
    fn paths() {
        let mut d = doc(json!({"a": {"b": [ {"c": 1} ]}, "x": "s"}));
        assert_eq!(d.get("a.b.0.c"), Some(json!(1)));
        assert_eq!(d.get("_source.x"), Some(json!("s")));
        assert_eq!(d.get("_ingest.timestamp"), Some(json!("t")));
        d.set("n.m", json!(2)).unwrap();
        assert_eq!(d.source["n"], json!({"m": 2}));
        assert!(
            d.set("x.y", json!(1)).unwrap_err().reason.contains("parent object of type [java.lang.String]")
        );
        assert_eq!(d.remove("a.b.0.c").unwrap(), Some(json!(1)));
        assert_eq!(not_present("a.q").reason, "field [q] not present as part of path [a.q]");
        d.keep_only(&["n.m".into()]).unwrap();
        assert_eq!(Value::Object(d.source.clone()), json!({"n": {"m": 2}}));
        assert!(d.set("_index", json!("other")).is_err());
        d.set("_id", json!(7)).unwrap();
        assert_eq!(d.id.as_deref(), Some("7"));
    }
}
