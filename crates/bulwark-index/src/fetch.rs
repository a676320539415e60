//! What a hit carries besides `_source`: the `fields` and `docvalue_fields` sections, read from
//! the part of the source the caller may see, against the index's mapping, as Elasticsearch's
//! fields API shows them (values converted by the field's type, dates formatted, multi-fields
//! included; `docvalue_fields` sorted as doc values are).

use std::cmp::Ordering;

use bulwark_pattern::{Syntax, matches};
use serde_json::{Map, Value, json};

use crate::date;
use crate::document::{self, Exact};
use crate::error::{IndexError, Result};
use crate::mapping::{FieldMapping, Mapping, ValueKind};
use crate::query::token;

/// One entry of `fields` or `docvalue_fields`: a field name or pattern, with options.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldRequest {
    pattern: String,
    format: Option<String>,
    include_unmapped: bool,
}

/// Which of the two sections a list is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// `fields`: values as the fields API returns them, in source order.
    Fields,
    /// `docvalue_fields`: values as doc values hold them (sorted; keywords distinct).
    DocValues,
}

impl Section {
    fn key(self) -> &'static str {
        match self {
            Section::Fields => "fields",
            Section::DocValues => "docvalue_fields",
        }
    }
}

/// Reads `fields` or `docvalue_fields`: an array of names (`*` wildcards) or objects with
/// `field`, `format` and (for `fields`) `include_unmapped`.
pub(crate) fn parse(section: Section, v: &Value) -> Result<Vec<FieldRequest>> {
    let key = section.key();
    let items = match v {
        Value::Array(items) => items.as_slice(),
        Value::String(_) => std::slice::from_ref(v),
        other => {
            return Err(IndexError::parsing(format!(
                "[{key}] must be an array of field names or objects, found [{}]",
                token(other)
            )));
        }
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => {
                Ok(FieldRequest { pattern: s.clone(), format: None, include_unmapped: false })
            }
            Value::Object(obj) => {
                let mut req = FieldRequest { pattern: String::new(), format: None, include_unmapped: false };
                for (k, val) in obj {
                    match (k.as_str(), val) {
                        ("field", Value::String(s)) => req.pattern = s.clone(),
                        ("format", Value::String(s)) => req.format = Some(s.clone()),
                        ("include_unmapped", Value::Bool(b)) if section == Section::Fields => {
                            req.include_unmapped = *b
                        }
                        ("include_unmapped", Value::String(s))
                            if section == Section::Fields && (s == "true" || s == "false") =>
                        {
                            req.include_unmapped = s == "true"
                        }
                        (k, val) => {
                            return Err(IndexError::parsing(format!(
                                "[{key}] unknown field [{k}] holding a {}",
                                token(val)
                            )));
                        }
                    }
                }
                if req.pattern.is_empty() {
                    return Err(IndexError::parsing(format!("[{key}] an entry is missing required [field]")));
                }
                Ok(req)
            }
            other => Err(IndexError::parsing(format!(
                "[{key}] entries must be field names or objects, found [{}]",
                token(other)
            ))),
        })
        .collect()
}

/// How many mapped leaf fields (multi-fields included) any of `requests` names.
pub(crate) fn count_matching(requests: &[FieldRequest], mapping: &Mapping) -> usize {
    if requests.is_empty() {
        return 0;
    }
    mapping
        .leaves()
        .iter()
        .filter(|(path, _)| requests.iter().any(|r| matches(&r.pattern, path, Syntax::STAR)))
        .count()
}

/// The values of the fields `requests` name in `source` (the document `id`), read against
/// `mapping`; added to `out` by field path. A section with no values adds nothing.
pub(crate) fn collect(
    section: Section,
    requests: &[FieldRequest],
    mapping: &Mapping,
    id: &str,
    source: &Value,
    out: &mut Map<String, Value>,
) -> Result<()> {
    if requests.is_empty() {
        return Ok(());
    }
    let parsed = document::parse(mapping, id, source)?;
    for (path, field) in mapping.leaves() {
        let Some(req) = requests.iter().find(|r| matches(&r.pattern, &path, Syntax::STAR)) else { continue };
        let kind = field.field_type().kind();
        if section == Section::DocValues && kind == Some(ValueKind::Text) {
            if req.pattern == path {
                return Err(IndexError::illegal(format!(
                    "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{path}] in order to load field data by uninverting the inverted index. Note that this can use significant memory."
                )));
            }
            continue;
        }
        if req.format.is_some() && kind != Some(ValueKind::Date) {
            return Err(IndexError::illegal(format!(
                "Field [{path}] of type [{}] does not support custom formats",
                field.field_type().as_str()
            )));
        }
        let mut values: Vec<Value> = if kind == Some(ValueKind::Text) {
            parsed.text.iter().filter(|(p, _)| *p == path).map(|(_, s)| json!(s)).collect()
        } else {
            let format = req.format.as_deref().or(field.format()).unwrap_or("");
            parsed.exact.iter().filter(|(p, _)| *p == path).map(|(_, v)| render(v, field, format)).collect()
        };
        if section == Section::DocValues {
            sort_like_doc_values(&mut values, field);
        }
        if !values.is_empty() {
            out.insert(path, Value::Array(values));
        }
    }
    if section == Section::Fields && requests.iter().any(|r| r.include_unmapped) {
        let mut unmapped = Vec::new();
        leaves("", source, &mut unmapped);
        for (path, v) in unmapped {
            if mapping.get(&path).is_some()
                || !requests.iter().any(|r| r.include_unmapped && matches(&r.pattern, &path, Syntax::STAR))
            {
                continue;
            }
            if let Value::Array(values) = out.entry(path).or_insert_with(|| Value::Array(Vec::new())) {
                values.push(v.clone());
            }
        }
    }
    Ok(())
}

/// A converted value as the fields API shows it: dates in the field's (or the asked) format.
fn render(v: &Exact, field: &FieldMapping, format: &str) -> Value {
    match v {
        Exact::I64(ms) if field.field_type().kind() == Some(ValueKind::Date) => {
            json!(date::format_pattern(*ms, format))
        }
        Exact::I64(i) => json!(i),
        Exact::F64(f) => json!(f),
        Exact::Bool(b) => json!(b),
        Exact::Str(s) => json!(s),
    }
}

/// Doc values come sorted; keyword-like values (sorted sets) also distinct.
fn sort_like_doc_values(values: &mut Vec<Value>, field: &FieldMapping) {
    values.sort_by(|a, b| match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    });
    if matches!(field.field_type().kind(), Some(ValueKind::Keyword | ValueKind::Ip)) {
        values.dedup();
    }
}

/// Every scalar of `v` with its dotted path (arrays flattened, nulls skipped).
fn leaves<'a>(prefix: &str, v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(obj) => {
            for (k, child) in obj {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&path, child, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                leaves(prefix, item, out);
            }
        }
        Value::Null => {}
        scalar if !prefix.is_empty() => out.push((prefix.to_string(), scalar)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping::from_json(&json!({"properties": {
            "title": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
            "tags": {"type": "keyword"},
            "n": {"type": "long"},
            "at": {"type": "date"},
            "user": {"properties": {"name": {"type": "keyword"}}}
        }}))
        .unwrap()
    }

    fn run(section: Section, req: Value, source: Value) -> Result<Value> {
        let mut out = Map::new();
        collect(section, &parse(section, &req)?, &mapping(), "1", &source, &mut out)?;
        Ok(Value::Object(out))
    }

    #[test]
    fn counts_mapped_fields_once_with_patterns_expanded() {
        let count = |v: Value| count_matching(&parse(Section::DocValues, &v).unwrap(), &mapping());
        assert_eq!(count(json!(["*"])), 6);
        assert_eq!(count(json!(["title*", "title.keyword", "missing"])), 2);
        assert_eq!(count(json!(["user.*", {"field": "n"}])), 2);
        assert_eq!(count(json!([])), 0);
    }

    #[test]
    fn fields_convert_by_type_and_include_multi_fields() {
        let src = json!({"title": "Hello", "tags": ["b", "a", "b"], "n": "7", "at": "2024-01-01",
            "user": {"name": "kim"}, "extra": 1});
        let got = run(Section::Fields, json!(["*"]), src.clone()).unwrap();
        assert_eq!(
            got,
            json!({"title": ["Hello"], "title.keyword": ["Hello"], "tags": ["b", "a", "b"], "n": [7],
                "at": ["2024-01-01T00:00:00.000Z"], "user.name": ["kim"]})
        );
        let got =
            run(Section::Fields, json!([{"field": "ex*", "include_unmapped": true}]), src.clone()).unwrap();
        assert_eq!(got, json!({"extra": [1]}));
        let got = run(Section::Fields, json!([{"field": "at", "format": "yyyy/MM"}]), src).unwrap();
        assert_eq!(got, json!({"at": ["2024/01"]}));
    }

    #[test]
    fn docvalue_fields_sort_and_refuse_text() {
        let src = json!({"title": "Hello", "tags": ["b", "a", "b"], "n": [3, 1, 3]});
        let got = run(Section::DocValues, json!(["tags", "n", "t*"]), src.clone()).unwrap();
        assert_eq!(got, json!({"tags": ["a", "b"], "n": [1, 3, 3], "title.keyword": ["Hello"]}));
        let e = run(Section::DocValues, json!(["title"]), src.clone()).unwrap_err();
        assert!(e.to_string().contains("Text fields are not optimised"), "{e}");
        let e = run(Section::Fields, json!([{"field": "n", "format": "0.0"}]), src).unwrap_err();
        assert!(e.to_string().contains("Field [n] of type [long] does not support custom formats"), "{e}");
    }

    #[test]
    fn refuses_malformed_lists() {
        assert!(parse(Section::Fields, &json!(5)).is_err());
        assert!(parse(Section::Fields, &json!([{"format": "x"}])).is_err());
        assert!(parse(Section::DocValues, &json!([{"field": "a", "include_unmapped": true}])).is_err());
        assert!(parse(Section::Fields, &json!([{"field": "a", "boost": 2}])).is_err());
    }
}
