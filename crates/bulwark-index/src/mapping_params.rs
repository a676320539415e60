//! Every mapping parameter this node accepts, and what it does with it: the one list the mapping
//! parser checks keys against (a key that is not here is refused, naming it) and the list the
//! "nothing accepted is silently ignored" test enumerates (a key here without a test row fails
//! that test).

use serde_json::Value;

use crate::error::{IndexError, Result};
use crate::field_type::FieldType;

/// How the node treats a mapping parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamRule {
    /// Acted on: it changes what is indexed or how it is searched.
    Honoured,
    /// Kept and returned by `GET _mapping`; no answer depends on it, in Elasticsearch either
    /// (metadata, or a speed-up that leaves every result the same).
    Kept,
    /// Only these values (as JSON text: `true`, `1.0`, `standard`), the node's fixed behaviour;
    /// any other value is refused naming the parameter. An empty list refuses the parameter.
    Only(&'static [&'static str]),
    /// Only the default value of the field's type (see [`type_default`]).
    TypeDefault,
}

/// Parameters of leaf fields (`keyword`, `text`, numbers ...).
pub const LEAF_PARAMS: &[(&str, ParamRule)] = &[
    ("type", ParamRule::Honoured),
    ("fields", ParamRule::Honoured),
    ("coerce", ParamRule::Honoured),
    ("format", ParamRule::Honoured),
    ("ignore_above", ParamRule::Honoured),
    ("ignore_malformed", ParamRule::Honoured),
    // `false` keeps a text field out of the index; exact fields stay searchable, as in
    // Elasticsearch with doc values (always on here).
    ("index", ParamRule::Honoured),
    ("null_value", ParamRule::Honoured),
    ("scaling_factor", ParamRule::Honoured),
    ("meta", ParamRule::Kept),
    ("eager_global_ordinals", ParamRule::Kept),
    ("index_phrases", ParamRule::Kept),
    ("index_prefixes", ParamRule::Kept),
    ("analyzer", ParamRule::Only(&["standard"])),
    ("search_analyzer", ParamRule::Only(&["standard"])),
    ("search_quote_analyzer", ParamRule::Only(&["standard"])),
    ("normalizer", ParamRule::Only(&[])),
    ("boost", ParamRule::Only(&["1", "1.0"])),
    ("copy_to", ParamRule::Only(&[])),
    ("doc_values", ParamRule::Only(&["true"])),
    ("store", ParamRule::Only(&["false"])),
    ("norms", ParamRule::TypeDefault),
    ("index_options", ParamRule::TypeDefault),
    ("similarity", ParamRule::Only(&["BM25"])),
    ("term_vector", ParamRule::Only(&["no"])),
    ("position_increment_gap", ParamRule::Only(&["100"])),
    ("fielddata", ParamRule::Only(&["false"])),
    ("fielddata_frequency_filter", ParamRule::Only(&[])),
    ("split_queries_on_whitespace", ParamRule::Only(&["false"])),
    ("locale", ParamRule::Only(&[])),
    ("script", ParamRule::Only(&[])),
    ("on_script_error", ParamRule::Only(&[])),
    ("time_series_dimension", ParamRule::Only(&["false"])),
    ("time_series_metric", ParamRule::Only(&[])),
    ("value", ParamRule::Only(&[])),
];

/// Parameters of objects (`object`, `nested`).
pub const OBJECT_PARAMS: &[(&str, ParamRule)] = &[
    ("type", ParamRule::Honoured),
    ("properties", ParamRule::Honoured),
    ("dynamic", ParamRule::Honoured),
    ("enabled", ParamRule::Honoured),
    ("subobjects", ParamRule::Only(&["true"])),
    // Nested objects are flattened into their parent here.
    ("include_in_parent", ParamRule::Only(&["true"])),
    ("include_in_root", ParamRule::Only(&["true"])),
];

/// Keys of the root of a mapping.
pub const ROOT_PARAMS: &[(&str, ParamRule)] = &[
    ("properties", ParamRule::Honoured),
    ("dynamic", ParamRule::Honoured),
    ("date_detection", ParamRule::Honoured),
    ("numeric_detection", ParamRule::Honoured),
    // Only the default: the whole source stored and returned (checked key by key).
    ("_source", ParamRule::Honoured),
    ("_meta", ParamRule::Kept),
    ("_routing", ParamRule::Only(&[r#"{"required":false}"#])),
    ("dynamic_date_formats", ParamRule::Only(&[])),
    ("dynamic_templates", ParamRule::Honoured),
    ("_data_stream_timestamp", ParamRule::Only(&[])),
    ("subobjects", ParamRule::Only(&["true"])),
];

/// The rule of `key` in `table`.
pub fn rule(table: &[(&str, ParamRule)], key: &str) -> Option<ParamRule> {
    table.iter().find(|(k, _)| *k == key).map(|(_, r)| *r)
}

/// The only value `param` may take on a field of type `ty` under [`ParamRule::TypeDefault`].
pub fn type_default(param: &str, ty: FieldType) -> &'static str {
    let text = matches!(ty, FieldType::Text | FieldType::MatchOnlyText);
    match (param, text) {
        ("norms", true) => "true",
        ("norms", false) => "false",
        ("index_options", true) => "positions",
        _ => "docs",
    }
}

/// A value as the `Only` lists spell it: strings bare, everything else as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Checks `param: v` on field `name` (of type `ty`, `None` at the root) against its rule.
pub(crate) fn check_fixed(
    rule: ParamRule,
    name: &str,
    ty: Option<FieldType>,
    param: &str,
    v: &Value,
) -> Result<()> {
    let allowed: &[&str] = match rule {
        ParamRule::Honoured | ParamRule::Kept => return Ok(()),
        ParamRule::Only(values) => values,
        ParamRule::TypeDefault => &[type_default(param, ty.unwrap_or(FieldType::Object))],
    };
    let text = value_text(v);
    if allowed.contains(&text.as_str()) {
        return Ok(());
    }
    let on = match ty {
        Some(ty) => format!("on mapper [{name}] of type [{ty}]"),
        None => "in the root mapping".to_owned(),
    };
    let only = if allowed.is_empty() {
        "this node does not support it".to_owned()
    } else {
        format!("this node supports only [{}]", allowed.join("], ["))
    };
    Err(IndexError::mapper(format!(
        "Failed to parse mapping: parameter [{param}] with value [{text}] {on} is not supported: {only}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixed_values_are_checked() {
        let r = rule(LEAF_PARAMS, "doc_values").unwrap();
        assert!(check_fixed(r, "f", Some(FieldType::Keyword), "doc_values", &json!(true)).is_ok());
        let e = check_fixed(r, "f", Some(FieldType::Keyword), "doc_values", &json!(false)).unwrap_err();
        assert!(e.to_string().contains("[doc_values]"), "{e}");
        let r = rule(LEAF_PARAMS, "norms").unwrap();
        assert!(check_fixed(r, "f", Some(FieldType::Text), "norms", &json!(true)).is_ok());
        assert!(check_fixed(r, "f", Some(FieldType::Keyword), "norms", &json!(true)).is_err());
        let r = rule(ROOT_PARAMS, "_routing").unwrap();
        assert!(check_fixed(r, "_doc", None, "_routing", &json!({"required": false})).is_ok());
        assert!(check_fixed(r, "_doc", None, "_routing", &json!({"required": true})).is_err());
        assert!(rule(LEAF_PARAMS, "nonsense").is_none());
    }

    #[test]
    fn no_key_is_listed_twice() {
        for table in [LEAF_PARAMS, OBJECT_PARAMS, ROOT_PARAMS] {
            for (i, (k, _)) in table.iter().enumerate() {
                assert!(!table[i + 1..].iter().any(|(other, _)| other == k), "{k}");
            }
        }
    }
}
