//! Pipeline definitions, checked as Elasticsearch's processor factories check them: an unknown
//! processor, an option a processor does not have, a missing or mistyped option, or something
//! this node does not do (an `if` condition, a named time zone) is a `parse_exception` naming it
//! when the pipeline is stored or simulated, never a pipeline that silently does less.

use regex::Regex;
use serde_json::{Map, Value};
use time::UtcOffset;

use super::date::{self, Format, Pattern};
use super::document::java_type;
use super::template::{self, Template};
use crate::ApiError;

/// The processors this node runs.
pub const PROCESSORS: &[&str] = &[
    "append",
    "convert",
    "date",
    "drop",
    "fail",
    "gsub",
    "join",
    "lowercase",
    "pipeline",
    "remove",
    "rename",
    "set",
    "split",
    "trim",
    "uppercase",
];

/// A checked pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Its id.
    pub id: String,
    /// Its processors, in order.
    pub processors: Vec<Processor>,
    /// What runs when a processor fails and does not handle it.
    pub on_failure: Vec<Processor>,
}

/// `lowercase`, `uppercase` or `trim`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StringOp {
    /// `lowercase`
    Lower,
    /// `uppercase`
    Upper,
    /// `trim`
    Trim,
}

/// A `convert` target type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConvertType {
    /// `integer`
    Integer,
    /// `long`
    Long,
    /// `float`
    Float,
    /// `double`
    Double,
    /// `boolean`
    Boolean,
    /// `string`
    String,
    /// `ip`
    Ip,
    /// `auto`
    Auto,
}

/// What one processor does.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `set`
    Set {
        field: Template,
        value: Option<Value>,
        copy_from: Option<String>,
        override_: bool,
        ignore_empty: bool,
    },
    /// `rename`
    Rename { field: Template, target: Template, ignore_missing: bool, override_: bool },
    /// `remove`
    Remove { fields: Vec<Template>, keep: Vec<Template>, ignore_missing: bool },
    /// `lowercase`, `uppercase`, `trim`
    Strings { op: StringOp, field: String, target: Option<String>, ignore_missing: bool },
    /// `convert`
    Convert { field: String, target: Option<String>, to: ConvertType, ignore_missing: bool },
    /// `date`
    Date { field: String, target: String, formats: Vec<Format>, zone: UtcOffset, output: Pattern },
    /// `append`
    Append { field: Template, value: Value, allow_duplicates: bool },
    /// `split`
    Split {
        field: String,
        separator: Regex,
        target: Option<String>,
        ignore_missing: bool,
        preserve_trailing: bool,
    },
    /// `join`
    Join { field: String, separator: String, target: Option<String> },
    /// `gsub`
    Gsub { field: String, pattern: Regex, replacement: String, target: Option<String>, ignore_missing: bool },
    /// `fail`
    Fail { message: Template },
    /// `drop`
    Drop,
    /// `pipeline`
    Pipeline { name: Template, ignore_missing: bool },
}

/// One processor with the options every processor has.
#[derive(Debug, Clone)]
pub struct Processor {
    /// Its type name (`set`, ...).
    pub kind_name: String,
    /// `tag`
    pub tag: Option<String>,
    /// `ignore_failure`
    pub ignore_failure: bool,
    /// `on_failure`
    pub on_failure: Vec<Processor>,
    /// What it does.
    pub kind: Kind,
}

/// The options of one processor, taken one by one; what is left at the end was not understood.
struct Config<'a> {
    kind: &'a str,
    m: Map<String, Value>,
}

fn error(property: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::parse(format!("[{property}] {message}"))
}

impl Config<'_> {
    fn take(&mut self, key: &str) -> Option<Value> {
        self.m.remove(key).filter(|v| !v.is_null())
    }

    fn opt_string(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(v) => Err(error(key, format!("property isn't a string, but of type [{}]", java_type(&v)))),
        }
    }

    fn string(&mut self, key: &str) -> Result<String, ApiError> {
        self.opt_string(key)?.ok_or_else(|| error(key, "required property is missing"))
    }

    fn template(&mut self, key: &str) -> Result<Template, ApiError> {
        Template::parse(&self.string(key)?, key)
    }

    fn bool(&mut self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.take(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            Some(v) => Err(error(key, format!("property isn't a boolean, but of type [{}]", java_type(&v)))),
        }
    }

    fn strings(&mut self, key: &str, required: bool) -> Result<Vec<String>, ApiError> {
        match self.take(key) {
            None if required => Err(error(key, "required property is missing")),
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s]),
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(error(
                        key,
                        format!("property isn't a string, but of type [{}]", java_type(&other)),
                    )),
                })
                .collect(),
            Some(v) => Err(error(key, format!("property isn't a list, but of type [{}]", java_type(&v)))),
        }
    }

    fn regex(&mut self, key: &str) -> Result<Regex, ApiError> {
        let p = self.string(key)?;
        Regex::new(&p).map_err(|e| error(key, format!("invalid regular expression [{p}]: {e}")))
    }
}

/// The processors of a list (`processors` or `on_failure`).
fn processors(v: Option<Value>, key: &str, depth: usize) -> Result<Vec<Processor>, ApiError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(error(key, format!("property isn't a list, but of type [{}]", java_type(&other))));
        }
    };
    let mut out = Vec::new();
    for entry in list {
        let Value::Object(m) = entry else {
            return Err(error(key, "property isn't a list of objects, one per processor"));
        };
        for (kind, config) in m {
            out.push(processor(&kind, config, depth)?);
        }
    }
    Ok(out)
}

fn processor(kind: &str, config: Value, depth: usize) -> Result<Processor, ApiError> {
    if depth > 100 {
        return Err(ApiError::parse("processors are nested more than 100 levels deep"));
    }
    if !PROCESSORS.contains(&kind) {
        return Err(ApiError::parse(format!(
            "No processor type exists with name [{kind}] (this node runs: {})",
            PROCESSORS.join(", ")
        )));
    }
    let Value::Object(m) = config else {
        return Err(ApiError::parse(format!("processor [{kind}] must be an object of options")));
    };
    let mut c = Config { kind, m };
    let tag = c.opt_string("tag")?;
    c.opt_string("description")?;
    if c.m.contains_key("if") {
        return Err(error(
            "if",
            format!(
                "processor [{kind}]: conditions are Painless scripts, which this node does not run; remove the condition"
            ),
        ));
    }
    let ignore_failure = c.bool("ignore_failure", false)?;
    let on_failure_given = c.m.contains_key("on_failure");
    let on_failure = processors(c.take("on_failure"), "on_failure", depth + 1)?;
    if on_failure_given && on_failure.is_empty() {
        return Err(error("on_failure", "processors list cannot be empty"));
    }
    let kind_value = kind_of(&mut c)?;
    if !c.m.is_empty() {
        let keys: Vec<&str> = c.m.keys().map(String::as_str).collect();
        return Err(ApiError::parse(format!(
            "processor [{}] doesn't support one or more provided configuration parameters [{}]",
            c.kind,
            keys.join(", ")
        )));
    }
    Ok(Processor { kind_name: kind.to_owned(), tag, ignore_failure, on_failure, kind: kind_value })
}

fn target(c: &mut Config<'_>) -> Result<Option<String>, ApiError> {
    c.opt_string("target_field")
}

fn kind_of(c: &mut Config<'_>) -> Result<Kind, ApiError> {
    Ok(match c.kind {
        "set" => {
            let field = c.template("field")?;
            let copy_from = c.opt_string("copy_from")?;
            let value = match (&copy_from, c.m.remove("value")) {
                (Some(_), Some(_)) => {
                    return Err(error(
                        "copy_from",
                        "cannot set both `copy_from` and `value` in the same processor",
                    ));
                }
                (None, None) => return Err(error("value", "required property is missing")),
                (_, v) => v,
            };
            if let Some(v) = &value {
                template::check_value(v, "value")?;
            }
            if c.m.remove("media_type").is_some_and(|m| m != "application/json") {
                return Err(error("media_type", "only [application/json] is supported on this node"));
            }
            let override_ = c.bool("override", true)?;
            let ignore_empty = c.bool("ignore_empty_value", false)?;
            Kind::Set { field, value, copy_from, override_, ignore_empty }
        }
        "rename" => Kind::Rename {
            field: c.template("field")?,
            target: c.template("target_field")?,
            ignore_missing: c.bool("ignore_missing", false)?,
            override_: c.bool("override", false)?,
        },
        "remove" => {
            let fields = c.strings("field", false)?;
            let keep = c.strings("keep", false)?;
            if fields.is_empty() == keep.is_empty() {
                return Err(error("keep", "either [field] or [keep] must be set, but not both"));
            }
            let t =
                |v: Vec<String>, k| v.iter().map(|s| Template::parse(s, k)).collect::<Result<Vec<_>, _>>();
            Kind::Remove {
                fields: t(fields, "field")?,
                keep: t(keep, "keep")?,
                ignore_missing: c.bool("ignore_missing", false)?,
            }
        }
        "lowercase" | "uppercase" | "trim" => Kind::Strings {
            op: match c.kind {
                "lowercase" => StringOp::Lower,
                "uppercase" => StringOp::Upper,
                _ => StringOp::Trim,
            },
            field: c.string("field")?,
            target: target(c)?,
            ignore_missing: c.bool("ignore_missing", false)?,
        },
        "convert" => {
            let field = c.string("field")?;
            let to = match c.string("type")?.as_str() {
                "integer" => ConvertType::Integer,
                "long" => ConvertType::Long,
                "float" => ConvertType::Float,
                "double" => ConvertType::Double,
                "boolean" => ConvertType::Boolean,
                "string" => ConvertType::String,
                "ip" => ConvertType::Ip,
                "auto" => ConvertType::Auto,
                other => {
                    return Err(error(
                        "type",
                        format!("type [{other}] not supported, cannot convert field."),
                    ));
                }
            };
            Kind::Convert { field, target: target(c)?, to, ignore_missing: c.bool("ignore_missing", false)? }
        }
        "date" => {
            let field = c.string("field")?;
            let target = c.opt_string("target_field")?.unwrap_or_else(|| "@timestamp".into());
            let formats = c.strings("formats", true)?;
            let formats = formats
                .iter()
                .map(|f| Format::parse(f).map_err(|e| error("formats", e)))
                .collect::<Result<_, _>>()?;
            let zone = match c.opt_string("timezone")? {
                Some(z) => date::parse_zone(&z).map_err(|e| error("timezone", e))?,
                None => UtcOffset::UTC,
            };
            if let Some(l) = c.opt_string("locale")? {
                let english = l.eq_ignore_ascii_case("root") || l.to_ascii_lowercase().starts_with("en");
                if !english {
                    return Err(error(
                        "locale",
                        format!("locale [{l}] is not supported on this node (only English)"),
                    ));
                }
            }
            let output = c.opt_string("output_format")?.unwrap_or_else(|| date::DEFAULT_OUTPUT.into());
            let output = Pattern::parse(&output).map_err(|e| error("output_format", e))?;
            Kind::Date { field, target, formats, zone, output }
        }
        "append" => {
            let field = c.template("field")?;
            let value = c.m.remove("value").ok_or_else(|| error("value", "required property is missing"))?;
            template::check_value(&value, "value")?;
            Kind::Append { field, value, allow_duplicates: c.bool("allow_duplicates", true)? }
        }
        "split" => Kind::Split {
            field: c.string("field")?,
            separator: c.regex("separator")?,
            target: target(c)?,
            ignore_missing: c.bool("ignore_missing", false)?,
            preserve_trailing: c.bool("preserve_trailing", false)?,
        },
        "join" => {
            Kind::Join { field: c.string("field")?, separator: c.string("separator")?, target: target(c)? }
        }
        "gsub" => Kind::Gsub {
            field: c.string("field")?,
            pattern: c.regex("pattern")?,
            replacement: java_replacement(&c.string("replacement")?),
            target: target(c)?,
            ignore_missing: c.bool("ignore_missing", false)?,
        },
        "fail" => Kind::Fail { message: c.template("message")? },
        "drop" => Kind::Drop,
        "pipeline" => Kind::Pipeline {
            name: c.template("name")?,
            ignore_missing: c.bool("ignore_missing_pipeline", false)?,
        },
        other => return Err(ApiError::parse(format!("No processor type exists with name [{other}]"))),
    })
}

/// A Java replacement string (`$1`, `\$`) in the regex crate's spelling (`${1}`, `$$`).
fn java_replacement(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(o) => out.push(o),
                None => {}
            },
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            '$' => out.push_str("$$"),
            other => out.push(other),
        }
    }
    out
}

/// The fields a pipeline body may have.
const PIPELINE_FIELDS: &[&str] =
    &["description", "processors", "on_failure", "version", "_meta", "deprecated"];

impl Pipeline {
    /// Checks a pipeline body (`PUT _ingest/pipeline/{id}`, or `_simulate`'s `pipeline`).
    pub fn parse(id: &str, body: &Map<String, Value>) -> Result<Pipeline, ApiError> {
        if let Some(k) = body.keys().find(|k| !PIPELINE_FIELDS.contains(&k.as_str())) {
            return Err(ApiError::parse(format!(
                "pipeline [{id}] doesn't support one or more provided configuration parameters [{k}]"
            )));
        }
        match body.get("description") {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(v) => {
                return Err(error(
                    "description",
                    format!("property isn't a string, but of type [{}]", java_type(v)),
                ));
            }
        }
        if body.get("version").is_some_and(|v| !v.is_null() && !v.is_i64()) {
            return Err(error("version", "property isn't an integer"));
        }
        if body.get("_meta").is_some_and(|v| !v.is_null() && !v.is_object()) {
            return Err(error("_meta", "property isn't a map"));
        }
        if body.get("deprecated").is_some_and(|v| !v.is_null() && !v.is_boolean()) {
            return Err(error("deprecated", "property isn't a boolean"));
        }
        let Some(list) = body.get("processors") else {
            return Err(error("processors", "required property is missing"));
        };
        let processors = processors(Some(list.clone()), "processors", 0)?;
        let on_failure = processors_of(body.get("on_failure"))?;
        if body.get("on_failure").is_some_and(|v| !v.is_null()) && on_failure.is_empty() {
            return Err(ApiError::parse(format!(
                "pipeline [{id}] cannot have an empty on_failure option defined"
            )));
        }
        Ok(Pipeline { id: id.to_owned(), processors, on_failure })
    }
}

fn processors_of(v: Option<&Value>) -> Result<Vec<Processor>, ApiError> {
    processors(v.cloned(), "on_failure", 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Pipeline, ApiError> {
        let Value::Object(m) = v else { panic!("object") };
        Pipeline::parse("p", &m)
    }

    #[test]
    fn refusals_name_what_they_refuse() {
        let r = |v: Value| parse(v).unwrap_err().reason;
        assert!(
            r(json!({"processors": [{"grok": {"field": "a"}}]}))
                .starts_with("No processor type exists with name [grok]")
        );
        assert_eq!(r(json!({"processors": [{"set": {"tag": "t"}}]})), "[field] required property is missing");
        assert_eq!(
            r(json!({"processors": [{"set": {"field": "a"}}]})),
            "[value] required property is missing"
        );
        assert_eq!(
            r(json!({"processors": [{"set": {"field": "a", "value": 1, "foo": 2}}]})),
            "processor [set] doesn't support one or more provided configuration parameters [foo]"
        );
        assert!(
            r(json!({"processors": [{"set": {"field": "a", "value": 1, "if": "ctx.a"}}]}))
                .starts_with("[if]")
        );
        assert_eq!(r(json!({"description": "d"})), "[processors] required property is missing");
        assert!(r(json!({"processors": [], "x": 1})).contains("[x]"));
        assert!(r(json!({"processors": [{"date": {"field": "a", "formats": ["ISO8601"], "timezone": "Europe/Paris"}}]}))
            .starts_with("[timezone]"));
        assert!(
            r(json!({"processors": [{"set": {"field": "a", "value": "{{#x}}y{{/x}}"}}]}))
                .starts_with("[value]")
        );
        assert!(
            parse(json!({"processors": [{"set": {"field": "a", "value": 1, "on_failure": [{"drop": {}}]}}]}))
                .is_ok()
        );
    }

    #[test]
    fn replacements() {
        assert_eq!(java_replacement("a$1b\\$"), "a${1}b$$");
    }
}
