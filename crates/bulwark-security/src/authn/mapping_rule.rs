//! The rules of a role mapping: Elasticsearch's expression language over a user's `username`,
//! `dn`, `groups`, `realm.name` and `metadata.*`, with `field`, `any`, `all` and `except` (only
//! inside `all`). Parsed strictly, with Elasticsearch's `parse_exception` wording, so a mapping
//! that would never match as written is refused rather than stored.

use serde_json::{Map, Value};

use crate::authz::IndexPattern;

/// What rules are evaluated against (Elasticsearch's `UserRoleMapper.UserData`).
#[derive(Debug, Clone, Default)]
pub struct UserData {
    /// `username`.
    pub username: String,
    /// `dn`: the subject DN (PKI users).
    pub dn: Option<String>,
    /// `groups`.
    pub groups: Vec<String>,
    /// `metadata.*`.
    pub metadata: Map<String, Value>,
    /// `realm.name`.
    pub realm_name: String,
}

/// One value a `field` rule accepts.
#[derive(Debug, Clone)]
pub enum FieldValue {
    Null,
    Bool(bool),
    Number(i64),
    /// A literal string.
    Exact(String),
    /// A string with `*` (a wildcard, as Elasticsearch's simple match) or a `/regex/`.
    Pattern(String, IndexPattern),
}

/// A parsed rule.
#[derive(Debug, Clone)]
pub enum Rule {
    /// `field`: the user's field matches one of the values.
    Field {
        /// `username`, `dn`, `groups`, `metadata.*` or `realm.name`.
        field: String,
        /// The values any of which matches.
        values: Vec<FieldValue>,
    },
    /// `any`: one of the rules matches.
    Any(Vec<Rule>),
    /// `all`: every rule matches.
    All(Vec<Rule>),
    /// `except`: the rule does not match (only inside `all`).
    Except(Box<Rule>),
}

/// The JSON token a value starts with, as Elasticsearch names it in parse errors.
pub(super) fn token(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Number(_) => "VALUE_NUMBER",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

fn fail(message: String) -> String {
    format!("failed to parse rules expression. {message}")
}

impl Rule {
    /// Parses the `rules` object of a mapping; `Err` is the `parse_exception` reason.
    pub fn parse(v: &Value) -> Result<Rule, String> {
        Self::object("rules", v, false)
    }

    fn object(name: &str, v: &Value, allow_except: bool) -> Result<Rule, String> {
        let Value::Object(o) = v else {
            return Err(fail(format!("expected [{name}] to be an object but found [{}] instead", token(v))));
        };
        let mut fields = o.iter();
        let Some((key, body)) = fields.next() else {
            return Err(fail(format!("object [{name}] does not contain any fields")));
        };
        if fields.next().is_some() {
            return Err(fail(format!("object [{name}] contains multiple fields")));
        }
        match key.as_str() {
            "any" => Ok(Rule::Any(Self::array("any", body, false)?)),
            "all" => Ok(Rule::All(Self::array("all", body, true)?)),
            "field" => Self::field(body),
            "except" if allow_except => {
                if !body.is_object() {
                    return Err(fail(format!("expected an object but found [{}] instead", token(body))));
                }
                Ok(Rule::Except(Box::new(Self::object("except", body, false)?)))
            }
            "except" => Err(fail(format!("field [except] is not allowed within [{name}]"))),
            other => Err(fail(format!("field [{other}] is not recognised in object [{name}]"))),
        }
    }

    fn array(name: &str, v: &Value, allow_except: bool) -> Result<Vec<Rule>, String> {
        let Value::Array(items) = v else {
            return Err(fail(format!("field [{name}] requires an array")));
        };
        items.iter().map(|i| Self::object(name, i, allow_except)).collect()
    }

    fn field(v: &Value) -> Result<Rule, String> {
        let Value::Object(o) = v else {
            return Err(fail(format!("expected an object but found [{}] instead", token(v))));
        };
        let mut fields = o.iter();
        let Some((field, values)) = fields.next() else {
            return Err(fail("object [field] does not contain any fields".to_owned()));
        };
        if fields.next().is_some() {
            return Err(fail("object [field] contains multiple fields".to_owned()));
        }
        let values = match values {
            Value::Array(a) => a.iter().map(FieldValue::parse).collect::<Result<Vec<_>, _>>()?,
            one => vec![FieldValue::parse(one)?],
        };
        if values.is_empty() {
            return Err(format!("null or empty values for field [{field}]"));
        }
        Ok(Rule::Field { field: field.clone(), values })
    }

    /// Whether the rule holds for `user`.
    pub fn matches(&self, user: &UserData) -> bool {
        match self {
            Rule::Any(rules) => rules.iter().any(|r| r.matches(user)),
            Rule::All(rules) => rules.iter().all(|r| r.matches(user)),
            Rule::Except(rule) => !rule.matches(user),
            Rule::Field { field, values } => {
                let is_dn = field == "dn" || field == "groups";
                let actual = model_values(user, field);
                actual.iter().any(|a| values.iter().any(|v| v.matches(a, is_dn)))
            }
        }
    }
}

/// The values of one model field (an undefined field is a single `null`, as in Elasticsearch).
fn model_values(user: &UserData, field: &str) -> Vec<Value> {
    let found = match field {
        "username" => Some(Value::String(user.username.clone())),
        "dn" => user.dn.clone().map(Value::String),
        "groups" => Some(Value::Array(user.groups.iter().cloned().map(Value::String).collect())),
        "realm.name" => Some(Value::String(user.realm_name.clone())),
        _ => field.strip_prefix("metadata.").and_then(|k| user.metadata.get(k).cloned()),
    };
    match found {
        Some(Value::Array(a)) => a,
        Some(v) => vec![v],
        None => vec![Value::Null],
    }
}

/// A DN in a comparable form: attribute types and values lower-cased, spaces around `,` and `=`
/// dropped (so `CN=Alice, OU=Eng` equals `cn=alice,ou=eng`).
pub fn normalize_dn(dn: &str) -> String {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == ',' {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim(), v.trim()),
            None => p.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

impl FieldValue {
    fn parse(v: &Value) -> Result<FieldValue, String> {
        Ok(match v {
            Value::Null => FieldValue::Null,
            Value::Bool(b) => FieldValue::Bool(*b),
            // Elasticsearch reads numbers as longs.
            Value::Number(n) => {
                FieldValue::Number(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).unwrap_or_default())
            }
            Value::String(s)
                if s.contains('*') || (s.len() > 1 && s.starts_with('/') && s.ends_with('/')) =>
            {
                let p = s.parse::<IndexPattern>().map_err(|e| fail(e.replace("index name ", "")))?;
                FieldValue::Pattern(s.clone(), p)
            }
            Value::String(s) => FieldValue::Exact(s.clone()),
            other => {
                return Err(fail(format!("expected a field value but found [{}] instead", token(other))));
            }
        })
    }

    fn matches(&self, actual: &Value, is_dn: bool) -> bool {
        match (self, actual) {
            (FieldValue::Null, Value::Null) => true,
            (FieldValue::Bool(b), Value::Bool(a)) => a == b,
            (FieldValue::Number(n), Value::Number(a)) => {
                a.as_i64() == Some(*n) || a.as_f64().is_some_and(|f| f == *n as f64)
            }
            (FieldValue::Exact(s), Value::String(a)) => {
                a == s || (is_dn && normalize_dn(a) == normalize_dn(s))
            }
            (FieldValue::Pattern(raw, p), Value::String(a)) => {
                p.matches(a)
                    || (is_dn
                        && !raw.starts_with('/')
                        && bulwark_pattern::matches(
                            &normalize_dn(raw),
                            &normalize_dn(a),
                            bulwark_pattern::Syntax::GLOB,
                        ))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn alice() -> UserData {
        UserData {
            username: "alice".into(),
            dn: Some("CN=alice, OU=eng, O=Example".into()),
            groups: vec!["cn=admins,dc=example,dc=com".into()],
            metadata: json!({"pki_dn": "CN=alice, OU=eng, O=Example", "level": 3, "tags": ["a", "b"], "active": true})
                .as_object()
                .cloned()
                .unwrap(),
            realm_name: "pki1".into(),
        }
    }

    #[test]
    fn rules_evaluate_as_elasticsearch_does() {
        let table: &[(Value, bool)] = &[
            (json!({"field": {"username": "alice"}}), true),
            (json!({"field": {"username": "bob"}}), false),
            (json!({"field": {"username": ["bob", "alice"]}}), true),
            (json!({"field": {"username": "al*"}}), true),
            (json!({"field": {"username": "*"}}), true),
            (json!({"field": {"username": "/a.i.e/"}}), true),
            (json!({"field": {"username": "/b.*/"}}), false),
            (json!({"field": {"username": "ALICE"}}), false),
            (json!({"field": {"dn": "cn=alice,ou=eng,o=example"}}), true),
            (json!({"field": {"dn": "*,ou=eng,o=example"}}), true),
            (json!({"field": {"dn": "*,ou=sales,o=example"}}), false),
            (json!({"field": {"groups": "CN=admins, DC=example, DC=com"}}), true),
            (json!({"field": {"realm.name": "pki1"}}), true),
            (json!({"field": {"realm.name": "pki*"}}), true),
            (json!({"field": {"metadata.level": 3}}), true),
            (json!({"field": {"metadata.level": 4}}), false),
            (json!({"field": {"metadata.tags": "b"}}), true),
            (json!({"field": {"metadata.active": true}}), true),
            (json!({"field": {"metadata.missing": null}}), true),
            (json!({"field": {"metadata.missing": "x"}}), false),
            (json!({"field": {"metadata.pki_dn": "CN=alice, OU=eng, O=Example"}}), true),
            (json!({"any": [{"field": {"username": "bob"}}, {"field": {"realm.name": "pki1"}}]}), true),
            (json!({"any": []}), false),
            (json!({"all": []}), true),
            (
                json!({"all": [{"field": {"username": "alice"}}, {"except": {"field": {"metadata.level": 3}}}]}),
                false,
            ),
            (
                json!({"all": [{"field": {"username": "alice"}}, {"except": {"field": {"username": "bob"}}}]}),
                true,
            ),
        ];
        for (rule, want) in table {
            let r = Rule::parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
            assert_eq!(r.matches(&alice()), *want, "{rule}");
        }
    }

    #[test]
    fn malformed_rules_are_refused_with_elasticsearch_wording() {
        let table: &[(Value, &str)] = &[
            (json!("garbage"), "expected [rules] to be an object but found [VALUE_STRING] instead"),
            (json!({}), "object [rules] does not contain any fields"),
            (json!({"field": {"username": "a"}, "any": []}), "object [rules] contains multiple fields"),
            (json!({"fields": {"username": "a"}}), "field [fields] is not recognised in object [rules]"),
            (json!({"except": {"field": {"username": "a"}}}), "field [except] is not allowed within [rules]"),
            (
                json!({"any": [{"except": {"field": {"username": "a"}}}]}),
                "field [except] is not allowed within [any]",
            ),
            (json!({"any": {"field": {"username": "a"}}}), "field [any] requires an array"),
            (json!({"all": ["x"]}), "expected [all] to be an object but found [VALUE_STRING] instead"),
            (json!({"field": "username"}), "expected an object but found [VALUE_STRING] instead"),
            (
                json!({"field": {"username": {"a": 1}}}),
                "expected a field value but found [START_OBJECT] instead",
            ),
            (json!({"field": {"username": "a", "dn": "b"}}), "object [field] contains multiple fields"),
            (json!({"field": {}}), "object [field] does not contain any fields"),
            (json!({"field": {"username": "/(/"}}), "regular expression"),
        ];
        for (rule, want) in table {
            let e = Rule::parse(rule).expect_err(&rule.to_string());
            assert!(e.contains(want), "{rule}: {e}");
        }
    }
}
