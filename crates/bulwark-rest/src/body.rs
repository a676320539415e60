//! Request bodies: JSON objects parsed with Elasticsearch's error types.

use axum::body::Bytes;
use serde_json::{Map, Value};

use crate::ApiError;

/// The body as a JSON object; `required` says whether an empty body is an error.
pub fn object(bytes: &Bytes, required: bool) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                "Validation Failed: 1: request body is required;",
            ))
        } else {
            Ok(Map::new())
        };
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::parse("request body must be a JSON object")),
        Err(e) => Err(ApiError::parse(format!("failed to parse the request body: {e}"))),
    }
}

/// A validation failure in Elasticsearch's shape.
pub fn validation(message: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "action_request_validation_exception",
        format!("Validation Failed: 1: {message};"),
    )
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
