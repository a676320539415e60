//! What single-document writes and `_bulk` items share: where a write goes (an index, an
//! alias's write index, or a new index), whether the caller may do it, the write parameters,
//! and the Elasticsearch shape of an outcome or a per-item error.

use crate::ErrorType;
use std::collections::HashMap;

use bulwark_security::authz::Action;
use serde_json::{Map, Value, json};

use crate::caller::Caller;
use crate::indices::{IfMatch, Refresh, WriteOutcome, WriteResult};
use crate::resolve::{Catalog, validate_index_name};
use crate::{ApiError, RestState};

/// The longest document id Elasticsearch accepts, in bytes.
const MAX_ID_BYTES: usize = 512;

/// The kind of a document write, for authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// `op_type=index`: create or replace.
    Index,
    /// `op_type=create`: create only.
    Create,
    /// A delete.
    Delete,
    /// A partial update (`_update`).
    Update,
}

/// Where an authorized write goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The concrete index.
    pub index: String,
    /// Whether the index does not exist and the caller may have it created.
    pub auto_create: bool,
}

/// Decides the target of writes for one request, remembering auto-create decisions per name.
pub struct Targets<'a> {
    state: &'a RestState,
    caller: &'a Caller,
    catalog: &'a Catalog,
    auto_create: HashMap<String, Result<(), ApiError>>,
    /// Whether the writes are `_bulk` items (their refusals are worded for bulk items).
    bulk: bool,
}

impl<'a> Targets<'a> {
    /// Targets of `caller`'s writes, resolved against `catalog`.
    pub fn new(state: &'a RestState, caller: &'a Caller, catalog: &'a Catalog) -> Targets<'a> {
        Targets { state, caller, catalog, auto_create: HashMap::new(), bulk: false }
    }

    /// Targets of `_bulk` items.
    pub fn in_bulk(mut self) -> Targets<'a> {
        self.bulk = true;
        self
    }

    /// Resolves `name` (an index, an alias, or a new name) and authorizes a write of `kind` on
    /// it, as Elasticsearch does: the request-level action on the concrete index, then the
    /// operation's own action, then the creation of a missing index.
    pub fn authorize(&mut self, name: &str, kind: WriteKind) -> Result<Target, ApiError> {
        let target = self.catalog.write_target(name)?;
        let index = target.clone().unwrap_or_else(|| name.to_owned());
        let one = std::slice::from_ref(&index);
        match kind {
            WriteKind::Index => self.caller.authorize_overwrite(self.state, &index)?,
            WriteKind::Create => {
                self.caller.authorize_each(self.state, &[Action::IndexDoc, Action::CreateDoc], one)?;
            }
            WriteKind::Delete => self.caller.authorize(self.state, Action::DeleteDoc, one)?,
            WriteKind::Update => {
                self.caller.authorize(self.state, Action::UpdateDoc, one)?;
                // Under field- or document-level security an update could drop what the
                // caller cannot see: Elasticsearch refuses it.
                crate::restrict::refuse_update(self.state, self.caller, self.catalog, &index, self.bulk)?;
            }
        }
        if target.is_some() {
            crate::blocks::check(self.catalog, one, crate::blocks::Level::Write)?;
            return Ok(Target { index, auto_create: false });
        }
        if kind == WriteKind::Delete {
            // Deletes never create an index; the service answers `index_not_found_exception`
            // unless an earlier item of the same request created it.
            return Ok(Target { index, auto_create: false });
        }
        let (state, caller) = (self.state, self.caller);
        self.auto_create
            .entry(index.clone())
            .or_insert_with(|| {
                validate_index_name(&index)?;
                if caller.allows(state, Action::AutoCreateIndex, &index)
                    || caller.allows(state, Action::CreateIndex, &index)
                {
                    Ok(())
                } else {
                    caller.authorize(state, Action::AutoCreateIndex, std::slice::from_ref(&index))
                }
            })
            .clone()?;
        Ok(Target { index, auto_create: true })
    }
}

/// 404 for a write with `require_alias` to a name that is not an alias.
pub fn alias_required(name: &str) -> ApiError {
    ApiError::new(
        ErrorType::IndexNotFound,
        format!(
            "no such index [{name}] and [require_alias] request flag is [true] and [{name}] is not an alias"
        ),
    )
}

/// Checks a document id given by the caller.
pub fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() {
        return Err(crate::body::validation("id is missing"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(crate::body::validation(format!(
            "id [{id}] is too long, must be no longer than 512 bytes but was: {}",
            id.len()
        )));
    }
    Ok(())
}

/// `refresh`: `true` (or empty), `false`, `wait_for`.
pub fn refresh_param(v: Option<&str>) -> Result<Refresh, ApiError> {
    match v {
        None | Some("false") => Ok(Refresh::No),
        Some("" | "true") => Ok(Refresh::Immediate),
        Some("wait_for") => Ok(Refresh::WaitFor),
        Some(other) => Err(ApiError::illegal_argument(format!("Unknown value for refresh: [{other}]."))),
    }
}

fn u64_param(k: &str, v: &str) -> Result<u64, ApiError> {
    v.trim().parse::<u64>().map_err(|_| {
        ApiError::illegal_argument(format!("Failed to parse long parameter [{k}] with value [{v}]"))
    })
}

/// `if_seq_no` / `if_primary_term` from URL parameters.
pub fn if_match_params(params: &HashMap<String, String>) -> Result<IfMatch, ApiError> {
    let get = |k: &str| params.get(k).map(|v| u64_param(k, v)).transpose();
    check_if_match(IfMatch { seq_no: get("if_seq_no")?, primary_term: get("if_primary_term")? })
}

/// `if_seq_no` / `if_primary_term` from a bulk action line.
pub fn if_match_json(meta: &Map<String, Value>) -> Result<IfMatch, ApiError> {
    let get = |k: &str| -> Result<Option<u64>, ApiError> {
        match meta.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| ApiError::illegal_argument(format!("[{k}] must be a non-negative number"))),
            Some(Value::String(s)) => u64_param(k, s).map(Some),
            Some(_) => Err(ApiError::illegal_argument(format!("[{k}] must be a number"))),
        }
    };
    check_if_match(IfMatch { seq_no: get("if_seq_no")?, primary_term: get("if_primary_term")? })
}

fn check_if_match(m: IfMatch) -> Result<IfMatch, ApiError> {
    match (m.seq_no, m.primary_term) {
        (Some(_), None) => Err(crate::body::validation("ifSeqNo is set, but primary term is [0]")),
        (None, Some(_)) => Err(crate::body::validation("ifSeqNo is unassigned, but primary term is [1]")),
        (_, Some(0)) => Err(crate::body::validation("ifSeqNo is set, but primary term is [0]")),
        _ => Ok(m),
    }
}

/// Refuses versioning parameters this node does not implement (`version`, `version_type`)
/// and ingest pipelines, which it does not have.
pub fn refuse_unsupported(get: impl Fn(&str) -> Option<String>) -> Result<(), ApiError> {
    if let Some(t) = get("version_type").filter(|t| t != "internal") {
        return Err(ApiError::illegal_argument(format!("version_type [{t}] is not supported")));
    }
    if get("version").is_some() {
        return Err(crate::body::validation(
            "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead",
        ));
    }
    if let Some(p) = get("pipeline").filter(|p| !p.is_empty() && p != "_none") {
        return Err(ApiError::illegal_argument(format!("pipeline with id [{p}] does not exist")));
    }
    Ok(())
}

/// Reads a document source; a body that is not JSON is a `document_parsing_exception`.
pub fn parse_source(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(crate::body::validation("source is missing"));
    }
    crate::json::parse(bytes).map_err(|e| {
        ApiError::new(
            ErrorType::DocumentParsing,
            format!("[{}:{}] failed to parse: {e}", e.line(), e.column()),
        )
    })
}

/// `_shards` of a write.
pub fn write_shards(result: WriteResult) -> Value {
    let n = u32::from(result != WriteResult::Noop);
    json!({"total": n, "successful": n, "failed": 0})
}

/// A carried-out write as Elasticsearch shows it.
pub fn outcome_json(o: &WriteOutcome) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("_index".into(), json!(o.index));
    m.insert("_id".into(), json!(o.id));
    m.insert("_version".into(), json!(o.version));
    m.insert("result".into(), json!(o.result.as_str()));
    m.insert("_shards".into(), write_shards(o.result));
    m.insert("_seq_no".into(), json!(o.seq_no));
    m.insert("_primary_term".into(), json!(o.primary_term));
    m
}

/// A failed bulk item: `{"_index", "_id", "status", "error": {"type", "reason", "index"}}`.
pub fn item_error_json(index: &str, id: Option<&str>, e: &ApiError) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("_index".into(), json!(index));
    m.insert("_id".into(), id.map_or(Value::Null, |i| json!(i)));
    m.insert("status".into(), json!(e.status.as_u16()));
    m.insert("error".into(), json!({"type": e.kind, "reason": e.reason, "index": index}));
    m
}

/// The refresh answer for a single write (`forced_refresh` with `refresh=true`).
pub fn with_refresh(mut m: Map<String, Value>, refresh: Refresh) -> Map<String, Value> {
    if refresh == Refresh::Immediate {
        m.insert("forced_refresh".into(), Value::Bool(true));
    }
    m
}
