//! Reading query bodies: parameters with type checks, single-field bodies, value helpers.

use serde_json::{Map, Value};

use crate::error::{IndexError, Result};
use crate::query::dsl::{MinShouldMatch, Operator};

/// Elasticsearch's name for the JSON token a value starts with.
pub(crate) fn token(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Number(_) => "VALUE_NUMBER",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

/// A string, number or boolean as a string.
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The parameters of one query body, with checks for unknown and ill-typed ones.
pub(crate) struct Params<'a> {
    query: &'static str,
    obj: &'a Map<String, Value>,
    allowed: Vec<&'static str>,
}

impl<'a> Params<'a> {
    pub(crate) fn new(query: &'static str, body: &'a Value) -> Result<Params<'a>> {
        match body {
            Value::Object(obj) => Ok(Params { query, obj, allowed: vec!["_name"] }),
            other => Err(IndexError::parsing(format!(
                "[{query}] query malformed, no start_object after query name, found [{}]",
                token(other)
            ))),
        }
    }

    pub(crate) fn get(&self, key: &'static str) -> Option<&'a Value> {
        self.obj.get(key)
    }

    /// Declares `keys` known without reading them: each is accepted only with a value that
    /// asks for what the node does anyway (see [`no_op`]) and refused naming it otherwise.
    pub(crate) fn ignore(&mut self, keys: &[&'static str]) {
        self.allowed.extend_from_slice(keys);
    }

    pub(crate) fn required_str(&self, key: &'static str) -> Result<String> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(IndexError::parsing(format!(
                "[{}] [{key}] must be a string, found [{}]",
                self.query,
                token(v)
            ))),
            None => Err(IndexError::parsing(format!("[{}] must be provided with a [{key}]", self.query))),
        }
    }

    pub(crate) fn opt_str(&self, key: &'static str) -> Result<Option<String>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(IndexError::parsing(format!(
                "[{}] [{key}] must be a string, found [{}]",
                self.query,
                token(v)
            ))),
        }
    }

    pub(crate) fn f32_or(&self, key: &'static str, default: f32) -> Result<f32> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => number(v).map(|f| f as f32).ok_or_else(|| {
                IndexError::parsing(format!(
                    "[{}] [{key}] must be a number, found [{}]",
                    self.query,
                    token(v)
                ))
            }),
        }
    }

    pub(crate) fn bool_or(&self, key: &'static str, default: bool) -> Result<bool> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            Some(v) => Err(IndexError::parsing(format!(
                "[{}] [{key}] must be a boolean, found [{}]",
                self.query,
                token(v)
            ))),
        }
    }

    pub(crate) fn boost(&self) -> Result<f32> {
        let b = self.f32_or("boost", 1.0)?;
        if b < 0.0 || !b.is_finite() {
            return Err(IndexError::illegal(format!("negative [boost] are not allowed. [{b}]")));
        }
        Ok(b)
    }

    pub(crate) fn operator(&self) -> Result<Operator> {
        match self.opt_str("operator")?.or(self.opt_str("default_operator")?) {
            None => Ok(Operator::Or),
            Some(s) if s.eq_ignore_ascii_case("or") => Ok(Operator::Or),
            Some(s) if s.eq_ignore_ascii_case("and") => Ok(Operator::And),
            Some(s) => Err(IndexError::parsing(format!(
                "[{}] operator [{s}] is not allowed, use [and] or [or]",
                self.query
            ))),
        }
    }

    pub(crate) fn msm(&self) -> Result<Option<MinShouldMatch>> {
        match self.get("minimum_should_match") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_i64().map(MinShouldMatch::Count)),
            Some(Value::String(s)) => {
                let s = s.trim();
                if let Some(p) = s.strip_suffix('%') {
                    p.trim()
                        .parse::<f64>()
                        .map(|p| Some(MinShouldMatch::Percent(p)))
                        .map_err(|_| self.bad_msm(s))
                } else if let Ok(c) = s.parse::<i64>() {
                    Ok(Some(MinShouldMatch::Count(c)))
                } else {
                    Err(self.bad_msm(s))
                }
            }
            Some(v) => Err(self.bad_msm(&v.to_string())),
        }
    }

    fn bad_msm(&self, s: &str) -> IndexError {
        IndexError::parsing(format!("[{}] unsupported minimum_should_match [{s}]", self.query))
    }

    /// Fails on any key not in `known` (and not declared with [`Params::ignore`]).
    pub(crate) fn only(&self, known: &[&str]) -> Result<()> {
        for k in self.obj.keys() {
            if !known.contains(&k.as_str()) && !self.allowed.contains(&k.as_str()) {
                return Err(IndexError::parsing(format!("[{}] query does not support [{k}]", self.query)));
            }
        }
        for (k, v) in self.obj {
            if !known.contains(&k.as_str()) && k != "_name" && !no_op(k, v) {
                return Err(IndexError::parsing(format!(
                    "[{}] query does not support [{k}] set to [{}]: this node only does what its default asks for",
                    self.query,
                    scalar_string(v).unwrap_or_else(|| v.to_string())
                )));
            }
        }
        Ok(())
    }
}

/// Whether a parameter the node does not read asks for nothing it does not do anyway: one
/// analyzer (`standard`), no fuzzy matching, every operator, UTC dates, `best_fields`. The others
/// (expansion limits, rewrite methods, tie breakers, synonym phrases, `lenient`) tune cost or
/// scores only.
fn no_op(key: &str, v: &Value) -> bool {
    let s = scalar_string(v).unwrap_or_default().to_ascii_lowercase();
    match key {
        "analyzer" | "quote_analyzer" => s == "standard",
        "fuzziness" => s == "0",
        "zero_terms_query" => s == "none",
        "relation" => s == "intersects",
        "flags" => s == "all",
        "type" => s == "best_fields",
        "time_zone" => matches!(s.as_str(), "utc" | "z" | "+00:00" | "etc/utc" | "gmt"),
        "allow_leading_wildcard" | "adjust_pure_negative" | "enable_position_increments" => s == "true",
        "quote_field_suffix" => s.is_empty(),
        _ => true,
    }
}

/// A JSON number or numeric string.
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Splits a single-field query body (`{"field": ..., "boost": 1}`) into the field name and its
/// value.
pub(crate) fn single_field<'a>(
    query: &'static str,
    body: &'a Value,
) -> Result<(String, &'a Value, Option<f32>)> {
    let Value::Object(obj) = body else {
        return Err(IndexError::parsing(format!(
            "[{query}] query malformed, no start_object after query name, found [{}]",
            token(body)
        )));
    };
    let mut field: Option<(&String, &Value)> = None;
    let mut boost = None;
    for (k, v) in obj {
        match (k.as_str(), v) {
            ("_name", _) => {}
            ("boost", v) if !v.is_object() => {
                boost = Some(
                    number(v)
                        .ok_or_else(|| IndexError::parsing(format!("[{query}] [boost] must be a number")))?
                        as f32,
                );
            }
            _ => {
                if let Some((prev, _)) = field {
                    return Err(IndexError::parsing(format!(
                        "[{query}] query doesn't support multiple fields, found [{prev}] and [{k}]"
                    )));
                }
                field = Some((k, v));
            }
        }
    }
    let (f, v) =
        field.ok_or_else(|| IndexError::parsing(format!("[{query}] query malformed, no field specified")))?;
    Ok((f.clone(), v, boost))
}

pub(crate) fn outer_boost(p: &Params<'_>, outer: Option<f32>) -> Result<f32> {
    let b = p.boost()?;
    Ok(outer.map_or(b, |o| o * b))
}

pub(crate) fn checked_scalar(query: &str, v: &Value) -> Result<Value> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(v.clone()),
        other => {
            Err(IndexError::parsing(format!("[{query}] unknown token [{}] after [query]", token(other))))
        }
    }
}

/// Reads `fields` of `multi_match`/`query_string`: `"f"`, `["f^2", "g*"]`.
pub(crate) fn field_list(query: &str, v: Option<&Value>) -> Result<Vec<(String, f32)>> {
    let items: Vec<&Value> = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::String(_)) => vec![s],
        Some(other) => {
            return Err(IndexError::parsing(format!(
                "[{query}] query does not support [fields] of type [{}]",
                token(other)
            )));
        }
    };
    items
        .into_iter()
        .map(|i| {
            let s =
                i.as_str().ok_or_else(|| IndexError::parsing(format!("[{query}] fields must be strings")))?;
            Ok(match s.split_once('^') {
                Some((f, b)) => (
                    f.to_string(),
                    b.parse::<f32>().ok().filter(|b| b.is_finite() && *b >= 0.0).ok_or_else(|| {
                        IndexError::parsing(format!("[{query}] invalid boost in field [{s}]"))
                    })?,
                ),
                None => (s.to_string(), 1.0),
            })
        })
        .collect()
}

pub(crate) fn term_value(query: &str, v: &Value) -> Result<Value> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(v.clone()),
        Value::Array(_) => {
            Err(IndexError::parsing(format!("[{query}] query does not support array of values")))
        }
        other => {
            Err(IndexError::parsing(format!("[{query}] query does not support [{}] values", token(other))))
        }
    }
}
