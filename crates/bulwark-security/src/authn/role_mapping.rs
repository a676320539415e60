//! Role mappings (`PUT /_security/role_mapping/{name}`) and their application: the roles a
//! realm that does not hold roles itself (PKI here; LDAP, SAML, ... in Elasticsearch) gives a
//! user are the union of the roles of every enabled mapping whose rules match the user.
//!
//! Role templates are mustache in Elasticsearch; the subset built here is variable substitution
//! (`{{username}}`, `{{{dn}}}`, `{{metadata.key}}`, `{{realm.name}}`) and `{{#tojson}}x{{/tojson}}`.
//! Anything else (other sections, partials) is refused when the mapping is stored, so a template
//! never silently renders to nothing.

use std::collections::BTreeSet;

use serde_json::Value;

use super::mapping_rule::{Rule, UserData};

/// Why a mapping document was refused; each maps to one Elasticsearch error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingError {
    /// `action_request_validation_exception` (the message without the `Validation Failed` frame).
    Validation(String),
    /// `parse_exception`: the rules or a template.
    Parse(String),
    /// `parsing_exception`: a required field is missing.
    Parsing(String),
    /// `x_content_parse_exception`: an unknown field or a value of the wrong type.
    Content(String),
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MappingError::Validation(m)
            | MappingError::Parse(m)
            | MappingError::Parsing(m)
            | MappingError::Content(m) => f.write_str(m),
        }
    }
}

/// `format` of a role template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFormat {
    /// The rendered text is one role name.
    String,
    /// The rendered text is a JSON string or array of strings.
    Json,
}

/// One `role_templates` entry.
#[derive(Debug, Clone)]
pub struct RoleTemplate {
    /// The template (mustache-style `{{…}}` with the user's fields).
    pub source: String,
    /// `string` (one role) or `json` (a list of roles).
    pub format: TemplateFormat,
}

/// A parsed, validated role mapping.
#[derive(Debug, Clone)]
pub struct RoleMapping {
    /// The mapping's name.
    pub name: String,
    /// Disabled mappings grant nothing.
    pub enabled: bool,
    /// The roles granted.
    pub roles: Vec<String>,
    /// `role_templates`: roles built from the user's fields.
    pub templates: Vec<RoleTemplate>,
    /// `rules`: which users it applies to.
    pub rules: Rule,
}

fn content(m: String) -> MappingError {
    MappingError::Content(m)
}

fn strings(field: &str, v: &Value) -> Result<Vec<String>, MappingError> {
    let Value::Array(a) = v else {
        return Err(content(format!("[role-mapping] {field} doesn't support values of type: {}", kind(v))));
    };
    a.iter()
        .map(|x| {
            x.as_str().map(str::to_owned).ok_or_else(|| {
                content(format!(
                    "[role-mapping] failed to parse field [{field}]: expected strings, found {x}"
                ))
            })
        })
        .collect()
}

use super::mapping_rule::token as kind;

impl RoleTemplate {
    fn parse(v: &Value) -> Result<RoleTemplate, MappingError> {
        let Value::Object(o) = v else {
            return Err(content(format!("[role_template] expected an object, found {}", kind(v))));
        };
        let mut source = None;
        let mut format = TemplateFormat::String;
        for (k, v) in o {
            match (k.as_str(), v) {
                ("template", Value::Object(t)) => {
                    for (tk, tv) in t {
                        match (tk.as_str(), tv) {
                            ("source", Value::String(s)) => source = Some(s.clone()),
                            ("lang", Value::String(l)) if l == "mustache" => {}
                            ("options" | "params", Value::Object(p)) if p.is_empty() => {}
                            _ => {
                                return Err(MappingError::Parse(format!(
                                    "[template] field [{tk}] is not supported in a role template; only [source] (mustache) is"
                                )));
                            }
                        }
                    }
                }
                // Elasticsearch also accepts the script source as a plain string.
                ("template", Value::String(s)) => source = Some(s.clone()),
                ("format", Value::String(f)) => {
                    format = match f.as_str() {
                        "string" => TemplateFormat::String,
                        "json" => TemplateFormat::Json,
                        _ => return Err(content(format!("[role_template] unknown format [{f}]"))),
                    }
                }
                _ => return Err(content(format!("[role_template] unknown field [{k}]"))),
            }
        }
        let source = source.ok_or_else(|| {
            MappingError::Parse("role template must have a [template] with a [source]".into())
        })?;
        check_template(&source)?;
        Ok(RoleTemplate { source, format })
    }

    /// The role names the template gives `user`.
    pub fn render(&self, user: &UserData) -> Vec<String> {
        let text = render(&self.source, user);
        match self.format {
            TemplateFormat::String => vec![text],
            TemplateFormat::Json => match serde_json::from_str::<Value>(&text) {
                Ok(Value::String(s)) => vec![s],
                Ok(Value::Array(a)) => a.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                _ => Vec::new(),
            },
        }
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect()
    }
}

/// Tags (`{{...}}`) of a template, with the text between: `(literal, Some(tag))`.
fn tags(source: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        let (lit, after) = rest.split_at(start);
        let triple = after.starts_with("{{{");
        let (open, close) = if triple { (3, "}}}") } else { (2, "}}") };
        let Some(end) = after[open..].find(close) else { break };
        out.push((lit, Some(after[open..open + end].trim())));
        rest = &after[open + end + close.len()..];
    }
    out.push((rest, None));
    out
}

fn check_template(source: &str) -> Result<(), MappingError> {
    let all = tags(source);
    let mut i = 0;
    while i < all.len() {
        if let Some(tag) = all[i].1 {
            if tag == "#tojson" {
                let closed =
                    all.get(i + 1).is_some_and(|(lit, t)| !lit.trim().is_empty() && *t == Some("/tojson"));
                if !closed {
                    return Err(MappingError::Parse(
                        "role template: {{#tojson}} must enclose one variable name and be closed by {{/tojson}}".into(),
                    ));
                }
                i += 2;
                continue;
            }
            if tag.is_empty() || tag.starts_with(['#', '^', '/', '>', '!', '=', '&']) {
                return Err(MappingError::Parse(format!(
                    "role template tag [{{{{{tag}}}}}] is not supported; only variables and {{{{#tojson}}}} are"
                )));
            }
        }
        i += 1;
    }
    Ok(())
}

/// A template variable's value (`username`, `dn`, `groups`, `realm.name`, `metadata.x`).
fn variable(user: &UserData, name: &str) -> Value {
    match name {
        "username" => Value::String(user.username.clone()),
        "dn" => user.dn.clone().map_or(Value::Null, Value::String),
        "groups" => Value::Array(user.groups.iter().cloned().map(Value::String).collect()),
        "realm.name" => Value::String(user.realm_name.clone()),
        "metadata" => Value::Object(user.metadata.clone()),
        _ => {
            name.strip_prefix("metadata.").and_then(|k| user.metadata.get(k).cloned()).unwrap_or(Value::Null)
        }
    }
}

fn render(source: &str, user: &UserData) -> String {
    let all = tags(source);
    let mut out = String::new();
    let mut i = 0;
    while i < all.len() {
        let (lit, tag) = all[i];
        out.push_str(lit);
        match tag {
            Some("#tojson") => {
                let name = all.get(i + 1).map_or("", |(l, _)| l.trim());
                out.push_str(&variable(user, name).to_string());
                i += 2;
                continue;
            }
            Some(name) => match variable(user, name) {
                Value::Null => {}
                Value::String(s) => out.push_str(&s),
                Value::Array(a) => out.push_str(
                    &a.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                other => out.push_str(&other.to_string()),
            },
            None => {}
        }
        i += 1;
    }
    out
}

impl RoleMapping {
    /// The fields of a role mapping document (every one read by [`RoleMapping::parse`]).
    pub const FIELDS: &[&str] = &["roles", "role_templates", "rules", "enabled", "metadata"];

    /// Parses and validates a mapping document as `PUT /_security/role_mapping/{name}` receives
    /// it (and as it is stored), with Elasticsearch's checks and wording.
    pub fn parse(name: &str, v: &Value) -> Result<RoleMapping, MappingError> {
        let Value::Object(o) = v else {
            return Err(content("[role-mapping] expected an object".into()));
        };
        let (mut roles, mut templates, mut rules, mut enabled) = (None, None, None, None);
        for (k, v) in o {
            if !Self::FIELDS.contains(&k.as_str()) {
                return Err(content(format!("[role-mapping] unknown field [{k}]")));
            }
            match k.as_str() {
                "roles" => roles = Some(strings("roles", v)?),
                "role_templates" => {
                    let Value::Array(a) = v else {
                        return Err(content(format!(
                            "[role-mapping] role_templates doesn't support values of type: {}",
                            kind(v)
                        )));
                    };
                    templates = Some(a.iter().map(RoleTemplate::parse).collect::<Result<Vec<_>, _>>()?);
                }
                "rules" => rules = Some(Rule::parse(v).map_err(MappingError::Parse)?),
                "enabled" => {
                    enabled = Some(v.as_bool().ok_or_else(|| {
                        content(format!("[role-mapping] enabled doesn't support values of type: {}", kind(v)))
                    })?)
                }
                "metadata" => {
                    let Value::Object(m) = v else {
                        return Err(content(format!(
                            "[role-mapping] metadata doesn't support values of type: {}",
                            kind(v)
                        )));
                    };
                    if m.keys().any(|k| k.starts_with('_')) {
                        return Err(MappingError::Validation("metadata keys may not start with [_]".into()));
                    }
                }
                other => return Err(content(format!("[role-mapping] unknown field [{other}]"))),
            }
        }
        let missing = |f: &str| {
            MappingError::Parsing(format!("failed to parse role-mapping [{name}]. missing field [{f}]"))
        };
        if roles.is_none() && templates.is_none() {
            return Err(missing("roles"));
        }
        let rules = rules.ok_or_else(|| missing("rules"))?;
        let enabled = enabled.ok_or_else(|| missing("enabled"))?;
        let (roles, templates) = (roles.unwrap_or_default(), templates.unwrap_or_default());
        if roles.is_empty() && templates.is_empty() {
            return Err(MappingError::Validation("role-mapping roles or role-templates are missing".into()));
        }
        if !roles.is_empty() && !templates.is_empty() {
            return Err(MappingError::Validation(
                "role-mapping cannot have both roles and role-templates".into(),
            ));
        }
        Ok(RoleMapping { name: name.to_owned(), enabled, roles, templates, rules })
    }

    /// The roles this mapping gives `user` (none when disabled or the rules do not match).
    pub fn roles_for(&self, user: &UserData) -> Vec<String> {
        if !self.enabled || !self.rules.matches(user) {
            return Vec::new();
        }
        self.roles.iter().cloned().chain(self.templates.iter().flat_map(|t| t.render(user))).collect()
    }
}

/// The union of the roles `mappings` give `user`, sorted.
pub fn mapped_roles(mappings: &[RoleMapping], user: &UserData) -> Vec<String> {
    mappings.iter().flat_map(|m| m.roles_for(user)).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Stored mapping documents that no longer parse are skipped (they were validated when stored);
/// returns the parsed ones.
pub fn parse_stored(entries: Vec<(String, Value)>) -> Vec<RoleMapping> {
    entries.into_iter().filter_map(|(name, v)| RoleMapping::parse(&name, &v).ok()).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(name: &str) -> UserData {
        UserData {
            username: name.into(),
            dn: Some(format!("CN={name}, OU=eng")),
            groups: Vec::new(),
            metadata: json!({"pki_dn": format!("CN={name}, OU=eng"), "team": "ops"})
                .as_object()
                .cloned()
                .unwrap(),
            realm_name: "pki1".into(),
        }
    }

    #[test]
    fn mappings_give_roles_when_enabled_and_matching() {
        let m = |v: Value| RoleMapping::parse("m", &v).unwrap();
        let all = vec![
            m(json!({"roles": ["viewer"], "rules": {"field": {"username": "alice"}}, "enabled": true})),
            m(json!({"roles": ["editor"], "rules": {"field": {"username": "alice"}}, "enabled": false})),
            m(
                json!({"role_templates": [{"template": {"source": "team_{{metadata.team}}"}}], "rules": {"field": {"realm.name": "pki1"}}, "enabled": true}),
            ),
            m(
                json!({"role_templates": [{"template": {"source": "[\"u_{{username}}\", \"x\"]"}, "format": "json"}], "rules": {"field": {"dn": "*,ou=eng"}}, "enabled": true}),
            ),
            m(
                json!({"role_templates": [{"template": "{{#tojson}}groups{{/tojson}}", "format": "json"}], "rules": {"field": {"username": "*"}}, "enabled": true}),
            ),
        ];
        assert_eq!(mapped_roles(&all, &user("alice")), ["team_ops", "u_alice", "viewer", "x"]);
        assert_eq!(mapped_roles(&all, &user("bob")), ["team_ops", "u_bob", "x"]);
    }

    #[test]
    fn invalid_mappings_are_refused() {
        let rules = json!({"field": {"username": "a"}});
        let table: Vec<(Value, MappingError)> = vec![
            (json!({"roles": ["r"], "rules": "garbage", "enabled": true}), MappingError::Parse("failed to parse rules expression. expected [rules] to be an object but found [VALUE_STRING] instead".into())),
            (json!({"rules": rules, "enabled": true}), MappingError::Parsing("failed to parse role-mapping [m]. missing field [roles]".into())),
            (json!({"roles": ["r"], "enabled": true}), MappingError::Parsing("failed to parse role-mapping [m]. missing field [rules]".into())),
            (json!({"roles": ["r"], "rules": rules}), MappingError::Parsing("failed to parse role-mapping [m]. missing field [enabled]".into())),
            (json!({"roles": [], "rules": rules, "enabled": true}), MappingError::Validation("role-mapping roles or role-templates are missing".into())),
            (json!({"roles": ["r"], "role_templates": [{"template": {"source": "x"}}], "rules": rules, "enabled": true}), MappingError::Validation("role-mapping cannot have both roles and role-templates".into())),
            (json!({"roles": ["r"], "rules": rules, "enabled": true, "metadata": {"_x": 1}}), MappingError::Validation("metadata keys may not start with [_]".into())),
            (json!({"roles": ["r"], "rules": rules, "enabled": true, "color": "red"}), MappingError::Content("[role-mapping] unknown field [color]".into())),
            (json!({"roles": "r", "rules": rules, "enabled": true}), MappingError::Content("[role-mapping] roles doesn't support values of type: VALUE_STRING".into())),
            (json!({"roles": ["r"], "rules": rules, "enabled": "yes"}), MappingError::Content("[role-mapping] enabled doesn't support values of type: VALUE_STRING".into())),
        ];
        for (doc, want) in table {
            assert_eq!(RoleMapping::parse("m", &doc).unwrap_err(), want, "{doc}");
        }
        for source in ["{{#each}}x{{/each}}", "{{> partial}}", "{{#tojson}}groups", "{{^x}}y{{/x}}"] {
            let doc = json!({"role_templates": [{"template": {"source": source}}], "rules": rules, "enabled": true});
            assert!(matches!(RoleMapping::parse("m", &doc), Err(MappingError::Parse(_))), "{source}");
        }
    }
}
