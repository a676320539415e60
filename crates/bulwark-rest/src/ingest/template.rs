//! The part of Mustache that pipelines use in field names and values: `{{path}}` and
//! `{{{path}}}` replaced by the document's value at `path`. Sections, partials, comments and
//! delimiter changes are refused when the pipeline is stored (naming the template), never
//! rendered as text.

use serde_json::Value;

use super::document::{IngestDoc, display};
use crate::ApiError;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Var(String),
}

/// A checked template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Part>);

impl Template {
    /// Parses `s`; `what` names the option for the error.
    pub fn parse(s: &str, what: &str) -> Result<Template, ApiError> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start..];
            let (open, close) = if after.starts_with("{{{") { (3, "}}}") } else { (2, "}}") };
            let Some(end) = after[open..].find(close) else {
                return Err(ApiError::parse(format!("[{what}] template [{s}] has an unclosed tag")));
            };
            let name = after[open..open + end].trim();
            if name.is_empty() || name.starts_with(['#', '^', '/', '>', '!', '=', '&']) {
                return Err(ApiError::parse(format!(
                    "[{what}] template [{s}]: only {{{{field}}}} substitutions are supported on this node, not [{{{{{name}}}}}]"
                )));
            }
            parts.push(Part::Var(name.to_owned()));
            rest = &after[open + end + close.len()..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template(parts))
    }

    /// The template rendered against `doc` (a missing field renders as nothing).
    pub fn render(&self, doc: &IngestDoc) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(path) => out.push_str(&doc.get(path).map(|v| display(&v)).unwrap_or_default()),
            }
        }
        out
    }
}

/// Checks every string inside `v` as a template.
pub fn check_value(v: &Value, what: &str) -> Result<(), ApiError> {
    match v {
        Value::String(s) => Template::parse(s, what).map(|_| ()),
        Value::Array(a) => a.iter().try_for_each(|x| check_value(x, what)),
        Value::Object(m) => m.values().try_for_each(|x| check_value(x, what)),
        _ => Ok(()),
    }
}

/// `v` with every string rendered as a template against `doc` (a value source).
pub fn render_value(v: &Value, doc: &IngestDoc) -> Result<Value, ApiError> {
    Ok(match v {
        Value::String(s) => Value::String(Template::parse(s, "value")?.render(doc)),
        Value::Array(a) => Value::Array(a.iter().map(|x| render_value(x, doc)).collect::<Result<_, _>>()?),
        Value::Object(m) => Value::Object(
            m.iter().map(|(k, x)| Ok((k.clone(), render_value(x, doc)?))).collect::<Result<_, ApiError>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    #[test]
    fn renders_and_refuses() {
        let mut m = Map::new();
        m.insert("a".into(), json!({"b": "x"}));
        m.insert("n".into(), json!(3));
        let d = IngestDoc::new("i", None, m, "ts".into());
        let t = Template::parse("v-{{a.b}}-{{{n}}}-{{ _ingest.timestamp }}-{{missing}}", "value").unwrap();
        assert_eq!(t.render(&d), "v-x-3-ts-");
        assert_eq!(Template::parse("plain", "f").unwrap().render(&d), "plain");
        assert!(Template::parse("{{#a}}x{{/a}}", "value").unwrap_err().reason.contains("[{{#a}}]"));
        assert!(Template::parse("{{a", "value").is_err());
    }
}
