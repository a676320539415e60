//! What single-document writes and `_bulk` items share: where a write goes (an index, an
//! alias's write index, or a new index), whether the caller may do it, the write parameters,
//! and the Elasticsearch shape of an outcome or a per-item error.

use crate::ErrorType;
use std::collections::HashMap;

use bulwark_security::authz::Action;
use serde_json::{Map, Value, json};

use crate::caller::Caller;
use crate::indices::{IfMatch, NewIndex, Refresh, WriteOutcome, WriteResult};
use crate::resolve::{Catalog, validate_index_name};
use crate::templates::{TIMESTAMP_FIELD, Templates};
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
    /// What the index is created with, when it does not exist and the caller may have it
    /// created (templates applied).
    pub create: Option<NewIndex>,
    /// The data stream written to, when the name is one (or becomes one).
    pub data_stream: Option<String>,
}

/// 400 for a write into a data stream other than `op_type=create`.
pub fn only_create_in_streams() -> ApiError {
    ApiError::illegal_argument("only write ops with an op_type of create are allowed in data streams")
}

/// Decides the target of writes for one request, remembering auto-create decisions per name.
pub struct Targets<'a> {
    state: &'a RestState,
    caller: &'a Caller,
    catalog: &'a Catalog,
    auto_create: HashMap<String, Result<Target, ApiError>>,
    templates: Option<Templates>,
    /// Whether the writes are `_bulk` items (their refusals are worded for bulk items).
    bulk: bool,
}

impl<'a> Targets<'a> {
    /// Targets of `caller`'s writes, resolved against `catalog`.
    pub fn new(state: &'a RestState, caller: &'a Caller, catalog: &'a Catalog) -> Targets<'a> {
        Targets { state, caller, catalog, auto_create: HashMap::new(), templates: None, bulk: false }
    }

    /// Targets of `_bulk` items.
    pub fn in_bulk(mut self) -> Targets<'a> {
        self.bulk = true;
        self
    }

    /// Authorizes the write itself (not the creation of a missing index) on `on`.
    fn authorize_write(&self, on: &str, kind: WriteKind) -> Result<(), ApiError> {
        let one = [on.to_owned()];
        match kind {
            WriteKind::Index => self.caller.authorize_overwrite(self.state, on),
            WriteKind::Create => {
                self.caller.authorize_each(self.state, &[Action::IndexDoc, Action::CreateDoc], &one)
            }
            WriteKind::Delete => self.caller.authorize(self.state, Action::DeleteDoc, &one),
            WriteKind::Update => {
                self.caller.authorize(self.state, Action::UpdateDoc, &one)?;
                // Under field- or document-level security an update could drop what the
                // caller cannot see: Elasticsearch refuses it.
                crate::restrict::refuse_update(self.state, self.caller, self.catalog, on, self.bulk)
            }
        }
    }

    /// Resolves `name` (an index, an alias, a data stream, or a new name) and authorizes a
    /// write of `kind` on it, as Elasticsearch does: the request-level action on the concrete
    /// index (on a data stream, on its name), then the operation's own action, then the
    /// creation of a missing index or data stream.
    pub fn authorize(&mut self, name: &str, kind: WriteKind) -> Result<Target, ApiError> {
        if let Some(backing) = self.catalog.data_stream(name) {
            if kind != WriteKind::Create {
                return Err(only_create_in_streams());
            }
            self.authorize_write(name, kind)?;
            let index = backing.last().cloned().unwrap_or_default();
            crate::blocks::check(self.catalog, std::slice::from_ref(&index), crate::blocks::Level::Write)?;
            return Ok(Target { index, create: None, data_stream: Some(name.to_owned()) });
        }
        let target = self.catalog.write_target(name)?;
        if let Some(index) = target {
            self.authorize_write(&index, kind)?;
            crate::blocks::check(self.catalog, std::slice::from_ref(&index), crate::blocks::Level::Write)?;
            return Ok(Target { index, create: None, data_stream: None });
        }
        if kind == WriteKind::Delete {
            self.authorize_write(name, kind)?;
            // Deletes never create an index; the service answers `index_not_found_exception`
            // unless an earlier item of the same request created it.
            return Ok(Target { index: name.to_owned(), create: None, data_stream: None });
        }
        let stream = self.templates()?.find(name, false).is_some_and(|(_, t)| t.data_stream.is_some());
        if stream && kind != WriteKind::Create {
            return Err(only_create_in_streams());
        }
        self.authorize_write(name, kind)?;
        if let Some(decided) = self.auto_create.get(name) {
            return decided.clone();
        }
        let decided = self.new_target(name, stream);
        self.auto_create.insert(name.to_owned(), decided.clone());
        decided
    }

    /// Every template, read once per request.
    fn templates(&mut self) -> Result<&Templates, ApiError> {
        if self.templates.is_none() {
            self.templates = Some(Templates::load(self.state)?);
        }
        self.templates.as_ref().ok_or_else(|| ApiError::store("templates were not read"))
    }

    /// The target of a write to `name`, which does not exist, once the caller may create it:
    /// a new index, or a new data stream when the matching template makes one (`stream`).
    fn new_target(&mut self, name: &str, stream: bool) -> Result<Target, ApiError> {
        validate_index_name(name)?;
        let (state, caller) = (self.state, self.caller);
        if !(caller.allows(state, Action::AutoCreateIndex, name)
            || caller.allows(state, Action::CreateIndex, name))
        {
            caller.authorize(state, Action::AutoCreateIndex, &[name.to_owned()])?;
        }
        let templates = self.templates()?;
        if stream {
            let (index, new) = crate::api::data_stream::first_backing(templates, name)?;
            return Ok(Target { index, create: Some(new), data_stream: Some(name.to_owned()) });
        }
        let new = templates.apply(name, NewIndex::default())?;
        Ok(Target { index: name.to_owned(), create: Some(new), data_stream: None })
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

/// 400 for a data stream document without `@timestamp`, as Elasticsearch's document parser
/// words it.
pub fn check_timestamp(source: &Value) -> Result<(), ApiError> {
    if source.get(TIMESTAMP_FIELD).is_some_and(|v| !v.is_null()) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorType::DocumentParsing,
        format!("failed to parse: data stream timestamp field [{TIMESTAMP_FIELD}] is missing"),
    ))
}

/// Refuses versioning parameters this node does not implement (`version`, `version_type`).
pub fn refuse_unsupported(get: impl Fn(&str) -> Option<String>) -> Result<(), ApiError> {
    if let Some(t) = get("version_type").filter(|t| t != "internal") {
        return Err(ApiError::illegal_argument(format!("version_type [{t}] is not supported")));
    }
    if get("version").is_some() {
        return Err(crate::body::validation(
            "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead",
        ));
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
