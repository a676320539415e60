//! `sort`: `"field"`, `{"field": "desc"}`, `{"field": {"order", "missing", "mode",
//! "unmapped_type"}}`, `_score`, `_doc`, in arrays; and the URL form `field:desc,_score`.

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::{IndexError, Result};
use crate::query::token;

/// What a sort clause sorts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortTarget {
    Score,
    Doc,
    Field(String),
}

/// How a multi-valued field picks its sort value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortMode {
    Min,
    Max,
    Sum,
    Avg,
    Median,
}

/// One sort clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortField {
    pub(crate) target: SortTarget,
    pub(crate) desc: bool,
    /// Whether documents without a value come first (`missing: _first`).
    pub(crate) missing_first: bool,
    pub(crate) mode: SortMode,
    pub(crate) unmapped_type: Option<String>,
}

impl SortField {
    fn new(target: SortTarget) -> SortField {
        let desc = target == SortTarget::Score;
        SortField {
            target,
            desc,
            missing_first: false,
            mode: if desc { SortMode::Max } else { SortMode::Min },
            unmapped_type: None,
        }
    }

    fn set_order(&mut self, order: &str) -> Result<()> {
        self.desc = match order {
            "asc" | "ASC" => false,
            "desc" | "DESC" => true,
            o => return Err(IndexError::illegal(format!("Unknown SortOrder [{o}]"))),
        };
        self.mode = if self.desc { SortMode::Max } else { SortMode::Min };
        Ok(())
    }
}

fn target(name: &str) -> SortTarget {
    match name {
        "_score" => SortTarget::Score,
        "_doc" => SortTarget::Doc,
        f => SortTarget::Field(f.to_string()),
    }
}

/// Reads the body's `sort`.
pub(crate) fn parse(v: &Value) -> Result<Vec<SortField>> {
    match v {
        Value::Array(items) => items.iter().map(parse_one).collect(),
        other => Ok(vec![parse_one(other)?]),
    }
}

fn parse_one(v: &Value) -> Result<SortField> {
    match v {
        Value::String(s) => Ok(SortField::new(target(s))),
        Value::Object(obj) => {
            let mut it = obj.iter();
            let Some((name, spec)) = it.next() else {
                return Err(IndexError::parsing("[sort] expected a field name, found an empty object"));
            };
            if it.next().is_some() {
                return Err(IndexError::parsing(format!(
                    "[sort] expected a single field name, found more than one with [{name}]"
                )));
            }
            if name.starts_with("_geo_distance") || name == "_script" {
                return Err(IndexError::illegal(format!("[{name}] sort is not supported")));
            }
            let mut f = SortField::new(target(name));
            match spec {
                Value::String(order) => f.set_order(order)?,
                Value::Object(params) => {
                    if let Some(order) = params.get("order") {
                        let o = order
                            .as_str()
                            .ok_or_else(|| IndexError::parsing("[sort] [order] must be a string"))?;
                        f.set_order(o)?;
                    }
                    for (k, val) in params {
                        match k.as_str() {
                            "order" => {}
                            "missing" => {
                                f.missing_first = match val.as_str() {
                                    Some("_first") => true,
                                    Some("_last") | None => false,
                                    Some(_) => {
                                        return Err(IndexError::illegal(
                                            "[sort] only [_first] and [_last] are supported for [missing]",
                                        ));
                                    }
                                }
                            }
                            "mode" => {
                                f.mode = match val.as_str() {
                                    Some("min") => SortMode::Min,
                                    Some("max") => SortMode::Max,
                                    Some("sum") => SortMode::Sum,
                                    Some("avg") => SortMode::Avg,
                                    Some("median") => SortMode::Median,
                                    _ => {
                                        return Err(IndexError::illegal(format!("Unknown SortMode [{val}]")));
                                    }
                                }
                            }
                            "unmapped_type" => f.unmapped_type = val.as_str().map(str::to_string),
                            "format" | "numeric_type" => {}
                            "nested" | "nested_path" | "nested_filter" => {
                                return Err(IndexError::illegal("nested sorting is not supported"));
                            }
                            other => {
                                return Err(IndexError::parsing(format!(
                                    "[field_sort] unknown field [{other}]"
                                )));
                            }
                        }
                    }
                }
                other => {
                    return Err(IndexError::parsing(format!("[sort] unexpected token [{}]", token(other))));
                }
            }
            Ok(f)
        }
        other => Err(IndexError::parsing(format!("[sort] unexpected token [{}]", token(other)))),
    }
}

/// Reads the URL `sort` parameter: `field`, `field:asc`, comma-separated.
pub(crate) fn parse_param(s: &str) -> Result<Vec<SortField>> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, order) = match p.rsplit_once(':') {
                Some((n, o)) => (n, Some(o)),
                None => (p, None),
            };
            let mut f = SortField::new(target(name));
            if let Some(o) = order {
                f.set_order(o)?;
            }
            Ok(f)
        })
        .collect()
}

/// A sort value of one hit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortValue {
    Missing,
    I64(i64),
    F64(f64),
    Str(std::sync::Arc<str>),
}

impl SortValue {
    /// The value as the hit's `sort` array shows it.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            SortValue::Missing => Value::Null,
            SortValue::I64(i) => Value::from(*i),
            SortValue::F64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            SortValue::Str(s) => Value::String(s.to_string()),
        }
    }

    /// A `search_after` value.
    pub(crate) fn from_json(v: &Value) -> SortValue {
        match v {
            Value::Null => SortValue::Missing,
            Value::Number(n) => match n.as_i64() {
                Some(i) => SortValue::I64(i),
                None => SortValue::F64(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => SortValue::Str(s.as_str().into()),
            Value::Bool(b) => SortValue::I64(i64::from(*b)),
            other => SortValue::Str(other.to_string().into()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortValue::Missing => 0,
            SortValue::I64(_) | SortValue::F64(_) => 1,
            SortValue::Str(_) => 2,
        }
    }

    /// Natural order of present values (numbers before strings).
    fn cmp_present(&self, other: &SortValue) -> Ordering {
        match (self, other) {
            (SortValue::I64(a), SortValue::I64(b)) => a.cmp(b),
            (SortValue::Str(a), SortValue::Str(b)) => a.cmp(b),
            (a, b) if a.rank() == 1 && b.rank() == 1 => {
                let (x, y) = (a.as_f64(), b.as_f64());
                x.total_cmp(&y)
            }
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn as_f64(&self) -> f64 {
        match self {
            SortValue::I64(i) => *i as f64,
            SortValue::F64(f) => *f,
            _ => 0.0,
        }
    }
}

/// Compares two hits' sort values clause by clause: order per clause, missing values first or
/// last as asked (whatever the order).
pub(crate) fn compare(fields: &[SortField], a: &[SortValue], b: &[SortValue]) -> Ordering {
    for (i, f) in fields.iter().enumerate() {
        let (x, y) = (a.get(i).unwrap_or(&SortValue::Missing), b.get(i).unwrap_or(&SortValue::Missing));
        let ord = order_key(f, matches!(x, SortValue::Missing), matches!(y, SortValue::Missing), || {
            x.cmp_present(y)
        });
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Orders one sort key: missing values first or last as asked (whatever the direction), present
/// ones by `present`, reversed for a descending sort.
pub(crate) fn order_key(
    f: &SortField,
    x_missing: bool,
    y_missing: bool,
    present: impl FnOnce() -> Ordering,
) -> Ordering {
    match (x_missing, y_missing) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if f.missing_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if f.missing_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let o = present();
            if f.desc { o.reverse() } else { o }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_forms() {
        let s = parse(
            &json!(["a", {"b": "desc"}, {"c": {"order": "asc", "missing": "_first"}}, "_score", "_doc"]),
        )
        .unwrap();
        assert_eq!(s.len(), 5);
        assert!(!s[0].desc && s[1].desc && s[2].missing_first && s[3].desc && !s[4].desc);
        assert_eq!(s[3].target, SortTarget::Score);
        let p = parse_param("a:desc,_score").unwrap();
        assert!(p[0].desc && p[1].target == SortTarget::Score);
        assert!(parse(&json!({"a": "sideways"})).is_err());
        assert!(parse(&json!({"a": {"bogus": 1}})).is_err());
        assert!(parse(&json!(5)).is_err());
    }

    #[test]
    fn compares_with_missing_last() {
        let f = parse(&json!([{"n": "desc"}])).unwrap();
        let (a, b, m) = ([SortValue::I64(1)], [SortValue::F64(2.5)], [SortValue::Missing]);
        assert_eq!(compare(&f, &b, &a), Ordering::Less);
        assert_eq!(compare(&f, &a, &m), Ordering::Less);
        let f = parse(&json!([{"n": "asc"}])).unwrap();
        assert_eq!(compare(&f, &a, &b), Ordering::Less);
        assert_eq!(compare(&f, &a, &m), Ordering::Less);
    }
}
