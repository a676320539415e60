//! `dynamic_templates`: how dynamic mapping maps a new field when a template matches it
//! (`match`, `unmatch`, `path_match`, `path_unmatch` with `*` wildcards, `match_mapping_type`),
//! first matching template wins, its `mapping` used with `{name}` and `{dynamic_type}`
//! replaced. `match_pattern: regex` and `runtime` are refused (mapper_parsing_exception).

use bulwark_pattern::{Syntax, matches};
use serde_json::Value;

use crate::error::{IndexError, Result};
use crate::mapping::FieldMapping;

const TYPES: &[&str] = &["object", "string", "long", "double", "boolean", "date", "binary"];
const PARAMS: &[&str] =
    &["match", "unmatch", "path_match", "path_unmatch", "match_mapping_type", "match_pattern", "mapping"];

/// One checked template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DynamicTemplate {
    name: String,
    matches: Vec<String>,
    unmatch: Vec<String>,
    path_match: Vec<String>,
    path_unmatch: Vec<String>,
    types: Vec<String>,
    mapping: Value,
}

fn strings(name: &str, key: &str, v: &Value) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str().map(str::to_owned).ok_or_else(|| {
                    IndexError::mapper(format!(
                        "dynamic template [{name}]: [{key}] must be a string or a list of strings"
                    ))
                })
            })
            .collect(),
        _ => Err(IndexError::mapper(format!(
            "dynamic template [{name}]: [{key}] must be a string or a list of strings"
        ))),
    }
}

/// The mapping type a new value has, as `match_mapping_type` names it.
pub(crate) fn value_type(v: &Value, date: bool) -> Option<&'static str> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "long",
        Value::Number(_) => "double",
        Value::String(_) if date => "date",
        Value::String(_) => "string",
        Value::Array(a) => return a.iter().find_map(|x| value_type(x, date)),
        Value::Object(_) => "object",
    })
}

/// The field type `{dynamic_type}` stands for.
fn default_type(t: &str) -> &'static str {
    match t {
        "string" => "text",
        "long" => "long",
        "double" => "float",
        "boolean" => "boolean",
        "date" => "date",
        "binary" => "binary",
        _ => "object",
    }
}

/// The template's mapping for a field `name` of type `ty` (the type defaults to the dynamic one).
fn instantiate(mapping: &Value, name: &str, ty: &str) -> Value {
    let mut v = substitute(mapping, name, ty);
    if let Value::Object(m) = &mut v
        && !m.contains_key("type")
    {
        m.insert("type".into(), Value::String(default_type(ty).into()));
    }
    v
}

fn substitute(v: &Value, name: &str, ty: &str) -> Value {
    match v {
        Value::String(s) => {
            Value::String(s.replace("{name}", name).replace("{dynamic_type}", default_type(ty)))
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, name, ty)).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), substitute(x, name, ty))).collect())
        }
        other => other.clone(),
    }
}

/// Parses and checks `dynamic_templates`.
pub(crate) fn parse(v: &Value) -> Result<Vec<DynamicTemplate>> {
    let Value::Array(list) = v else {
        return Err(IndexError::mapper("[dynamic_templates] must be a list of named templates"));
    };
    let mut out = Vec::new();
    for entry in list {
        let Some((name, Value::Object(def))) =
            entry.as_object().filter(|m| m.len() == 1).and_then(|m| m.iter().next())
        else {
            return Err(IndexError::mapper("a dynamic template must be an object with one named template"));
        };
        if let Some(k) = def.keys().find(|k| !PARAMS.contains(&k.as_str())) {
            return Err(IndexError::mapper(format!(
                "Illegal dynamic template parameter: [{k}] in dynamic template [{name}] (this node supports: {})",
                PARAMS.join(", ")
            )));
        }
        if let Some(p) = def.get("match_pattern").filter(|p| p.as_str() != Some("simple")) {
            return Err(IndexError::mapper(format!(
                "dynamic template [{name}]: [match_pattern] [{}] is not supported on this node (only simple)",
                p.as_str().unwrap_or_default()
            )));
        }
        let list = |k: &str| def.get(k).map_or(Ok(Vec::new()), |x| strings(name, k, x));
        let types = list("match_mapping_type")?;
        if let Some(t) = types.iter().find(|t| *t != "*" && !TYPES.contains(&t.as_str())) {
            return Err(IndexError::mapper(format!(
                "No field type matched on [{t}], possible values are [{}]",
                TYPES.join(", ")
            )));
        }
        let Some(mapping) = def.get("mapping").filter(|m| m.is_object()) else {
            return Err(IndexError::mapper(format!(
                "template [{name}] must have either mapping or runtime set"
            )));
        };
        // The mapping must make a field for every type the template may match.
        let check_types: Vec<&str> = if types.is_empty() || types.iter().any(|t| t == "*") {
            vec!["string"]
        } else {
            types.iter().map(String::as_str).collect()
        };
        for t in check_types {
            FieldMapping::parse_dynamic(name, &instantiate(mapping, "__name__", t)).map_err(|e| {
                IndexError::mapper(format!("dynamic template [{name}] has invalid content: {e}"))
            })?;
        }
        out.push(DynamicTemplate {
            name: name.clone(),
            matches: list("match")?,
            unmatch: list("unmatch")?,
            path_match: list("path_match")?,
            path_unmatch: list("path_unmatch")?,
            types,
            mapping: mapping.clone(),
        });
    }
    Ok(out)
}

fn any(patterns: &[String], text: &str) -> bool {
    patterns.iter().any(|p| matches(p, text, Syntax::STAR))
}

/// The mapping of the first template matching a new field at `path` whose type is `ty`.
pub(crate) fn find(templates: &[DynamicTemplate], path: &[String], ty: &str) -> Result<Option<FieldMapping>> {
    let (Some(leaf), full) = (path.last(), path.join(".")) else { return Ok(None) };
    for t in templates {
        let type_ok = if t.types.is_empty() {
            ty != "object"
        } else {
            t.types.iter().any(|x| x == ty || (x == "*" && ty != "object"))
        };
        if !type_ok
            || (!t.matches.is_empty() && !any(&t.matches, leaf))
            || any(&t.unmatch, leaf)
            || (!t.path_match.is_empty() && !any(&t.path_match, &full))
            || any(&t.path_unmatch, &full)
        {
            continue;
        }
        let def = instantiate(&t.mapping, leaf, ty);
        return FieldMapping::parse_dynamic(&full, &def).map(Some).map_err(|e| {
            IndexError::mapper(format!("dynamic template [{}] cannot map [{full}]: {e}", t.name))
        });
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_matching_template_wins() {
        let t = parse(&json!([
            {"labels": {"path_match": "labels.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
            {"longs_as_int": {"match": "n_*", "match_mapping_type": "long", "mapping": {"type": "integer"}}},
            {"strings": {"match_mapping_type": "string", "unmatch": "msg", "mapping": {"type": "keyword", "ignore_above": 1024}}}
        ]))
        .unwrap();
        let p = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
        let ty =
            |path: &str, v: &str| find(&t, &p(path), v).unwrap().map(|f| f.field_type().as_str().to_owned());
        assert_eq!(ty("labels.env", "string").as_deref(), Some("keyword"));
        assert_eq!(ty("a.n_count", "long").as_deref(), Some("integer"));
        assert_eq!(ty("a.count", "long"), None);
        assert_eq!(ty("msg", "string"), None);
        assert!(parse(&json!([{"x": {"match": "*", "mapping": {"type": "nope"}}}])).is_err());
        assert!(parse(&json!([{"x": {"match_pattern": "regex", "match": "a", "mapping": {}}}])).is_err());
        assert!(parse(&json!([{"x": {"runtime": {}}}])).is_err());
        assert!(
            parse(&json!([{"x": {"match_mapping_type": "int", "mapping": {}}}]))
                .unwrap_err()
                .to_string()
                .contains("No field type matched on [int]")
        );
    }
}
