//! The query language of the security `_query` APIs (`_query/api_key`, `_query/user`,
//! `_query/role`): the subset of the query DSL Elasticsearch allows there (`match_all`, `term`,
//! `match`, `terms`, `prefix`, `wildcard`, `ids`, `exists`, `range`, `bool`, and for the APIs
//! that name their fields for patterns `simple_query_string`), sort specs and paging, evaluated
//! over stored security documents. Each API says which fields it has.

mod simple;

use std::cmp::Ordering;

use bulwark_pattern::{Glob, Syntax};
use serde_json::{Map, Value};

use crate::ApiError;
use crate::body;

/// A document a `_query` API searches.
pub trait Queryable {
    /// A field that may be queried and sorted on.
    type Field;

    /// The field a name designates, if it may be queried.
    fn field(name: &str) -> Option<Self::Field>;

    /// The field's values in this document (none when it is missing).
    fn values(&self, field: &Self::Field) -> Vec<Value>;

    /// Whether the field holds dates (epoch milliseconds: `range` takes `now-1d` there).
    fn is_date(_field: &Self::Field) -> bool {
        false
    }

    /// Whether the field holds booleans.
    fn is_boolean(_field: &Self::Field) -> bool {
        false
    }

    /// The document's id (for the `ids` query).
    fn id(&self) -> &str;

    /// Whether the field may be sorted on (Elasticsearch sorts neither a user's `full_name`
    /// nor `email`).
    fn sortable(_field: &Self::Field) -> bool {
        true
    }

    /// The field names a `simple_query_string` field pattern (`*`, `na*`) expands to; an API
    /// with none does not offer `simple_query_string`.
    fn pattern_fields() -> &'static [&'static str] {
        &[]
    }
}

/// The values at a dotted `path` under `root` (an array gives its elements); the empty path
/// gives every leaf value (a flattened field queried whole).
pub fn values_at(root: &Map<String, Value>, path: &str) -> Vec<Value> {
    if path.is_empty() {
        let mut out = Vec::new();
        let mut stack: Vec<&Value> = root.values().collect();
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(o) => stack.extend(o.values()),
                Value::Array(a) => stack.extend(a.iter()),
                Value::Null => {}
                v => out.push(v.clone()),
            }
        }
        return out;
    }
    let mut cur = None;
    let mut obj = Some(root);
    for part in path.split('.') {
        cur = obj.and_then(|o| o.get(part));
        obj = cur.and_then(Value::as_object);
    }
    match cur {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(v) => vec![v.clone()],
    }
}

/// `from` and `size` of a request body (defaults 0 and 10).
pub fn from_size(m: &Map<String, Value>) -> Result<(usize, usize), ApiError> {
    let count = |key: &str, default: i64| -> Result<usize, ApiError> {
        let n = match m.get(key) {
            None | Some(Value::Null) => default,
            Some(v) => v.as_i64().ok_or_else(|| ApiError::parse(format!("[{key}] must be a number")))?,
        };
        usize::try_from(n)
            .map_err(|_| body::validation(format!("[{key}] parameter cannot be negative but was [{n}]")))
    };
    Ok((count("from", 0)?, count("size", 10)?))
}

fn parse_or_fail<D: Queryable>(f: &str) -> Result<D::Field, ApiError> {
    D::field(f).ok_or_else(|| {
        ApiError::illegal_argument(format!("Field [{f}] is not allowed for querying or aggregation"))
    })
}

/// A value as a keyword (metadata is indexed flattened: every leaf is a keyword).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `{field: value}` or `{field: {value|query|wildcard, case_insensitive}}`.
fn single_field<'a, D: Queryable>(
    body: &'a Value,
    kind: &str,
    key: &str,
) -> Result<(D::Field, &'a Value, bool), ApiError> {
    let (f, v) = body
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
        .ok_or_else(|| ApiError::parse(format!("[{kind}] query malformed, expected a single field")))?;
    let field = parse_or_fail::<D>(f)?;
    if matches!(kind, "prefix" | "wildcard") {
        let other = if D::is_date(&field) {
            Some("date")
        } else if D::is_boolean(&field) {
            Some("boolean")
        } else {
            None
        };
        if let Some(ty) = other {
            return Err(ApiError::new(
                crate::ErrorType::QueryShard,
                format!(
                    "Can only use {kind} queries on keyword, text and wildcard fields - not on [{f}] which is of type [{ty}]"
                ),
            ));
        }
    }
    match v {
        Value::Object(o) => {
            let value = o
                .get(key)
                .or_else(|| o.get("value"))
                .ok_or_else(|| ApiError::parse(format!("[{kind}] query on [{f}] has no [{key}]")))?;
            let ci = o.get("case_insensitive").and_then(Value::as_bool).unwrap_or(false);
            Ok((field, value, ci))
        }
        v => Ok((field, v, false)),
    }
}

fn eq_text(have: &str, want: &str, ci: bool) -> bool {
    if ci { have.eq_ignore_ascii_case(want) } else { have == want }
}

fn clauses(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Whether `doc` matches query `q`; `api` names the API in refusals (`API Key`, `User`, ...).
pub fn matches<D: Queryable>(q: &Value, doc: &D, api: &str) -> Result<bool, ApiError> {
    let Some((kind, body)) = q.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
        return Err(ApiError::parse("a query must be an object with exactly one query type"));
    };
    let texts = |f: &D::Field| doc.values(f).iter().filter_map(text).collect::<Vec<_>>();
    Ok(match kind.as_str() {
        "match_all" => true,
        "term" | "match" => {
            let (f, want, ci) =
                single_field::<D>(body, kind, if kind == "match" { "query" } else { "value" })?;
            let want = text(want).ok_or_else(|| {
                ApiError::parse(format!("[{kind}] value must be a string, number or boolean"))
            })?;
            texts(&f).iter().any(|h| eq_text(h, &want, ci))
        }
        "terms" => {
            let (f, want, _) = single_field::<D>(body, kind, "value")?;
            let want: Vec<String> = want
                .as_array()
                .ok_or_else(|| ApiError::parse("[terms] query requires an array of values"))?
                .iter()
                .filter_map(text)
                .collect();
            texts(&f).iter().any(|h| want.contains(h))
        }
        "prefix" => {
            let (f, want, ci) = single_field::<D>(body, kind, "value")?;
            let want = text(want).unwrap_or_default();
            texts(&f).iter().any(|h| {
                if ci { h.to_lowercase().starts_with(&want.to_lowercase()) } else { h.starts_with(&want) }
            })
        }
        "wildcard" => {
            let (f, want, ci) = single_field::<D>(body, kind, "wildcard")?;
            let glob = Glob::new(&text(want).unwrap_or_default(), Syntax::LUCENE.ignoring_case(ci));
            texts(&f).iter().any(|h| glob.matches(h))
        }
        "ids" => body
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::parse("[ids] query requires [values]"))?
            .iter()
            .any(|v| v.as_str() == Some(doc.id())),
        "exists" => {
            let f = body
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::parse("[exists] query requires [field]"))?;
            !doc.values(&parse_or_fail::<D>(f)?).is_empty()
        }
        "range" => range(body, doc)?,
        "simple_query_string" if !D::pattern_fields().is_empty() => simple::matches(body, doc)?,
        "bool" => {
            let all = |key: &str| -> Result<bool, ApiError> {
                for c in clauses(body.get(key)) {
                    if !matches(c, doc, api)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            };
            let should = clauses(body.get("should"));
            let mut should_hits = 0;
            for c in &should {
                should_hits += usize::from(matches(c, doc, api)?);
            }
            let mut none = true;
            for c in clauses(body.get("must_not")) {
                none &= !matches(c, doc, api)?;
            }
            let scoring_only = clauses(body.get("must")).is_empty() && clauses(body.get("filter")).is_empty();
            let min_should = body
                .get("minimum_should_match")
                .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
                .map_or(usize::from(scoring_only && !should.is_empty()), |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                });
            all("must")? && all("filter")? && none && should_hits >= min_should
        }
        other => {
            return Err(ApiError::illegal_argument(format!(
                "Query type [{other}] is not supported for {api} query"
            )));
        }
    })
}

/// `{"range": {field: {gt|gte|lt|lte: bound, format?, time_zone?, boost?}}}`: a document
/// matches when one of its values is within every bound. Date bounds are read as the security
/// index maps its dates (`epoch_millis`: epoch milliseconds or date math on them or on `now`)
/// unless a `format` is given; `gt` and `lte` round date math up, as Elasticsearch does.
fn range<D: Queryable>(body: &Value, doc: &D) -> Result<bool, ApiError> {
    let (f, bounds) = body
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
        .ok_or_else(|| ApiError::parse("[range] query malformed, expected a single field"))?;
    let field = parse_or_fail::<D>(f)?;
    let bounds = bounds
        .as_object()
        .ok_or_else(|| ApiError::parse(format!("[range] query on [{f}] must be an object of bounds")))?;
    let format = match bounds.get("format") {
        None | Some(Value::Null) => "epoch_millis",
        Some(Value::String(s)) => s.as_str(),
        Some(v) => return Err(ApiError::parse(format!("[range] [format] must be a string, not {v}"))),
    };
    if let Some(tz) =
        bounds.get("time_zone").filter(|tz| !matches!(tz.as_str(), Some("UTC" | "Z" | "+00:00" | "Etc/UTC")))
    {
        return Err(ApiError::illegal_argument(format!(
            "[range] [time_zone] {tz} is not supported here: these dates are read in UTC"
        )));
    }
    enum Bound {
        Date(i64),
        Text(String),
    }
    type Check = (fn(Ordering) -> bool, Bound);
    let mut checks: Vec<Check> = Vec::new();
    for (op, bound) in bounds {
        let (accept, round_up): (fn(Ordering) -> bool, bool) = match op.as_str() {
            "gt" => (|o| o == Ordering::Greater, true),
            "gte" => (|o| o != Ordering::Less, false),
            "lt" => (|o| o == Ordering::Less, false),
            "lte" => (|o| o != Ordering::Greater, true),
            "format" | "time_zone" | "boost" | "_name" => continue,
            other => {
                return Err(ApiError::parse(format!("[range] query does not support [{other}]")));
            }
        };
        let b = if D::is_date(&field) {
            Bound::Date(match bound {
                Value::Number(n) => n.as_i64().ok_or_else(|| {
                    ApiError::parse(format!("[range] [{op}] [{n}] is not epoch milliseconds"))
                })?,
                Value::String(s) => {
                    bulwark_index::dates::parse_with_format(s, format, round_up).ok_or_else(|| {
                        ApiError::parse(format!("failed to parse date field [{s}] with format [{format}]"))
                    })?
                }
                other => return Err(ApiError::parse(format!("[range] [{op}] must be a date, not {other}"))),
            })
        } else {
            Bound::Text(text(bound).unwrap_or_default())
        };
        checks.push((accept, b));
    }
    Ok(doc.values(&field).iter().any(|v| {
        checks.iter().all(|(accept, b)| {
            accept(match b {
                Bound::Date(ms) => v.as_i64().unwrap_or(0).cmp(ms),
                Bound::Text(t) => text(v).unwrap_or_default().cmp(t),
            })
        })
    }))
}

/// Sort keys: `"name"`, `{"name": "desc"}`, `{"name": {"order": "desc"}}`. A field the API
/// does not have is refused as Elasticsearch refuses it; `_doc` is the natural order (oldest
/// first), adding no key.
pub fn sort_keys<D: Queryable>(v: Option<&Value>) -> Result<Vec<(D::Field, bool)>, ApiError> {
    let items = match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(v @ (Value::String(_) | Value::Object(_))) => vec![v.clone()],
        Some(other) => {
            return Err(ApiError::parse(format!(
                "[sort] must be a field, an object or an array, not {other}"
            )));
        }
    };
    let order = |o: &str| -> Result<bool, ApiError> {
        match o.to_ascii_lowercase().as_str() {
            "asc" => Ok(false),
            "desc" => Ok(true),
            _ => Err(ApiError::illegal_argument(format!("Unknown SortOrder [{o}]"))),
        }
    };
    let mut out = Vec::new();
    for item in items {
        let (name, desc) = match &item {
            Value::String(s) => (s.clone(), false),
            Value::Object(o) if o.len() == 1 => match o.iter().next() {
                Some((f, Value::String(ord))) => (f.clone(), order(ord)?),
                Some((f, Value::Object(spec))) => {
                    if let Some(k) = spec.keys().find(|k| k.as_str() != "order") {
                        return Err(ApiError::parse(format!(
                            "[sort] option [{k}] of [{f}] is not supported here"
                        )));
                    }
                    (
                        f.clone(),
                        spec.get("order").and_then(Value::as_str).map(order).transpose()?.unwrap_or(false),
                    )
                }
                _ => return Err(ApiError::parse(format!("[sort] malformed: {item}"))),
            },
            other => return Err(ApiError::parse(format!("[sort] malformed: {other}"))),
        };
        if name == "_doc" {
            continue;
        }
        if name.contains('*') {
            return Err(ApiError::illegal_argument(format!(
                "Field name pattern [{name}] is not allowed for querying or aggregation"
            )));
        }
        let field = parse_or_fail::<D>(&name)?;
        if !D::sortable(&field) {
            return Err(ApiError::illegal_argument(format!("sorting is not supported for field [{name}]")));
        }
        out.push((field, desc));
    }
    Ok(out)
}

/// The body fields of `_query/user` and `_query/role`.
pub const QUERY_FIELDS: &[&str] = &["query", "from", "size", "sort", "search_after"];

/// The body's `search_after`, checked against the `sort_keys` sort keys: `None` when absent, a
/// 400 when it is not an array, has another length than the sort, or comes without a sort.
pub fn search_after(m: &Map<String, Value>, sort_keys: usize) -> Result<Option<&[Value]>, ApiError> {
    match m.get("search_after") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(_)) if sort_keys == 0 => {
            Err(ApiError::illegal_argument("[search_after] needs a [sort] to continue after"))
        }
        Some(Value::Array(after)) if after.len() != sort_keys => Err(ApiError::illegal_argument(format!(
            "search_after has {} value(s) but sort has {sort_keys}",
            after.len()
        ))),
        Some(Value::Array(after)) => Ok(Some(after)),
        Some(other) => Err(ApiError::parse(format!("[search_after] must be an array, not {other}"))),
    }
}

/// The answer's page of matched documents, each given with its sort values: sorted by the
/// request's keys (`descending` per key; stable, so unsorted requests keep the natural order),
/// after `search_after`, then `from`/`size`; the total counts every match. Each document shows
/// its sort values as `_sort` when the request sorts.
pub fn page(
    m: &Map<String, Value>,
    descending: &[bool],
    mut hits: Vec<(Vec<Value>, Value)>,
) -> Result<(usize, Vec<Value>), ApiError> {
    let (from, size) = from_size(m)?;
    let ordering = |x: &[Value], y: &[Value]| -> Ordering {
        descending
            .iter()
            .zip(x.iter().zip(y))
            .map(|(desc, (a, b))| if *desc { compare(b, a) } else { compare(a, b) })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    hits.sort_by(|a, b| ordering(&a.0, &b.0));
    let total = hits.len();
    if let Some(after) = search_after(m, descending.len())? {
        hits.retain(|(sv, _)| ordering(sv, after) == Ordering::Greater);
    }
    let page = hits
        .into_iter()
        .skip(from)
        .take(size)
        .map(|(sv, mut v)| {
            if !descending.is_empty() {
                v["_sort"] = Value::Array(sv);
            }
            v
        })
        .collect();
    Ok((total, page))
}

/// The first value of each sort field in `doc`, for [`page`].
pub fn sort_values<D: Queryable>(doc: &D, keys: &[(D::Field, bool)]) -> Vec<Value> {
    keys.iter().map(|(f, _)| doc.values(f).into_iter().next().unwrap_or(Value::Null)).collect()
}

/// Orders JSON sort values: missing last, numbers numerically, otherwise as text.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => text(a).cmp(&text(b)),
    }
}

/// Declares which top-level fields of a JSON document a `_query` API has (besides
/// `metadata.*`).
pub trait JsonFields {
    /// The queryable top-level fields.
    const FIELDS: &'static [&'static str];
    /// Those of them that hold booleans.
    const BOOLEANS: &'static [&'static str] = &[];
    /// Those of them that may not be sorted on.
    const UNSORTABLE: &'static [&'static str] = &[];
}

/// A JSON document (a user, a role) whose fields are `F::FIELDS` and `metadata.*`.
pub struct JsonDoc<'a, F> {
    id: &'a str,
    doc: &'a Map<String, Value>,
    fields: std::marker::PhantomData<F>,
}

impl<'a, F> JsonDoc<'a, F> {
    /// Document `id` with its JSON `doc`.
    pub fn new(id: &'a str, doc: &'a Map<String, Value>) -> JsonDoc<'a, F> {
        JsonDoc { id, doc, fields: std::marker::PhantomData }
    }
}

/// A field of a [`JsonDoc`]: a top-level name or a `metadata.` path.
pub struct JsonField(String);

impl<F: JsonFields> Queryable for JsonDoc<'_, F> {
    type Field = JsonField;

    fn field(name: &str) -> Option<JsonField> {
        (F::FIELDS.contains(&name) || name.strip_prefix("metadata.").is_some_and(|p| !p.is_empty()))
            .then(|| JsonField(name.to_owned()))
    }

    fn values(&self, field: &JsonField) -> Vec<Value> {
        values_at(self.doc, &field.0)
    }

    fn is_boolean(field: &JsonField) -> bool {
        F::BOOLEANS.contains(&field.0.as_str())
    }

    fn sortable(field: &JsonField) -> bool {
        !F::UNSORTABLE.contains(&field.0.as_str())
    }

    fn id(&self) -> &str {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    struct Fields;
    impl JsonFields for Fields {
        const FIELDS: &'static [&'static str] = &["username", "roles", "enabled"];
    }

    #[test]
    fn one_language_for_json_documents() {
        let user = json!({"username": "kibana_system", "roles": ["kibana_system"], "enabled": true,
            "metadata": {"_reserved": true, "team": {"name": "ops"}}});
        let doc = user.as_object().cloned().unwrap_or_default();
        let d = JsonDoc::<Fields>::new("kibana_system", &doc);
        let t = |q: Value| matches(&q, &d, "User").unwrap();
        assert!(t(json!({"prefix": {"username": "kibana"}})));
        assert!(t(json!({"terms": {"roles": ["x", "kibana_system"]}})));
        assert!(t(json!({"term": {"enabled": true}})));
        assert!(t(json!({"term": {"metadata.team.name": "ops"}})));
        assert!(t(json!({"bool": {"must_not": {"wildcard": {"username": "elastic*"}}}})));
        assert!(t(json!({"ids": {"values": ["kibana_system"]}})));
        let e = matches(&json!({"term": {"password": "x"}}), &d, "User").unwrap_err();
        assert_eq!(e.reason, "Field [password] is not allowed for querying or aggregation");
        let e = matches(&json!({"script": {}}), &d, "User").unwrap_err();
        assert_eq!(e.reason, "Query type [script] is not supported for User query");
    }
}

#[cfg(test)]
mod role_name_tests {
    use serde_json::json;

    use super::*;

    struct Fields;
    impl JsonFields for Fields {
        const FIELDS: &'static [&'static str] = &["name", "description"];
    }

    #[test]
    fn wildcard_on_name_matches_only_matching_roles() {
        for (name, want) in [("admin_ops", true), ("viewer", false), ("xadmin", false)] {
            let doc = json!({"name": name, "cluster": ["all"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}],
                "metadata": {}, "description": "admins"});
            let doc = doc.as_object().cloned().unwrap_or_default();
            let d = JsonDoc::<Fields>::new(name, &doc);
            for q in [
                json!({"wildcard": {"name": "admin*"}}),
                json!({"wildcard": {"name": {"value": "admin*"}}}),
                json!({"wildcard": {"name": {"wildcard": "admin*"}}}),
                json!({"bool": {"filter": [{"wildcard": {"name": "admin*"}}]}}),
                json!({"bool": {"must": [{"wildcard": {"name": "admin*"}}]}}),
                json!({"bool": {"should": [{"wildcard": {"name": "admin*"}}]}}),
            ] {
                assert_eq!(matches(&q, &d, "Role").unwrap(), want, "{q} on {name}");
            }
        }
    }
}
