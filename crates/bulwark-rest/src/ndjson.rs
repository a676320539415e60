//! Newline-delimited JSON bodies (`_bulk`, `_msearch`): lines, with their numbers for error
//! messages, and the checks Elasticsearch makes on the body as a whole.

use crate::ErrorType;
use serde_json::{Map, Value};

use crate::ApiError;
use crate::body::validation;

/// One non-blank line of an NDJSON body.
pub struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    pub bytes: &'a [u8],
}

/// The non-blank lines of `body`, which must not be empty and must end with a newline.
pub fn lines(body: &[u8]) -> Result<Vec<Line<'_>>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(validation("no requests added"));
    }
    if body.last() != Some(&b'\n') {
        return Err(ApiError::illegal_argument("The bulk request must be terminated by a newline [\\n]"));
    }
    Ok(body
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, bytes)| Line { number: i + 1, bytes })
        .collect())
}

/// The kind of JSON token a value starts with, as Elasticsearch names it in messages.
pub fn token(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

/// Parses an action or header line: a JSON object, or a 400 naming the line.
pub fn object_line(line: &Line<'_>, what: &str) -> Result<Map<String, Value>, ApiError> {
    match crate::json::parse(line.bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ApiError::illegal_argument(format!(
            "Malformed {what} line [{}], expected START_OBJECT or END_OBJECT but found [{}]",
            line.number,
            token(&other)
        ))),
        Err(e) => Err(ApiError::new(
            ErrorType::XContentParse,
            format!("[{}:{}] Malformed {what} line: {e}", line.number, e.column()),
        )),
    }
}
