//! Index settings: which ones this node accepts (each enforced, or with a stated reason why it
//! has nothing to enforce here), `GET|PUT /{index}/_settings` and `PUT /{index}/_block/{block}`.
//!
//! Every other setting is refused with a 400 that names it: a setting that was accepted but
//! ignored would let a user believe data is protected (a block, a pipeline, a retention
//! policy) when it is not.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use bulwark_security::authz::Action;
use serde_json::{Map, Value, json};

use crate::blocks::{self, Level};
use crate::body;
use crate::caller::Caller;
use crate::indices::{DataPlane, IndexMeta, MetaChange, nest_settings};
use crate::resolve::{Catalog, Options, resolve};
use crate::{ApiError, RestState};

/// The index version Elasticsearch 8.19 writes in `index.version.created`.
const VERSION_CREATED: &str = "8536000";

/// How a value is checked.
#[derive(Clone, Copy)]
enum Rule {
    /// `true` or `false`.
    Bool,
    /// A whole number at least this.
    AtLeast(i64),
    /// A time value or `-1`.
    Interval,
    /// `false`, `0-5`, `0-all` ...
    AutoExpand,
    /// Only this value: the node's fixed behaviour (anything else is refused).
    Only(&'static str),
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// Any non-empty name.
    Name,
    /// A field name or pattern (`name^boost` too), or a non-empty list of them; kept as a list.
    FieldList,
}

/// A setting this node accepts (without the `index.` prefix).
struct Accepted {
    key: &'static str,
    rule: Rule,
    /// Whether it may change on an existing index (`PUT _settings`).
    dynamic: bool,
}

/// The accepted settings, and why:
/// * `number_of_shards`: shard layout only; an index is one search index here, results are the
///   same. `number_of_replicas`, `auto_expand_replicas`: every node holds every index (Raft),
///   so there is no replica count to honour. `priority`: recovery order; every index is
///   recovered at start.
/// * `refresh_interval`: writes become visible within one second whatever the value (a value
///   is validated; it never hides data nor exposes it).
/// * `hidden`, `blocks.*`: enforced.
/// * `max_result_window`, `mapping.depth.limit`: only the node's fixed value (10000, 20).
/// * `mapping.total_fields.limit` (default 1000): a mapping update or a document that would map
///   more fields is refused (checked by the node against each index's value).
/// * `max_docvalue_fields_search`: a `_search` whose `docvalue_fields` name more mapped fields
///   of a searched index than its value (default 100) is refused (`api/search.rs`).
/// * `query.default_field`: the fields `query_string`, `simple_query_string`, `multi_match` and
///   `q=` search when the request names none (default `*`; `api/search.rs`).
/// * `codec`: `default` or `best_compression` (Beats set it). Either way an index is stored as
///   `best_compression` asks: the search index's stored fields in zstd blocks, the store's
///   sources in zstd against a dictionary per index. The value is kept and shown and changes
///   nothing further (docs/architecture.md says so).
/// * `default_pipeline`, `final_pipeline`: run on every index and `_bulk` write (`_none`: none);
///   a pipeline that does not exist fails the write, as in Elasticsearch.
/// * `lifecycle.name`: kept and shown (`GET _ilm/policy` lists the indices using a policy);
///   lifecycle policies are stored but not executed (docs/architecture.md).
const ACCEPTED: &[Accepted] = &[
    Accepted { key: "number_of_shards", rule: Rule::AtLeast(1), dynamic: false },
    Accepted { key: "number_of_replicas", rule: Rule::AtLeast(0), dynamic: true },
    Accepted { key: "auto_expand_replicas", rule: Rule::AutoExpand, dynamic: true },
    Accepted { key: "priority", rule: Rule::AtLeast(0), dynamic: true },
    Accepted { key: "refresh_interval", rule: Rule::Interval, dynamic: true },
    Accepted { key: "hidden", rule: Rule::Bool, dynamic: true },
    Accepted { key: "blocks.read", rule: Rule::Bool, dynamic: true },
    Accepted { key: "blocks.write", rule: Rule::Bool, dynamic: true },
    Accepted { key: "blocks.read_only", rule: Rule::Bool, dynamic: true },
    Accepted { key: "blocks.read_only_allow_delete", rule: Rule::Bool, dynamic: true },
    Accepted { key: "blocks.metadata", rule: Rule::Bool, dynamic: true },
    Accepted { key: "max_result_window", rule: Rule::Only("10000"), dynamic: true },
    Accepted { key: "mapping.total_fields.limit", rule: Rule::AtLeast(0), dynamic: true },
    Accepted { key: "mapping.depth.limit", rule: Rule::Only("20"), dynamic: true },
    Accepted { key: "max_docvalue_fields_search", rule: Rule::AtLeast(0), dynamic: true },
    Accepted { key: "query.default_field", rule: Rule::FieldList, dynamic: true },
    Accepted { key: "codec", rule: Rule::OneOf(&["default", "best_compression"]), dynamic: false },
    Accepted { key: "default_pipeline", rule: Rule::Name, dynamic: true },
    Accepted { key: "final_pipeline", rule: Rule::Name, dynamic: true },
    Accepted { key: "lifecycle.name", rule: Rule::Name, dynamic: true },
];

/// `index.max_docvalue_fields_search` when not set, as in Elasticsearch.
pub const MAX_DOCVALUE_FIELDS_SEARCH: usize = 100;

/// A whole-number setting of `meta` (checked when stored), or `default` when not set.
pub fn number(meta: &IndexMeta, key: &str, default: usize) -> usize {
    match meta.settings.get(key) {
        Some(Value::String(s)) => s.parse().unwrap_or(default),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or(default),
        _ => default,
    }
}

/// Every index setting this node accepts (without the `index.` prefix), in the order of the
/// table the checks use.
pub fn accepted_settings() -> impl Iterator<Item = &'static str> {
    ACCEPTED.iter().map(|a| a.key)
}

/// Elasticsearch settings this node knows but does not implement: refused with a message
/// saying so (rather than "unknown").
const NOT_BUILT: &[&str] = &[
    "analysis.",
    "lifecycle.",
    "query.",
    "sort.",
    "routing",
    "blocks.",
    "translog.",
    "merge.",
    "search.",
    "indexing.",
    "shard.",
    "store.",
    "unassigned.",
    "highlight.",
    "similarity.",
    "write.",
    "mapping.",
    "max_",
    "format",
    "mode",
    "frozen",
    "number_of_routing_shards",
    "codec",
];

/// Flattens `settings` into dotted keys; `null` values are kept (a reset in `PUT _settings`).
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        Value::Array(a) => {
            let items = a.iter().map(|i| Value::String(scalar(i))).collect();
            out.insert(prefix.to_owned(), Value::Array(items));
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check_value(a: &Accepted, v: &str) -> Result<String, ApiError> {
    let key = a.key;
    let bad = |why: &str| {
        ApiError::illegal_argument(format!("Failed to parse value [{v}] for setting [index.{key}]{why}"))
    };
    match a.rule {
        Rule::Bool => match v {
            "true" | "false" => Ok(v.to_owned()),
            _ => Err(ApiError::illegal_argument(format!(
                "Failed to parse value [{v}] as only [true] or [false] are allowed."
            ))),
        },
        Rule::AtLeast(min) => match v.parse::<i64>() {
            Ok(n) if n >= min => Ok(n.to_string()),
            Ok(_) => Err(bad(&format!(" must be >= {min}"))),
            Err(_) => Err(bad("")),
        },
        Rule::Interval => {
            let t = v.trim();
            let unit_at = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            let (n, unit) = t.split_at(unit_at);
            let ok = t == "-1"
                || t == "0"
                || (!n.is_empty() && ["nanos", "micros", "ms", "s", "m", "h", "d"].contains(&unit));
            if ok {
                Ok(t.to_owned())
            } else {
                Err(ApiError::parse(format!(
                    "failed to parse setting [index.{key}] with value [{v}] as a time value: unit is missing or unrecognized"
                )))
            }
        }
        Rule::AutoExpand => {
            let ok = v == "false"
                || v.split_once('-').is_some_and(|(lo, hi)| {
                    lo.parse::<u32>().is_ok() && (hi == "all" || hi.parse::<u32>().is_ok())
                });
            if ok { Ok(v.to_owned()) } else { Err(bad("")) }
        }
        Rule::FieldList => {
            let bad_boost = v
                .split_once('^')
                .is_some_and(|(_, b)| b.parse::<f32>().map_or(true, |b| !b.is_finite() || b < 0.0));
            if v.trim().is_empty() || v.starts_with('^') || bad_boost {
                Err(bad(": a field name, pattern or name^boost is required"))
            } else {
                Ok(v.to_owned())
            }
        }
        Rule::Name => {
            if v.trim().is_empty() {
                Err(bad(": a name is required"))
            } else {
                Ok(v.to_owned())
            }
        }
        Rule::OneOf(values) => {
            if values.contains(&v) {
                Ok(v.to_owned())
            } else {
                Err(ApiError::illegal_argument(format!(
                    "setting [index.{key}] takes one of [{}] on this node; [{v}] is not supported",
                    values.join(", ")
                )))
            }
        }
        Rule::Only(fixed) => {
            if v == fixed {
                Ok(v.to_owned())
            } else {
                Err(ApiError::illegal_argument(format!(
                    "setting [index.{key}] is fixed at [{fixed}] on this node; [{v}] is not supported"
                )))
            }
        }
    }
}

/// Reads settings (`{"index": {...}}`, dotted or nested, with or without the `index.`
/// prefix) into checked values by key; `None` resets a setting (only with `allow_reset`).
fn read(v: &Value, allow_reset: bool) -> Result<BTreeMap<&'static Accepted, Option<Value>>, ApiError> {
    if !v.is_object() {
        return Err(ApiError::parse("[settings] must be an object"));
    }
    let mut flat = BTreeMap::new();
    flatten("", v, &mut flat);
    let mut out = BTreeMap::new();
    for (k, v) in flat {
        let key = k.strip_prefix("index.").unwrap_or(&k);
        let Some(a) = ACCEPTED.iter().find(|a| a.key == key) else {
            if NOT_BUILT.iter().any(|p| key.starts_with(p)) {
                return Err(ApiError::illegal_argument(format!(
                    "setting [index.{key}] is not supported by this node"
                )));
            }
            return Err(ApiError::illegal_argument(format!(
                "unknown setting [index.{key}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings"
            )));
        };
        let value = match v {
            Value::Null if allow_reset => None,
            Value::Null => continue,
            Value::Array(items) if matches!(a.rule, Rule::FieldList) => {
                if items.is_empty() {
                    return Err(ApiError::illegal_argument(format!(
                        "setting [index.{key}] needs at least one field name or pattern"
                    )));
                }
                let checked = items.iter().map(|i| check_value(a, &scalar(i)).map(Value::String));
                Some(Value::Array(checked.collect::<Result<_, _>>()?))
            }
            other if matches!(a.rule, Rule::FieldList) => {
                Some(Value::Array(vec![Value::String(check_value(a, &scalar(&other))?)]))
            }
            other => Some(Value::String(check_value(a, &scalar(&other))?)),
        };
        out.insert(a, value);
    }
    Ok(out)
}

impl PartialEq for Accepted {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Accepted {}
impl PartialOrd for Accepted {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Accepted {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(other.key)
    }
}

/// Reads and checks the `settings` of a create request.
pub fn parse_settings(v: &Value) -> Result<BTreeMap<String, Value>, ApiError> {
    Ok(read(v, false)?.into_iter().filter_map(|(a, v)| v.map(|v| (a.key.to_owned(), v))).collect())
}

/// The `settings` object Elasticsearch shows for an index.
pub fn settings_json(name: &str, meta: &IndexMeta) -> Value {
    let mut flat = meta.settings.clone();
    flat.entry("number_of_shards".into()).or_insert_with(|| json!("1"));
    flat.entry("number_of_replicas".into()).or_insert_with(|| json!("1"));
    flat.insert("uuid".into(), json!(meta.uuid));
    flat.insert("creation_date".into(), json!(meta.creation_date.to_string()));
    flat.insert("provided_name".into(), json!(name));
    flat.insert("version.created".into(), json!(VERSION_CREATED));
    if meta.closed {
        flat.insert("verified_before_close".into(), json!("true"));
    }
    json!({ "index": nest_settings(&flat) })
}

/// `GET /_settings`, `/{index}/_settings`
pub async fn get(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let expr = path.map(|Path(p)| p).unwrap_or_default();
    let catalog = Catalog::load(&svc)?;
    let opts = Options::from_params(&params)?.allowing_closed();
    let names = resolve(&state, &caller, &catalog, &expr, Action::GetSettings, opts)?;
    blocks::check(&catalog, &names, Level::MetadataRead)?;
    let mut out = Map::new();
    for name in names {
        let Some(meta) = catalog.index(&name) else { continue };
        out.insert(name.clone(), json!({ "settings": settings_json(&name, meta) }));
    }
    Ok(Json(Value::Object(out)))
}

/// `PUT /_settings`, `/{index}/_settings`
pub async fn put(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    path: Option<Path<String>>,
    Query(params): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let expr = path.map(|Path(p)| p).unwrap_or_default();
    let mut body = Value::Object(body::object(&bytes, true)?);
    if let Some(inner) = body.get("settings").filter(|_| body.as_object().is_some_and(|m| m.len() == 1)) {
        body = inner.clone();
    }
    let changes = read(&body, true)?;
    if changes.is_empty() {
        return Err(body::validation("no settings to update"));
    }
    let catalog = Catalog::load(&svc)?;
    let opts = Options::from_params(&params)?.allowing_closed();
    let names = resolve(&state, &caller, &catalog, &expr, Action::UpdateSettings, opts)?;
    if names.is_empty() {
        return Err(crate::resolve::index_not_found(&expr));
    }
    let fixed: Vec<String> =
        changes.keys().filter(|a| !a.dynamic).map(|a| format!("[index.{}]", a.key)).collect();
    if !fixed.is_empty() {
        let open: Vec<String> = names
            .iter()
            .filter_map(|n| catalog.index(n).filter(|m| !m.closed).map(|m| format!("[{n}/{}]", m.uuid)))
            .collect();
        if !open.is_empty() {
            return Err(ApiError::illegal_argument(format!(
                "Can't update non dynamic settings [{}] for open indices [{}]",
                fixed.join(", "),
                open.join(", ")
            )));
        }
    }
    // Changing only blocks is allowed on a blocked index: otherwise a block could never be
    // lifted (as in Elasticsearch).
    if !changes.keys().all(|a| a.key.starts_with("blocks.")) {
        blocks::check(&catalog, &names, Level::MetadataWrite)?;
    }
    let settings: BTreeMap<String, Option<Value>> =
        changes.into_iter().map(|(a, v)| (a.key.to_owned(), v)).collect();
    let changes = names
        .into_iter()
        .map(|index| MetaChange::PutSettings { index, settings: settings.clone() })
        .collect();
    svc.update_metadata(changes).await?;
    Ok(Json(json!({"acknowledged": true})))
}

/// `PUT /{index}/_block/{block}`
pub async fn add_block(
    State(state): State<RestState>,
    caller: Caller,
    svc: DataPlane,
    Path((expr, block)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    if !blocks::NAMES.contains(&block.as_str()) || block == "read_only_allow_delete" {
        return Err(ApiError::illegal_argument(format!(
            "No enum constant org.elasticsearch.cluster.metadata.IndexMetadata.APIBlock.{}",
            block.to_uppercase()
        )));
    }
    let catalog = Catalog::load(&svc)?;
    let opts = Options { allow_no_indices: false, ..Options::from_params(&params)? };
    let names = resolve(&state, &caller, &catalog, &expr, Action::AddIndexBlock, opts)?;
    let settings = BTreeMap::from([(format!("blocks.{block}"), Some(Value::String("true".into())))]);
    let changes = names
        .iter()
        .map(|index| MetaChange::PutSettings { index: index.clone(), settings: settings.clone() })
        .collect();
    svc.update_metadata(changes).await?;
    let indices: Vec<Value> = names.iter().map(|n| json!({"name": n, "blocked": true})).collect();
    Ok(Json(json!({"acknowledged": true, "shards_acknowledged": true, "indices": indices})))
}
