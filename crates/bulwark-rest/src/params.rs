//! URL parameters: the ones every API accepts, the ones each route consumes (declared in
//! `router.rs` with the route), and Elasticsearch's answer to any other:
//! `request [/path] contains unrecognized parameter: [x] -> did you mean [y]?`.
//!
//! A parameter is declared only when the route honours it, or when it is validated and has no
//! effect to honour on this node (each such case says why below). Nothing is silently dropped.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// Accepted by every API (Elasticsearch's global parameters): `pretty` (indented JSON),
/// `human` (accepted: no response here has a human-readable twin field), `error_trace`
/// (accepted: errors carry no stack trace), `filter_path` (the response filter), and
/// `source` / `source_content_type` (the body given in the URL).
pub const GLOBAL: &[&str] =
    &["pretty", "human", "error_trace", "filter_path", "source", "source_content_type"];

/// The parameters of one API.
pub type Declared = &'static [&'static str];

/// No parameters of its own.
pub const NONE: Declared = &[];
/// Security writes: `refresh` (the store commits before answering, so every value holds).
pub const REFRESH: Declared = &["refresh"];
/// `get_user`, `query_user`: no user profiles exist, so there is no uid to add.
pub const WITH_PROFILE_UID: Declared = &["with_profile_uid"];
/// `POST /_security/realm/{realms}/_clear_cache`.
pub const CLEAR_REALM_CACHE: Declared = &["usernames"];
/// `GET /_security/api_key`.
pub const GET_API_KEY: Declared =
    &["id", "name", "username", "realm_name", "owner", "active_only", "with_limited_by", "with_profile_uid"];
/// `GET|POST /_security/_query/api_key`.
pub const QUERY_API_KEY: Declared = &["with_limited_by", "with_profile_uid"];
/// `wait_for_*` waits are satisfied at once: every node holds every index, so health is green.
pub const CLUSTER_HEALTH: Declared = &[
    "wait_for_status",
    "wait_for_nodes",
    "timeout",
    "master_timeout",
    "local",
    "wait_for_active_shards",
    "wait_for_no_relocating_shards",
    "wait_for_no_initializing_shards",
];
/// `POST /_cluster/voting_config_exclusions`.
pub const ADD_VOTING_EXCLUSIONS: Declared = &["node_names", "node_ids", "timeout"];
/// `wait_for_removal` is validated: an excluded node never leaves the cluster here, so both
/// values readmit at once (see `api::coordination::clear`).
pub const CLEAR_VOTING_EXCLUSIONS: Declared = &["wait_for_removal"];
/// `_cat/*`: output format, columns and headers.
pub const CAT: Declared = &["format", "h", "v"];
/// `GET /_cat/indices`.
pub const CAT_INDICES: Declared =
    &["format", "h", "v", "s", "bytes", "expand_wildcards", "ignore_unavailable", "allow_no_indices"];
/// `timeout`: how long each other member has to answer (`api::nodes`).
pub const NODES_STATS: Declared = &["timeout"];
/// `GET /_nodes`: the membership is known locally, so `timeout` (how long to wait for the
/// nodes' answers) has nothing to wait for.
pub const NODES_INFO: Declared = &["timeout"];
/// `GET /_bulwark/audit` (ours): page size, cursor and filters.
pub const AUDIT_READ: Declared = &["size", "before", "event", "user"];
/// `accept_enterprise`: the license shown is the same either way.
pub const LICENSE: Declared = &["local", "accept_enterprise"];

/// `PUT _index_template` / `_component_template`: `create` refuses to replace; the store
/// commits before answering, so `master_timeout` is validated and every value holds.
pub const TEMPLATE_PUT: Declared = &["create", "master_timeout"];
/// `PUT /_ingest/pipeline/{id}`.
pub const PIPELINE_PUT: Declared = &["master_timeout", "timeout"];
/// `_ingest/pipeline/_simulate`: `verbose` is refused by the handler when true.
pub const PIPELINE_SIMULATE: Declared = &["verbose"];
/// Template, lifecycle policy and pipeline reads and deletes: `master_timeout`, `timeout` and
/// `local` change nothing on a node that reads its own copy of the replicated state.
pub const MASTER_TIMEOUT: Declared = &["master_timeout", "timeout", "local"];

/// `GET /_xpack`: `categories` (`build`, `license`, `features`) selects the parts shown;
/// `accept_enterprise` changes nothing (the license is basic).
pub const XPACK: Declared = &["categories", "accept_enterprise"];

/// Index expression options.
const EXPAND: [&str; 3] = ["ignore_unavailable", "allow_no_indices", "expand_wildcards"];

/// `PUT /{index}`.
pub const INDEX_CREATE: Declared = &["timeout", "master_timeout", "wait_for_active_shards"];
/// `DELETE /{index}`.
pub const INDEX_DELETE: Declared =
    &["timeout", "master_timeout", "ignore_unavailable", "allow_no_indices", "expand_wildcards"];
/// `local`: metadata is read from this node's copy of the replicated state either way.
pub const INDEX_GET: Declared =
    &["master_timeout", "local", "ignore_unavailable", "allow_no_indices", "expand_wildcards"];
/// APIs that take an index expression and nothing else.
pub const EXPRESSION: Declared = &EXPAND;
/// `PUT /{index}/_mapping`.
pub const PUT_MAPPING: Declared =
    &["timeout", "master_timeout", "ignore_unavailable", "allow_no_indices", "expand_wildcards"];
/// `GET /{index}/_settings`.
pub const GET_SETTINGS: Declared =
    &["master_timeout", "local", "ignore_unavailable", "allow_no_indices", "expand_wildcards"];
/// `PUT /{index}/_settings`.
pub const PUT_SETTINGS: Declared =
    &["timeout", "master_timeout", "ignore_unavailable", "allow_no_indices", "expand_wildcards"];
/// Alias changes (`_aliases`, `PUT|DELETE /{index}/_alias/{name}`).
pub const ALIAS_CHANGE: Declared = &["timeout", "master_timeout"];
/// `GET /_alias`, `GET /{index}/_alias/{name}`.
pub const ALIAS_GET: Declared = &["local", "ignore_unavailable", "allow_no_indices", "expand_wildcards"];
/// `POST /{index}/_open`, `POST /{index}/_close`.
pub const OPEN_CLOSE: Declared = &[
    "timeout",
    "master_timeout",
    "wait_for_active_shards",
    "ignore_unavailable",
    "allow_no_indices",
    "expand_wildcards",
];
/// `PUT /{index}/_block/{block}`.
pub const ADD_BLOCK: Declared =
    &["timeout", "master_timeout", "ignore_unavailable", "allow_no_indices", "expand_wildcards"];

/// Document writes. `routing`: every index has one shard, so routing chooses nothing (and a
/// get without it still finds the document). `version`, `version_type` and `pipeline` are
/// refused by the handlers with Elasticsearch's own message when they ask for something this
/// node does not do.
pub const INDEX_DOC: Declared = &[
    "refresh",
    "op_type",
    "if_seq_no",
    "if_primary_term",
    "version",
    "version_type",
    "pipeline",
    "require_alias",
    "routing",
    "timeout",
    "wait_for_active_shards",
];
/// `PUT|POST /{index}/_create/{id}`.
pub const CREATE_DOC: Declared = &[
    "refresh",
    "version",
    "version_type",
    "pipeline",
    "require_alias",
    "routing",
    "timeout",
    "wait_for_active_shards",
];
/// `DELETE /{index}/_doc/{id}`.
pub const DELETE_DOC: Declared = &[
    "refresh",
    "if_seq_no",
    "if_primary_term",
    "version",
    "version_type",
    "routing",
    "timeout",
    "wait_for_active_shards",
];
/// `POST /{index}/_update/{id}`.
pub const UPDATE_DOC: Declared = &[
    "refresh",
    "if_seq_no",
    "if_primary_term",
    "retry_on_conflict",
    "require_alias",
    "routing",
    "timeout",
    "wait_for_active_shards",
    "_source",
    "_source_includes",
    "_source_excludes",
];
/// `POST /_bulk`, `POST /{index}/_bulk`.
pub const BULK: Declared = &["refresh", "require_alias", "pipeline", "timeout", "wait_for_active_shards"];
/// Reads are real time from the store: `realtime=false` and `refresh` could only make them
/// staler or change nothing; `preference` picks among copies of the one shard.
pub const GET_DOC: Declared =
    &["_source", "_source_includes", "_source_excludes", "realtime", "refresh", "routing", "preference"];
/// `GET /_mget`, `GET /{index}/_mget`.
pub const MGET: Declared = GET_DOC;

/// Searches. On one shard per index: `search_type=dfs_query_then_fetch` scores exactly as
/// `query_then_fetch` (the shard's statistics are the index's), `preference`, `routing` and
/// `request_cache` choose copies and caches, `allow_partial_search_results` and
/// `ccs_minimize_roundtrips` have nothing partial or remote to apply to; `timeout` is
/// validated (searches are not cut short). `scroll` is refused by the handler.
pub const SEARCH: Declared = &[
    "from",
    "size",
    "sort",
    "q",
    "df",
    "default_operator",
    "lenient",
    "_source",
    "_source_includes",
    "_source_excludes",
    "track_total_hits",
    "track_scores",
    "rest_total_hits_as_int",
    "seq_no_primary_term",
    "ignore_unavailable",
    "allow_no_indices",
    "expand_wildcards",
    "scroll",
    "search_type",
    "preference",
    "routing",
    "request_cache",
    "allow_partial_search_results",
    "ccs_minimize_roundtrips",
    "timeout",
    "version",
    "explain",
    "terminate_after",
    "stored_fields",
    "docvalue_fields",
];
/// `max_concurrent_searches`: searches of one request run one after the other anyway.
pub const MSEARCH: Declared = &[
    "rest_total_hits_as_int",
    "ignore_unavailable",
    "allow_no_indices",
    "expand_wildcards",
    "max_concurrent_searches",
    "search_type",
    "routing",
    "ccs_minimize_roundtrips",
];
/// `GET|POST /_count`, `/{index}/_count`.
pub const COUNT: Declared = &[
    "terminate_after",
    "q",
    "df",
    "default_operator",
    "lenient",
    "ignore_unavailable",
    "allow_no_indices",
    "expand_wildcards",
    "preference",
    "routing",
];

/// The route layer: refuses a request with a parameter neither global nor `declared`, and
/// checks the values of the common ones.
pub async fn check(State(declared): State<Declared>, req: Request, next: Next) -> Response {
    let params = query_pairs(req.uri());
    let unknown: Vec<&str> = params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !GLOBAL.contains(k) && !declared.contains(k))
        .collect();
    if !unknown.is_empty() {
        return unrecognized(req.uri().path(), &unknown, declared).into_response();
    }
    for (k, v) in &params {
        if let Err(e) = validate(k, v) {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// The decoded `key=value` pairs of a request's query string, in order.
fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri).map(|q| q.0).unwrap_or_default()
}

/// Checks the values of parameters whose meaning is the same on every API.
fn validate(k: &str, v: &str) -> Result<(), ApiError> {
    match k {
        "pretty" | "human" | "error_trace" => boolean(k, v),
        "timeout" | "master_timeout" => time_value(k, v),
        "wait_for_active_shards" => active_shards(v),
        _ => Ok(()),
    }
}

/// A boolean flag: empty (present), `true` or `false`.
pub fn boolean(k: &str, v: &str) -> Result<(), ApiError> {
    match v {
        "" | "true" | "false" => Ok(()),
        _ => Err(ApiError::illegal_argument(format!(
            "Failed to parse value [{v}] only [true] or [false] are allowed for parameter [{k}]"
        ))),
    }
}

/// Whether flag `k` is set (`?k`, `?k=true`); a value other than a boolean is a 400.
pub fn flag(params: &HashMap<String, String>, k: &str) -> Result<bool, ApiError> {
    match params.get(k) {
        None => Ok(false),
        Some(v) => boolean(k, v).map(|()| v != "false"),
    }
}

/// Checks a time value (`30d`, `1h`, `0`) outside the URL, e.g. in a lifecycle phase.
pub fn check_time_value(k: &str, v: &str) -> Result<(), ApiError> {
    time_value(k, v)
}

/// A time value: `-1`, `0`, or a number with a unit (`nanos`, `micros`, `ms`, `s`, `m`, `h`,
/// `d`), as Elasticsearch parses `timeout`.
fn time_value(k: &str, v: &str) -> Result<(), ApiError> {
    let t = v.trim().to_ascii_lowercase();
    if t == "-1" || t == "0" {
        return Ok(());
    }
    let unit_at = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = t.split_at(unit_at);
    if ["nanos", "micros", "ms", "s", "m", "h", "d"].contains(&unit) {
        if number.parse::<f64>().is_ok_and(|n| n >= 0.0) {
            return Ok(());
        }
        return Err(ApiError::parse(format!(
            "failed to parse [{v}] as a time value for [{k}]: [{number}] is not a non-negative number"
        )));
    }
    Err(ApiError::parse(format!(
        "failed to parse setting [{k}] with value [{v}] as a time value: unit is missing or unrecognized"
    )))
}

/// `wait_for_active_shards`: `all` or a non-negative count.
fn active_shards(v: &str) -> Result<(), ApiError> {
    if v == "all" {
        return Ok(());
    }
    match v.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(()),
        Ok(_) => Err(ApiError::illegal_argument(format!("shard count cannot be a negative value [{v}]"))),
        Err(_) => Err(ApiError::illegal_argument(format!("For input string: \"{v}\""))),
    }
}

/// Elasticsearch's 400 for unrecognized parameters, with suggestions among the parameters the
/// route knows.
fn unrecognized(path: &str, unknown: &[&str], declared: Declared) -> ApiError {
    let plural = if unknown.len() > 1 { "s" } else { "" };
    let mut msg = format!("request [{path}] contains unrecognized parameter{plural}: ");
    for (i, u) in unknown.iter().enumerate() {
        if i > 0 {
            msg.push_str(", ");
        }
        msg.push_str(&format!("[{u}]"));
        let mut close: Vec<(f64, &str)> =
            declared.iter().chain(GLOBAL).map(|c| (similarity(u, c), *c)).filter(|(s, _)| *s > 0.5).collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        if !close.is_empty() {
            let names: Vec<&str> = close.iter().map(|(_, c)| *c).collect();
            let any = if names.len() > 1 { "any of " } else { "" };
            msg.push_str(&format!(" -> did you mean {any}[{}]?", names.join(", ")));
        }
    }
    ApiError::illegal_argument(msg)
}

/// 1 − Levenshtein distance / the longer length (Lucene's `LevenshteinDistance`, which
/// Elasticsearch uses for its suggestions).
fn similarity(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    #[allow(clippy::cast_precision_loss)]
    let d = prev[b.len()] as f64 / longest as f64;
    1.0 - d
}

/// `?source=...&source_content_type=...`: the request body given in the URL, as Elasticsearch
/// accepts it for clients that cannot send a body with `GET`.
pub async fn source_body(req: Request, next: Next) -> Response {
    let params = query_pairs(req.uri());
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let Some(source) = get("source") else { return next.run(req).await };
    let Some(content_type) = get("source_content_type") else {
        return ApiError::illegal_argument("source and source_content_type parameters are required")
            .into_response();
    };
    let Ok(ct) = HeaderValue::from_str(&content_type) else {
        return ApiError::illegal_argument(format!("invalid source_content_type [{content_type}]"))
            .into_response();
    };
    let (mut parts, _) = req.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, ct);
    parts.headers.remove(header::CONTENT_LENGTH);
    next.run(Request::from_parts(parts, Body::from(source))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_as_elasticsearch_makes_them() {
        let e = unrecognized("/_search", &["sise"], SEARCH);
        assert_eq!(
            e.reason,
            "request [/_search] contains unrecognized parameter: [sise] -> did you mean [size]?"
        );
        let e = unrecognized("/_search", &["zzz", "qq"], SEARCH);
        assert_eq!(e.reason, "request [/_search] contains unrecognized parameters: [zzz], [qq]");
        assert_eq!(e.kind, "illegal_argument_exception");
    }

    #[test]
    fn values() {
        for ok in ["30s", "1m", "-1", "0", "100ms", "1.5h", "10nanos"] {
            assert!(time_value("timeout", ok).is_ok(), "{ok}");
        }
        for bad in ["abc", "10", "s", "-5s"] {
            assert!(time_value("timeout", bad).is_err(), "{bad}");
        }
        for ok in ["all", "1", "0", "3"] {
            assert!(active_shards(ok).is_ok(), "{ok}");
        }
        for bad in ["-1", "x", "one"] {
            assert!(active_shards(bad).is_err(), "{bad}");
        }
        assert!(boolean("pretty", "yes").is_err());
    }
}
