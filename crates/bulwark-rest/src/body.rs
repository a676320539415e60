//! Request bodies: JSON objects parsed with Elasticsearch's error types.

use crate::ErrorType;
use axum::body::Bytes;
use serde_json::{Map, Value};

use crate::ApiError;

/// The body as a JSON object; `required` says whether an empty body is an error.
pub fn object(bytes: &Bytes, required: bool) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ApiError::new(
                ErrorType::ActionRequestValidation,
                "Validation Failed: 1: request body is required;",
            ))
        } else {
            Ok(Map::new())
        };
    }
    match crate::json::parse(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::parse("request body must be a JSON object")),
        Err(e) => Err(duplicate_field(&e)
            .unwrap_or_else(|| ApiError::parse(format!("failed to parse the request body: {e}")))),
    }
}

/// Elasticsearch's answer to an object that names a field twice, when that is what `e` is.
pub fn duplicate_field(e: &serde_json::Error) -> Option<ApiError> {
    let message = e.to_string();
    let field = message.strip_prefix("Duplicate field ")?;
    let field = field.rsplit_once(" at line ").map_or(field, |(f, _)| f);
    Some(ApiError::new(
        ErrorType::XContentParse,
        format!("[{}:{}] Duplicate field {field}", e.line(), e.column()),
    ))
}

/// A validation failure in Elasticsearch's shape.
pub fn validation(message: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorType::ActionRequestValidation, format!("Validation Failed: 1: {message};"))
}

/// Refuses fields a request object does not define.
pub fn known_fields(m: &Map<String, Value>, object: &str, known: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::new(ErrorType::XContentParse, format!("[{object}] unknown field [{k}]"))),
        None => Ok(()),
    }
}

/// An optional boolean field: only JSON `true` and `false` (Elasticsearch refuses `"false"`,
/// `0` and the like rather than guessing).
pub fn opt_bool(m: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::parse(format!(
            "expected field [{key}] to be of type boolean, but found [{}] instead",
            crate::ndjson::token(other)
        ))),
    }
}

/// Refuses metadata keys that start with `_` (reserved by Elasticsearch).
pub fn user_metadata(m: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ApiError> {
    let md = opt_object(m, "metadata")?;
    if md.as_ref().is_some_and(|md| md.keys().any(|k| k.starts_with('_'))) {
        return Err(validation("metadata keys may not start with [_]"));
    }
    Ok(md)
}

/// An optional string field.
pub fn opt_string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::parse(format!("[{key}] must be a string"))),
    }
}

/// An optional list of strings.
pub fn opt_strings(m: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::parse(format!("[{key}] must hold strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(_) => Err(ApiError::parse(format!("[{key}] must be an array of strings"))),
    }
}

/// An optional object.
pub fn opt_object(m: &Map<String, Value>, key: &str) -> Result<Option<Map<String, Value>>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o.clone())),
        Some(_) => Err(ApiError::parse(format!("[{key}] must be an object"))),
    }
}
