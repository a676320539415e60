//! The bucket aggregations of `_query/api_key` that read ranges and composite keys: `range` and
//! `date_range` (over the date fields and `invalidated`; `ranges` with `from`/`to`/`key`,
//! `keyed`, `format`, `missing`) and `composite` (`terms` sources only, as in Elasticsearch;
//! `size`, `after`, `missing_bucket`, `order`), with Elasticsearch's response shapes. Dates are
//! read and shown as the security index maps them (`epoch_millis`) unless a `format` is given;
//! composite keys on dates stay epoch milliseconds (numbers) without one, as in Elasticsearch.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use bulwark_security::authn::ApiKeyRecord;
use serde_json::{Map, Value, json};

use super::query::Field;
use crate::security_query::compare;
use crate::{ApiError, ErrorType};

type Keys = [(String, ApiKeyRecord)];

fn parsing(reason: String) -> ApiError {
    ApiError::new(ErrorType::Parsing, reason)
}

fn refuse_unknown(kind: &str, body: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(parsing(format!("[{kind}] unknown field [{k}]"))),
        None => Ok(()),
    }
}

/// The Elasticsearch type of a field, as its refusals name it.
fn type_name(f: &Field) -> &'static str {
    match f {
        f if f.is_date() => "date",
        Field::Invalidated => "boolean",
        Field::Metadata(_) => "flattened",
        _ => "keyword",
    }
}

fn parse_field(name: &str, body: &Map<String, Value>, kind: &str) -> Result<Field, ApiError> {
    if body.contains_key("script") {
        return Err(ApiError::illegal_argument(format!("Unsupported script value source for [{name}] agg")));
    }
    let f = body
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::parse(format!("[{kind}] aggregation [{name}] requires [field]")))?;
    if f.contains('*') {
        return Err(ApiError::illegal_argument(format!(
            "Field name pattern [{f}] is not allowed for querying or aggregation"
        )));
    }
    Field::parse(f).ok_or_else(|| {
        ApiError::illegal_argument(format!("Field [{f}] is not allowed for querying or aggregation"))
    })
}

/// A bound or `missing` value on `field`: a date (epoch milliseconds or date math) or a number.
fn bound(field: &Field, v: &Value, what: &str, format: Option<&str>) -> Result<f64, ApiError> {
    if let Some(n) = v.as_f64() {
        return Ok(n);
    }
    let s = v
        .as_str()
        .ok_or_else(|| ApiError::parse(format!("[{what}] must be a number or a string, not {v}")))?;
    if field.is_date() {
        let format = format.unwrap_or(DATE_FORMAT);
        return bulwark_index::dates::parse_with_format(s, format, false).map(|ms| ms as f64).ok_or_else(|| {
            ApiError::parse(format!(
                "failed to parse date field [{s}] with format [{format}]: use epoch milliseconds or date math (now-1d/d){}",
                if format == DATE_FORMAT { ", or give a [format] to read ISO-8601 dates" } else { "" }
            ))
        });
    }
    match s {
        "true" => Ok(1.0),
        "false" => Ok(0.0),
        _ => s.parse().map_err(|_| ApiError::parse(format!("[{what}] value [{s}] is not a number"))),
    }
}

/// A field's values as numbers (dates in epoch milliseconds, booleans 0 and 1).
fn numbers(field: &Field, k: &ApiKeyRecord) -> Vec<f64> {
    field
        .values(k)
        .iter()
        .filter_map(|v| v.as_f64().or_else(|| v.as_bool().map(|b| f64::from(u8::from(b)))))
        .collect()
}

/// The format of the API key dates in Elasticsearch's security index (their `format` mapping).
const DATE_FORMAT: &str = "epoch_millis";

/// How a bound is shown: dates with the format (the field's own by default), other numbers as
/// Elasticsearch prints doubles.
fn shown(field: &Field, n: f64, format: Option<&str>) -> Option<String> {
    field.is_date().then(|| bulwark_index::dates::format(n as i64, format.unwrap_or(DATE_FORMAT)))
}

fn double(n: f64) -> String {
    format!("{n:?}")
}

/// `range` and `date_range`: one bucket per range (sorted by `from`, then `to`; `from`
/// inclusive, `to` exclusive), a key counted once per range it has a value in.
pub(super) fn range(name: &str, kind: &str, body: &Value, keys: &Keys) -> Result<Value, ApiError> {
    let body = body
        .as_object()
        .ok_or_else(|| ApiError::parse(format!("[{kind}] aggregation [{name}] must be an object")))?;
    refuse_unknown(kind, body, &["field", "ranges", "keyed", "format", "missing", "time_zone", "script"])?;
    let field = parse_field(name, body, kind)?;
    if !field.is_date() && field != Field::Invalidated {
        return Err(ApiError::illegal_argument(format!(
            "Field [{}] of type [{}] is not supported for aggregation [{kind}]",
            body.get("field").and_then(Value::as_str).unwrap_or_default(),
            type_name(&field)
        )));
    }
    if let Some(tz) =
        body.get("time_zone").filter(|tz| !matches!(tz.as_str(), Some("UTC" | "Z" | "+00:00" | "Etc/UTC")))
    {
        return Err(ApiError::illegal_argument(format!(
            "[{kind}] [time_zone] {tz} is not supported here: API key dates are read and shown in UTC"
        )));
    }
    let format = match body.get("format") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(v) => return Err(ApiError::parse(format!("[{kind}] [format] must be a string, not {v}"))),
    };
    let keyed = match body.get("keyed") {
        None => false,
        Some(v) => {
            v.as_bool().ok_or_else(|| ApiError::parse(format!("[{kind}] [keyed] must be a boolean")))?
        }
    };
    let missing = body.get("missing").map(|m| bound(&field, m, "missing", format)).transpose()?;
    let specs = body.get("ranges").and_then(Value::as_array).filter(|a| !a.is_empty()).ok_or_else(|| {
        ApiError::illegal_argument(format!("No [ranges] specified for the [{name}] aggregation"))
    })?;
    let mut ranges = Vec::new();
    for r in specs {
        let r =
            r.as_object().ok_or_else(|| ApiError::parse(format!("[{kind}] [ranges] must hold objects")))?;
        refuse_unknown("range", r, &["from", "to", "key"])?;
        let from =
            r.get("from").filter(|v| !v.is_null()).map(|v| bound(&field, v, "from", format)).transpose()?;
        let to = r.get("to").filter(|v| !v.is_null()).map(|v| bound(&field, v, "to", format)).transpose()?;
        let key = match r.get("key") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => return Err(ApiError::parse(format!("[range] [key] must be a string, not {v}"))),
        };
        ranges.push((from.unwrap_or(f64::NEG_INFINITY), to.unwrap_or(f64::INFINITY), key));
    }
    ranges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let values: Vec<Vec<f64>> = keys
        .iter()
        .map(|(_, k)| {
            let v = numbers(&field, k);
            if v.is_empty() { missing.into_iter().collect() } else { v }
        })
        .collect();
    let mut list = Vec::new();
    let mut by_key = Map::new();
    for (from, to, key) in ranges {
        let count = values.iter().filter(|vs| vs.iter().any(|v| *v >= from && *v < to)).count();
        let end = |n: f64| {
            if n.is_infinite() {
                "*".to_owned()
            } else {
                shown(&field, n, format).unwrap_or_else(|| double(n))
            }
        };
        let key = key.unwrap_or_else(|| format!("{}-{}", end(from), end(to)));
        let mut b = Map::new();
        if !keyed {
            b.insert("key".into(), json!(key));
        }
        if from.is_finite() {
            b.insert("from".into(), json!(from));
            if let Some(s) = shown(&field, from, format) {
                b.insert("from_as_string".into(), json!(s));
            }
        }
        if to.is_finite() {
            b.insert("to".into(), json!(to));
            if let Some(s) = shown(&field, to, format) {
                b.insert("to_as_string".into(), json!(s));
            }
        }
        b.insert("doc_count".into(), json!(count));
        if keyed {
            by_key.insert(key, Value::Object(b));
        } else {
            list.push(Value::Object(b));
        }
    }
    Ok(if keyed { json!({ "buckets": by_key }) } else { json!({ "buckets": list }) })
}

/// One `terms` source of a composite aggregation.
struct Source {
    name: String,
    field: Field,
    desc: bool,
    missing_bucket: bool,
    format: Option<String>,
}

impl Source {
    /// A key value as shown: dates in epoch milliseconds (or formatted), booleans as booleans.
    fn show(&self, v: &Value) -> Value {
        match (v, &self.format) {
            (Value::Number(n), Some(f)) if self.field.is_date() => {
                json!(bulwark_index::dates::format(n.as_i64().unwrap_or(0), f))
            }
            (v, _) => v.clone(),
        }
    }

    /// A value of `after` as this source's values compare (a formatted date read back).
    fn read(&self, v: &Value) -> Result<Value, ApiError> {
        match v {
            Value::String(s) if self.field.is_date() => bulwark_index::dates::parse_with_format(
                s,
                self.format.as_deref().unwrap_or(DATE_FORMAT),
                false,
            )
            .map(|ms| json!(ms))
            .ok_or_else(|| ApiError::parse(format!("failed to parse date field [{s}] in [after]"))),
            v => Ok(v.clone()),
        }
    }

    fn order(&self, a: &Value, b: &Value) -> Ordering {
        // Missing values come first in ascending order and last in descending order.
        let o = match (a.is_null(), b.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare(a, b),
        };
        if self.desc { o.reverse() } else { o }
    }
}

fn sources(name: &str, body: &Map<String, Value>) -> Result<Vec<Source>, ApiError> {
    let list = body.get("sources").and_then(Value::as_array).filter(|a| !a.is_empty()).ok_or_else(|| {
        ApiError::illegal_argument(format!("Composite [sources] cannot be null or empty in [{name}]"))
    })?;
    let mut out: Vec<Source> = Vec::new();
    for s in list {
        let Some((src, spec)) = s.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
            return Err(parsing(format!(
                "[composite] aggregation [{name}]: each source is an object with one name"
            )));
        };
        let Some((ty, opts)) = spec.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
            return Err(parsing(format!("[composite] source [{src}] must name one value source type")));
        };
        let opts =
            opts.as_object().ok_or_else(|| parsing(format!("[{ty}] source [{src}] must be an object")))?;
        if opts.contains_key("script") {
            return Err(ApiError::illegal_argument(format!(
                "Unsupported script value source for [{src}] of composite agg [{name}]"
            )));
        }
        if ty != "terms" {
            return Err(ApiError::illegal_argument(format!(
                "Unsupported value source type for [{src}] of composite agg [{name}].Only [terms] value sources are allowed."
            )));
        }
        refuse_unknown(
            ty,
            opts,
            &["field", "order", "missing_bucket", "missing_order", "format", "value_type"],
        )?;
        let field = parse_field(src, opts, ty)?;
        let desc = match opts.get("order").and_then(Value::as_str) {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(o) => {
                return Err(ApiError::illegal_argument(format!("Unknown order [{o}]: use [asc] or [desc]")));
            }
        };
        if let Some(o) = opts.get("missing_order").and_then(Value::as_str).filter(|o| *o != "default") {
            return Err(ApiError::illegal_argument(format!(
                "[missing_order] [{o}] is not supported here: missing values come first ascending, last descending"
            )));
        }
        if opts.get("value_type").is_some() {
            return Err(ApiError::illegal_argument(
                "[value_type] is not supported here: the API key fields are typed",
            ));
        }
        if out.iter().any(|o| o.name == *src) {
            return Err(ApiError::illegal_argument(format!(
                "Composite source names must be unique, found duplicates: [{src}]"
            )));
        }
        out.push(Source {
            name: src.clone(),
            field,
            desc,
            missing_bucket: opts.get("missing_bucket").and_then(Value::as_bool).unwrap_or(false),
            format: opts.get("format").and_then(Value::as_str).map(str::to_owned),
        });
    }
    Ok(out)
}

/// `composite`: every combination of the sources' values a key holds, in source order, `size`
/// of them after `after`, with `after_key` to page on.
pub(super) fn composite(name: &str, body: &Value, keys: &Keys) -> Result<Value, ApiError> {
    let body = body
        .as_object()
        .ok_or_else(|| ApiError::parse(format!("[composite] aggregation [{name}] must be an object")))?;
    refuse_unknown("composite", body, &["sources", "size", "after"])?;
    let sources = sources(name, body)?;
    let size = match body.get("size") {
        None => 10,
        Some(v) => v.as_u64().and_then(|n| usize::try_from(n).ok()).filter(|n| *n > 0).ok_or_else(|| {
            ApiError::illegal_argument(format!("[size] must be greater than 0. Found [{v}] in [{name}]"))
        })?,
    };
    let after = match body.get("after") {
        None | Some(Value::Null) => None,
        Some(Value::Object(a)) => {
            if a.len() != sources.len() || sources.iter().any(|s| !a.contains_key(&s.name)) {
                return Err(ApiError::illegal_argument(format!(
                    "[after] has {} value(s) but [sources] has {}: give one value per source, by name",
                    a.len(),
                    sources.len()
                )));
            }
            Some(sources.iter().map(|s| s.read(&a[&s.name])).collect::<Result<Vec<_>, _>>()?)
        }
        Some(v) => return Err(ApiError::parse(format!("[after] must be an object, not {v}"))),
    };
    let cmp = |a: &[Value], b: &[Value]| {
        sources
            .iter()
            .zip(a.iter().zip(b))
            .map(|(s, (x, y))| s.order(x, y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    let mut counts: BTreeMap<String, (Vec<Value>, u64)> = BTreeMap::new();
    for (_, k) in keys {
        let mut combos: Vec<Vec<Value>> = vec![Vec::new()];
        for s in &sources {
            let mut vals: Vec<Value> = s.field.values(k);
            vals.sort_by(compare);
            vals.dedup();
            if vals.is_empty() {
                if !s.missing_bucket {
                    combos.clear();
                    break;
                }
                vals.push(Value::Null);
            }
            combos = combos
                .into_iter()
                .flat_map(|c| vals.iter().map(move |v| [c.clone(), vec![v.clone()]].concat()))
                .collect();
        }
        for c in combos {
            counts.entry(Value::Array(c.clone()).to_string()).or_insert((c, 0)).1 += 1;
        }
    }
    let mut buckets: Vec<(Vec<Value>, u64)> = counts.into_values().collect();
    buckets.sort_by(|a, b| cmp(&a.0, &b.0));
    if let Some(after) = &after {
        buckets.retain(|(k, _)| cmp(k, after) == Ordering::Greater);
    }
    buckets.truncate(size);
    let key_of = |vals: &[Value]| -> Value {
        Value::Object(sources.iter().zip(vals).map(|(s, v)| (s.name.clone(), s.show(v))).collect())
    };
    let mut out = Map::new();
    if let Some((last, _)) = buckets.last() {
        out.insert("after_key".into(), key_of(last));
    }
    out.insert(
        "buckets".into(),
        buckets.iter().map(|(k, n)| json!({ "key": key_of(k), "doc_count": n })).collect::<Vec<_>>().into(),
    );
    Ok(Value::Object(out))
}
