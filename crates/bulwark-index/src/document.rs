//! Reading a document source against a mapping: which values go where, as which type, and
//! which fields dynamic mapping adds.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::date::{self, EpochUnit};
use crate::error::{IndexError, Result};
use crate::mapping::{self, Dynamic, FieldMapping, Mapping, ValueKind};

/// Keyword values longer than this many bytes cannot be indexed (Lucene's term limit).
const MAX_TERM_BYTES: usize = 32_766;
/// How deeply objects and arrays may nest in a source.
const MAX_NESTING: usize = 100;

/// An exact value for the `_k` field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Exact {
    Str(String),
    I64(i64),
    F64(f64),
    Bool(bool),
}

/// A document read against a mapping.
#[derive(Debug, Default)]
pub(crate) struct ParsedDoc {
    /// Exact values by dotted path.
    pub(crate) exact: Vec<(String, Exact)>,
    /// Text values by dotted path.
    pub(crate) text: Vec<(String, String)>,
    /// Paths with at least one indexed value.
    pub(crate) field_names: BTreeSet<String>,
    /// Fields dynamic mapping adds, if any.
    pub(crate) update: Option<Mapping>,
}

/// Reads `source` (the document `id`) against `mapping`.
pub(crate) fn parse(mapping: &Mapping, id: &str, source: &Value) -> Result<ParsedDoc> {
    let Value::Object(root) = source else {
        return Err(IndexError::mapper("failed to parse, document is empty"));
    };
    for key in root.keys() {
        if mapping::METADATA_FIELDS.contains(&key.as_str()) {
            return Err(IndexError::mapper(format!(
                "Field [{key}] is a metadata field and cannot be added inside a document. Use the index API request parameters."
            )));
        }
    }
    let existing = mapping.total_fields();
    let mut p = Parser { mapping, id, update: Mapping::new(), added: 0, existing, out: ParsedDoc::default() };
    let mut path = Vec::new();
    p.object(root, &mut path, mapping.dynamic(), 0)?;
    if p.added > 0 {
        let mut merged = mapping.clone();
        merged.merge(&p.update)?;
        p.out.update = Some(p.update);
    }
    Ok(p.out)
}

/// What a path resolves to.
enum Slot {
    Object { dynamic: Option<Dynamic>, enabled: bool },
    Leaf(FieldMapping),
}

struct Parser<'a> {
    mapping: &'a Mapping,
    id: &'a str,
    update: Mapping,
    added: usize,
    /// How many fields `mapping` has, counted once for the limit checks.
    existing: usize,
    out: ParsedDoc,
}

impl Parser<'_> {
    fn lookup(&self, path: &[String]) -> Option<Slot> {
        let joined = path.join(".");
        let f = self.mapping.get(&joined).or_else(|| self.update.get(&joined))?;
        Some(if f.field_type().is_object() {
            Slot::Object { dynamic: f.dynamic(), enabled: f.enabled() }
        } else {
            Slot::Leaf(f.clone())
        })
    }

    fn object(
        &mut self,
        obj: &Map<String, Value>,
        path: &mut Vec<String>,
        dynamic: Dynamic,
        depth: usize,
    ) -> Result<()> {
        for (key, v) in obj {
            if key.is_empty() || key.trim().is_empty() {
                return Err(IndexError::mapper("field name cannot be an empty string"));
            }
            if key.starts_with('.') || key.ends_with('.') || key.contains("..") {
                return Err(IndexError::mapper(format!(
                    "object field starting or ending with a [.] makes object resolution ambiguous: [{key}]"
                )));
            }
            if key.chars().any(|c| c == '\0' || c == '\u{1}') {
                return Err(IndexError::mapper(format!(
                    "field name [{}] contains a control character",
                    key.escape_debug()
                )));
            }
            let segments: Vec<&str> = key.split('.').collect();
            let base = path.len();
            let mut dynamic = dynamic;
            let mut skip = false;
            // Intermediate segments of a dotted key are objects.
            for seg in &segments[..segments.len() - 1] {
                path.push((*seg).to_string());
                match self.lookup(path) {
                    Some(Slot::Object { dynamic: d, enabled }) => {
                        dynamic = d.unwrap_or(dynamic);
                        if !enabled {
                            skip = true;
                            break;
                        }
                    }
                    Some(Slot::Leaf(f)) => {
                        return Err(IndexError::mapper(format!(
                            "Could not dynamically add mapping for field [{key}]. Existing mapping for [{}] must be of type object but found [{}].",
                            path.join("."),
                            f.field_type()
                        )));
                    }
                    None => match self.new_field(path, dynamic, &Value::Object(Map::new()))? {
                        true => {}
                        false => {
                            skip = true;
                            break;
                        }
                    },
                }
            }
            if !skip {
                path.push(segments[segments.len() - 1].to_string());
                self.value(v, path, dynamic, depth + 1)?;
            }
            path.truncate(base);
        }
        Ok(())
    }

    /// Maps a new field at `path` whose first value is `v`; `false` when the value is to be
    /// skipped (`dynamic: false`, or a value that adds no field).
    fn new_field(&mut self, path: &[String], dynamic: Dynamic, v: &Value) -> Result<bool> {
        match dynamic {
            Dynamic::False => Ok(false),
            Dynamic::Strict => {
                let (name, parent) = match path.split_last() {
                    Some((last, parents)) if !parents.is_empty() => (last.clone(), parents.join(".")),
                    Some((last, _)) => (last.clone(), "_doc".to_string()),
                    None => (String::new(), "_doc".to_string()),
                };
                Err(IndexError::StrictDynamicMapping(format!(
                    "mapping set to strict, dynamic introduction of [{name}] within [{parent}] is not allowed"
                )))
            }
            Dynamic::True | Dynamic::Runtime => {
                let Some(field) = self.mapping.dynamic_field(path, v)? else {
                    return Ok(false);
                };
                self.added += 1 + field.multi_fields().len();
                if self.existing + self.added > self.mapping.total_fields_limit() {
                    return Err(IndexError::illegal(format!(
                        "Limit of total fields [{}] has been exceeded while adding new fields [{}]",
                        self.mapping.total_fields_limit(),
                        self.added
                    )));
                }
                if path.len() > mapping::DEPTH_LIMIT {
                    return Err(IndexError::illegal(format!(
                        "Limit of mapping depth [{}] has been exceeded due to object field [{}]",
                        mapping::DEPTH_LIMIT,
                        path.join(".")
                    )));
                }
                let segs: Vec<&str> = path.iter().map(String::as_str).collect();
                self.update.insert_path(&segs, field);
                Ok(true)
            }
        }
    }

    fn value(&mut self, v: &Value, path: &mut Vec<String>, dynamic: Dynamic, depth: usize) -> Result<()> {
        if depth > MAX_NESTING {
            return Err(IndexError::mapper(format!(
                "failed to parse: the document nests deeper than {MAX_NESTING} levels at [{}]",
                path.join(".")
            )));
        }
        let slot = match self.lookup(path) {
            Some(slot) => slot,
            None => {
                if !self.new_field(path, dynamic, v)? {
                    return Ok(());
                }
                match self.lookup(path) {
                    Some(slot) => slot,
                    None => return Ok(()),
                }
            }
        };
        match slot {
            Slot::Object { dynamic: d, enabled } => {
                if !enabled {
                    return Ok(());
                }
                match v {
                    Value::Object(obj) => self.object(obj, path, d.unwrap_or(dynamic), depth),
                    Value::Array(items) => {
                        for item in items {
                            self.value(item, path, dynamic, depth + 1)?;
                        }
                        Ok(())
                    }
                    Value::Null => Ok(()),
                    _ => {
                        let p = path.join(".");
                        Err(IndexError::mapper(format!(
                            "object mapping for [{p}] tried to parse field [{p}] as object, but found a concrete value"
                        )))
                    }
                }
            }
            Slot::Leaf(field) => self.leaf_values(v, &path.join("."), &field, depth),
        }
    }

    fn leaf_values(&mut self, v: &Value, path: &str, field: &FieldMapping, depth: usize) -> Result<()> {
        match v {
            Value::Array(items) => {
                if depth > MAX_NESTING {
                    return Err(IndexError::mapper(format!(
                        "failed to parse: the document nests deeper than {MAX_NESTING} levels at [{path}]"
                    )));
                }
                for item in items {
                    self.leaf_values(item, path, field, depth + 1)?;
                }
                Ok(())
            }
            Value::Null => match field.null_value() {
                Some(nv) => {
                    let nv = nv.clone();
                    self.leaf(&nv, path, field)
                }
                None => Ok(()),
            },
            v => self.leaf(v, path, field),
        }
    }

    fn leaf(&mut self, v: &Value, path: &str, field: &FieldMapping) -> Result<()> {
        let Some(kind) = field.field_type().kind() else {
            return Ok(());
        };
        let converted = convert(v, kind, field);
        match converted {
            Ok(Some(Converted::Text(s))) => {
                if field.indexed() {
                    self.out.text.push((path.to_string(), s));
                    self.out.field_names.insert(path.to_string());
                }
            }
            Ok(Some(Converted::Exact(e))) => {
                if let Exact::Str(s) = &e
                    && s.len() > MAX_TERM_BYTES
                {
                    return Err(IndexError::illegal(format!(
                        "Document contains at least one immense term in field=\"{path}\" (whose UTF8 encoding is longer than the max length {MAX_TERM_BYTES}), all of which were skipped."
                    )));
                }
                self.out.exact.push((path.to_string(), e));
                self.out.field_names.insert(path.to_string());
            }
            Ok(None) => {}
            Err(cause) => {
                if field.ignore_malformed() {
                    return Ok(());
                }
                let mut reason = format!(
                    "failed to parse field [{path}] of type [{}] in document with id '{}'. Preview of field's value: '{}'",
                    field.field_type(),
                    self.id,
                    preview(v)
                );
                if let Some(cause) = cause {
                    reason.push_str(&format!(" ({cause})"));
                }
                return Err(IndexError::MapperParsing(reason));
            }
        }
        for (sub, sub_field) in field.multi_fields() {
            let sub_path = format!("{path}.{sub}");
            self.leaf(v, &sub_path, sub_field)?;
        }
        Ok(())
    }
}

enum Converted {
    Text(String),
    Exact(Exact),
}

/// Converts a scalar for a field of `kind`: `Ok(None)` skips it (`ignore_above`), `Err` carries
/// an optional cause for the mapper error.
fn convert(v: &Value, kind: ValueKind, field: &FieldMapping) -> Result<Option<Converted>, Option<String>> {
    let as_string = || match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(None),
    };
    Ok(Some(match kind {
        ValueKind::Text => Converted::Text(as_string()?),
        ValueKind::Keyword => {
            let s = as_string()?;
            if field.ignore_above().is_some_and(|max| s.chars().count() as u64 > max) {
                return Ok(None);
            }
            Converted::Exact(Exact::Str(s))
        }
        ValueKind::Integer { min, max } => {
            let i = to_integer(v, field.coerce())?;
            if i < min || i > max {
                return Err(Some(format!("Value [{i}] is out of range")));
            }
            Converted::Exact(Exact::I64(i))
        }
        ValueKind::Float => {
            let f = to_float(v, field.coerce())?;
            let f = match field.scaling_factor() {
                Some(factor) => (f * factor).round() / factor,
                None => f,
            };
            Converted::Exact(Exact::F64(f))
        }
        ValueKind::Boolean => Converted::Exact(Exact::Bool(to_bool(v)?)),
        ValueKind::Date => {
            let unit = epoch_unit(field.format());
            Converted::Exact(Exact::I64(date::parse_value(v, unit).ok_or(None)?))
        }
        ValueKind::Ip => {
            let Value::String(s) = v else { return Err(None) };
            let ip: IpAddr =
                s.trim().parse().map_err(|_| Some(format!("'{s}' is not an IP string literal.")))?;
            Converted::Exact(Exact::Str(ip.to_string()))
        }
    }))
}

/// How a date field with this `format` reads numbers.
pub(crate) fn epoch_unit(format: Option<&str>) -> EpochUnit {
    match format {
        Some(f) if f.contains("epoch_second") && !f.contains("epoch_millis") => EpochUnit::Seconds,
        _ => EpochUnit::Millis,
    }
}

/// A number for an integer field: integral JSON numbers; with `coerce`, also floats (truncated)
/// and numeric strings.
pub(crate) fn to_integer(v: &Value, coerce: bool) -> Result<i64, Option<String>> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
            let f = n.as_f64().ok_or(None)?;
            float_to_integer(f, coerce)
        }
        Value::String(s) if coerce => {
            let s = s.trim();
            if let Ok(i) = s.parse::<i64>() {
                return Ok(i);
            }
            let f: f64 = s.parse().map_err(|_| Some(format!("For input string: \"{s}\"")))?;
            float_to_integer(f, coerce)
        }
        _ => Err(None),
    }
}

fn float_to_integer(f: f64, coerce: bool) -> Result<i64, Option<String>> {
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        return Err(Some(format!("Value [{f}] is out of range for a long")));
    }
    if !coerce && f.fract() != 0.0 {
        return Err(Some(format!("Value [{f}] has a decimal part")));
    }
    Ok(f.trunc() as i64)
}

/// A number for a float field: JSON numbers; with `coerce`, numeric strings. Finite only.
pub(crate) fn to_float(v: &Value, coerce: bool) -> Result<f64, Option<String>> {
    let f = match v {
        Value::Number(n) => n.as_f64().ok_or(None)?,
        Value::String(s) if coerce => {
            s.trim().parse::<f64>().map_err(|_| Some(format!("For input string: \"{s}\"")))?
        }
        _ => return Err(None),
    };
    if f.is_finite() {
        Ok(f)
    } else {
        Err(Some(format!("[float] supports only finite values, but got [{f}]")))
    }
}

/// A boolean: `true`, `false`, `"true"`, `"false"`, or `""` (false).
pub(crate) fn to_bool(v: &Value) -> Result<bool, Option<String>> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.as_str() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            _ => Err(Some(format!("Failed to parse value [{s}] as only [true] or [false] are allowed."))),
        },
        _ => Err(None),
    }
}

/// A value as Elasticsearch previews it in errors (strings bare, objects as `{k=v}`).
fn preview(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let inner: Vec<String> = o.iter().map(|(k, v)| format!("{k}={}", preview(v))).collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Array(a) => {
            let inner: Vec<String> = a.iter().map(preview).collect();
            format!("[{}]", inner.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mapping::FieldType;

    fn explicit() -> Mapping {
        Mapping::from_json(&json!({"properties": {
            "n": {"type": "long"},
            "i": {"type": "integer"},
            "f": {"type": "double"},
            "b": {"type": "boolean"},
            "d": {"type": "date"},
            "k": {"type": "keyword", "ignore_above": 5},
            "t": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
            "ip": {"type": "ip"},
            "o": {"properties": {"x": {"type": "long"}}},
            "off": {"type": "object", "enabled": false},
            "m": {"type": "long", "ignore_malformed": true},
            "nv": {"type": "keyword", "null_value": "NULL"}
        }}))
        .unwrap()
    }

    #[test]
    fn converts_values_by_mapping() {
        let doc = parse(
            &explicit(),
            "1",
            &json!({
                "n": "42", "i": 7.9, "f": "1.5", "b": "true", "d": "2024-01-01",
                "k": ["short", "toolong"], "t": "Hello World", "ip": "::1",
                "o": {"x": 3}, "off": {"anything": [1, {"z": 2}]}, "m": "oops", "nv": null
            }),
        )
        .unwrap();
        assert!(doc.update.is_none());
        let exact: Vec<(&str, &Exact)> = doc.exact.iter().map(|(p, e)| (p.as_str(), e)).collect();
        assert_eq!(
            exact,
            vec![
                ("n", &Exact::I64(42)),
                ("i", &Exact::I64(7)),
                ("f", &Exact::F64(1.5)),
                ("b", &Exact::Bool(true)),
                ("d", &Exact::I64(1_704_067_200_000)),
                ("k", &Exact::Str("short".into())),
                ("t.raw", &Exact::Str("Hello World".into())),
                ("ip", &Exact::Str("::1".into())),
                ("o.x", &Exact::I64(3)),
                ("nv", &Exact::Str("NULL".into())),
            ]
        );
        assert_eq!(doc.text, vec![("t".to_string(), "Hello World".to_string())]);
        assert!(!doc.field_names.contains("m"));
    }

    #[test]
    fn refuses_unparseable_values() {
        let cases = [
            (
                json!({"n": "abc"}),
                "failed to parse field [n] of type [long] in document with id 'x'. Preview of field's value: 'abc'",
            ),
            (json!({"i": 3_000_000_000u64}), "failed to parse field [i] of type [integer]"),
            (json!({"b": "yes"}), "failed to parse field [b] of type [boolean]"),
            (json!({"d": "yesterday"}), "failed to parse field [d] of type [date]"),
            (json!({"ip": "1.2.3"}), "failed to parse field [ip] of type [ip]"),
            (json!({"k": {"a": 1}}), "Preview of field's value: '{a=1}'"),
            (
                json!({"o": 5}),
                "object mapping for [o] tried to parse field [o] as object, but found a concrete value",
            ),
            (json!({"_id": "x"}), "Field [_id] is a metadata field"),
            (json!({"a..b": 1}), "makes object resolution ambiguous"),
            (json!({"n.x": 1}), "must be of type object but found [long]"),
            (json!([1]), "document is empty"),
        ];
        for (src, want) in cases {
            let err = parse(&explicit(), "x", &src).unwrap_err();
            assert_eq!(err.error_type(), "mapper_parsing_exception", "{src}");
            assert!(err.reason().contains(want), "{src}: {}", err.reason());
        }
    }

    #[test]
    fn maps_new_fields_dynamically() {
        let m = Mapping::new();
        let doc = parse(
            &m,
            "1",
            &json!({"s": "hi", "n": 1, "f": 1.5, "b": false, "d": "2024-01-01T00:00:00Z",
                    "o": {"p.q": "x"}, "e": [], "z": null}),
        )
        .unwrap();
        let update = doc.update.unwrap();
        assert_eq!(update.field_type("s"), Some(FieldType::Text));
        assert_eq!(update.field_type("s.keyword"), Some(FieldType::Keyword));
        assert_eq!(update.field_type("n"), Some(FieldType::Long));
        assert_eq!(update.field_type("f"), Some(FieldType::Float));
        assert_eq!(update.field_type("b"), Some(FieldType::Boolean));
        assert_eq!(update.field_type("d"), Some(FieldType::Date));
        assert_eq!(update.field_type("o.p.q"), Some(FieldType::Text));
        assert_eq!(update.field_type("e"), None);
        assert_eq!(update.field_type("z"), None);
        assert!(doc.field_names.contains("o.p.q.keyword"));
    }

    #[test]
    fn honours_dynamic_settings() {
        let strict =
            Mapping::from_json(&json!({"dynamic": "strict", "properties": {"a": {"type": "long"}}})).unwrap();
        let err = parse(&strict, "1", &json!({"a": 1, "b": 2})).unwrap_err();
        assert_eq!(err.error_type(), "strict_dynamic_mapping_exception");
        assert_eq!(
            err.reason(),
            "mapping set to strict, dynamic introduction of [b] within [_doc] is not allowed"
        );
        let off = Mapping::from_json(&json!({"dynamic": false})).unwrap();
        let doc = parse(&off, "1", &json!({"b": 2})).unwrap();
        assert!(doc.update.is_none() && doc.exact.is_empty());
    }

    #[test]
    fn refuses_too_many_new_fields() {
        let mut src = Map::new();
        for i in 0..1100 {
            src.insert(format!("f{i}"), json!(i));
        }
        let err = parse(&Mapping::new(), "1", &Value::Object(src)).unwrap_err();
        assert_eq!(err.error_type(), "illegal_argument_exception");
    }
}
