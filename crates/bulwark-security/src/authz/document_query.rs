//! Document-level security: a role's `query` (a query clause as JSON, or a string holding one,
//! or a `{"template": {"source": ..., "params": ...}}` rendered for the requesting user), and
//! the document filter a request is held to once every role granting it is combined.
//!
//! Templates take mustache variables only: `{{_user.username}}`, `{{_user.full_name}}`,
//! `{{_user.email}}`, `{{_user.roles}}`, `{{_user.metadata.<key>}}`, template `params`, and
//! `{{#toJson}}name{{/toJson}}`. Strings are inserted JSON-escaped (the query is JSON); other
//! mustache features (sections, partials, comments, delimiters) are refused when the role is
//! defined. This crate checks the shape; the query DSL itself is checked by whoever knows it.

use serde_json::{Map, Value, json};

/// The user a role query template is rendered for (an API key's owner for a key).
#[derive(Debug, Clone, Default)]
pub struct TemplateUser {
    /// `_user.username`.
    pub username: String,
    /// `_user.full_name`.
    pub full_name: Option<String>,
    /// `_user.email`.
    pub email: Option<String>,
    /// `_user.roles`.
    pub roles: Vec<String>,
    /// `_user.metadata`.
    pub metadata: Map<String, Value>,
}

/// A role query in object form (a JSON string is parsed).
fn as_object(q: &Value) -> Result<Map<String, Value>, String> {
    match q {
        Value::Object(m) => Ok(m.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err("the query must be a JSON object".into()),
            Err(e) => Err(format!("the query is not valid JSON: {e}")),
        },
        _ => Err("the query must be an object or a string holding one".into()),
    }
}

/// A template's source text and params.
type Template = (String, Map<String, Value>);

/// The template of a role query, if it is one.
fn template(q: &Map<String, Value>) -> Result<Option<Template>, String> {
    let Some(t) = q.get("template") else { return Ok(None) };
    if q.len() != 1 {
        return Err("a [template] query must be the only key of the query".into());
    }
    let Value::Object(t) = t else { return Err("[template] must be an object".into()) };
    if let Some(k) = t.keys().find(|k| !matches!(k.as_str(), "source" | "params" | "lang" | "options")) {
        return Err(format!("[template] does not support [{k}] (stored scripts are not supported)"));
    }
    if let Some(lang) = t.get("lang").filter(|l| l.as_str() != Some("mustache")) {
        return Err(format!("[template] [lang] must be [mustache], found [{lang}]"));
    }
    let source = match t.get("source") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => Value::Object(o.clone()).to_string(),
        Some(_) => return Err("[template] [source] must be a string or an object".into()),
        None => return Err("[template] requires [source]".into()),
    };
    let params = match t.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return Err("[template] [params] must be an object".into()),
    };
    Ok(Some((source, params)))
}

/// One piece of a template.
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
    Json(&'a str),
}

/// Splits a template into text and variables, refusing what this renderer does not support.
fn parse_template(src: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        out.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find("}}}").ok_or("an unclosed [{{{] tag in the template")?;
            out.push(Piece::Var(inner[..end].trim()));
            rest = &inner[end + 3..];
            continue;
        }
        let end = after.find("}}").ok_or("an unclosed [{{] tag in the template")?;
        let tag = after[..end].trim();
        rest = &after[end + 2..];
        if tag == "#toJson" {
            let close = rest.find("{{/toJson}}").ok_or("[{{#toJson}}] without [{{/toJson}}]")?;
            out.push(Piece::Json(rest[..close].trim()));
            rest = &rest[close + "{{/toJson}}".len()..];
            continue;
        }
        if let Some(c) = tag.chars().next().filter(|c| "#^/>!=&".contains(*c)) {
            return Err(format!(
                "the template tag [{{{{{tag}}}}}] is not supported (only variables and toJson; [{c}] tags are not)"
            ));
        }
        if tag.is_empty() {
            return Err("an empty [{{}}] tag in the template".into());
        }
        out.push(Piece::Var(tag));
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    if let Some(v) = root.get(path) {
        return Some(v);
    }
    let mut cur = root;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn render(pieces: &[Piece<'_>], root: &Value) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name) => match lookup(root, name) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => {
                    let quoted = Value::String(s.clone()).to_string();
                    out.push_str(&quoted[1..quoted.len() - 1]);
                }
                Some(other) => out.push_str(&other.to_string()),
            },
            Piece::Json(name) => {
                out.push_str(&lookup(root, name).cloned().unwrap_or(Value::Null).to_string())
            }
        }
    }
    out
}

/// Checks a role's `query` when the role is defined. Returns the query as an object when it
/// is a plain query (for the caller to check against the query DSL), `None` for a template
/// (its result depends on the user).
pub fn check_query(role: &str, q: &Value) -> Result<Option<Value>, String> {
    let fail = |e: String| format!("role [{role}]: failed to parse [query]: {e}");
    let obj = as_object(q).map_err(fail)?;
    match template(&obj).map_err(fail)? {
        Some((source, _)) => {
            parse_template(&source).map_err(fail)?;
            Ok(None)
        }
        None => Ok(Some(Value::Object(obj))),
    }
}

/// The role query as a query clause, its template (if any) rendered for `user`.
pub fn render_query(q: &Value, user: &TemplateUser) -> Result<Value, String> {
    let obj = as_object(q)?;
    let Some((source, params)) = template(&obj)? else { return Ok(Value::Object(obj)) };
    let pieces = parse_template(&source)?;
    let mut root = params;
    root.insert(
        "_user".into(),
        json!({
            "username": user.username,
            "full_name": user.full_name,
            "email": user.email,
            "roles": user.roles,
            "metadata": user.metadata,
        }),
    );
    let text = render(&pieces, &Value::Object(root));
    match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("the rendered role query template is not a JSON object".into()),
        Err(e) => Err(format!("the rendered role query template is not valid JSON: {e}")),
    }
}

/// The documents a request may see on one index: every layer must match, and a layer matches
/// what any of its queries matches. No layers: every document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocumentAccess {
    layers: Vec<Vec<Value>>,
}

impl DocumentAccess {
    /// Every document.
    pub fn all() -> DocumentAccess {
        DocumentAccess::default()
    }

    /// No document.
    pub fn none() -> DocumentAccess {
        DocumentAccess { layers: vec![Vec::new()] }
    }

    /// The union of the (rendered) queries of every group granting access; one group without
    /// a query (`None`) grants every document.
    pub fn union(queries: Vec<Option<Value>>) -> DocumentAccess {
        if queries.is_empty() {
            return DocumentAccess::none();
        }
        let mut layer = Vec::new();
        for q in queries {
            match q {
                Some(q) => layer.push(q),
                None => return DocumentAccess::all(),
            }
        }
        DocumentAccess { layers: vec![layer] }
    }

    /// What both `self` and `other` allow (an API key limited by its owner).
    pub fn intersect(mut self, other: DocumentAccess) -> DocumentAccess {
        self.layers.extend(other.layers);
        self
    }

    /// Whether some document may be hidden.
    pub fn is_restricted(&self) -> bool {
        !self.layers.is_empty()
    }

    /// The filter as a query clause (`None`: no filter).
    pub fn to_query(&self) -> Option<Value> {
        if self.layers.is_empty() {
            return None;
        }
        let layer = |qs: &Vec<Value>| match qs.as_slice() {
            [] => json!({"match_none": {}}),
            [one] => one.clone(),
            many => json!({"bool": {"should": many, "minimum_should_match": 1}}),
        };
        Some(match self.layers.as_slice() {
            [one] => layer(one),
            many => json!({"bool": {"filter": many.iter().map(layer).collect::<Vec<_>>()}}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> TemplateUser {
        TemplateUser {
            username: "jo\"e".into(),
            roles: vec!["a".into(), "b".into()],
            metadata: json!({"dept": "eng", "level": 3, "groups": ["x", "y"]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..TemplateUser::default()
        }
    }

    #[test]
    fn plain_queries_pass_through() {
        let q = json!({"term": {"dept": "eng"}});
        assert_eq!(render_query(&q, &user()).unwrap(), q);
        assert_eq!(render_query(&json!("{\"term\": {\"dept\": \"eng\"}}"), &user()).unwrap(), q);
        assert_eq!(check_query("r", &q).unwrap(), Some(q));
    }

    #[test]
    fn templates_render_user_fields() {
        let t = json!({"template": {"source": "{\"term\": {\"owner\": \"{{_user.username}}\"}}"}});
        assert_eq!(render_query(&t, &user()).unwrap(), json!({"term": {"owner": "jo\"e"}}));
        let t = json!({"template": {"source": {"bool": {"filter": [
            {"term": {"dept": "{{_user.metadata.dept}}"}},
            {"range": {"level": {"lte": "{{_user.metadata.level}}"}}}
        ]}}}});
        assert_eq!(
            render_query(&t, &user()).unwrap(),
            json!({"bool": {"filter": [{"term": {"dept": "eng"}}, {"range": {"level": {"lte": "3"}}}]}})
        );
        let t = json!({"template": {"source": "{\"terms\": {\"g\": {{#toJson}}_user.metadata.groups{{/toJson}}}}", "params": {}}});
        assert_eq!(render_query(&t, &user()).unwrap(), json!({"terms": {"g": ["x", "y"]}}));
        let t = json!({"template": {"source": "{\"term\": {\"p\": \"{{p}}{{_user.metadata.nope}}\"}}", "params": {"p": "v"}}});
        assert_eq!(render_query(&t, &user()).unwrap(), json!({"term": {"p": "v"}}));
        assert_eq!(check_query("r", &t).unwrap(), None);
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            json!(5),
            json!("not json"),
            json!("[1]"),
            json!({"template": {"id": "stored"}}),
            json!({"template": {"source": "{{#items}}x{{/items}}"}}),
            json!({"template": {"source": "{{> partial}}"}}),
            json!({"template": {"source": "{{unclosed"}}),
            json!({"template": {"source": 3}}),
            json!({"template": {"source": "{}"}, "term": {}}),
        ] {
            let e = check_query("hr", &bad).unwrap_err();
            assert!(e.starts_with("role [hr]: failed to parse [query]"), "{bad}: {e}");
        }
    }

    #[test]
    fn union_and_intersection() {
        let a = json!({"term": {"dept": "eng"}});
        let b = json!({"term": {"dept": "ops"}});
        let u = DocumentAccess::union(vec![Some(a.clone()), Some(b.clone())]);
        assert_eq!(u.to_query(), Some(json!({"bool": {"should": [a, b], "minimum_should_match": 1}})));
        assert_eq!(DocumentAccess::union(vec![Some(a.clone()), None]).to_query(), None);
        assert_eq!(DocumentAccess::union(Vec::new()).to_query(), Some(json!({"match_none": {}})));
        let both = DocumentAccess::union(vec![Some(a.clone())])
            .intersect(DocumentAccess::union(vec![Some(b.clone())]));
        assert_eq!(both.to_query(), Some(json!({"bool": {"filter": [a, b]}})));
    }
}
