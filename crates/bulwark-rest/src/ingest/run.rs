//! Running pipelines on a document, with Elasticsearch's failure handling: a failing processor
//! with `ignore_failure` is skipped; one with `on_failure` runs those processors (with
//! `_ingest.on_failure_message`, `_processor_type`, `_processor_tag` and `_pipeline` set) and
//! the pipeline goes on; otherwise the pipeline's own `on_failure` runs and the pipeline ends,
//! or the document fails. `drop` ends everything and the document is not written.

use std::sync::Arc;

use serde_json::{Number, Value};

use super::document::{IngestDoc, cast_error, display, not_present};
use super::pipeline::{ConvertType, Kind, Pipeline, Processor, StringOp};
use super::template::render_value;
use crate::{ApiError, ErrorType};

/// What became of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on (and write it).
    Continue,
    /// A `drop` processor ran: the document is not written.
    Drop,
}

/// Finds stored pipelines by id (for `pipeline` processors and the write path).
pub trait Lookup {
    /// The pipeline `id`, if it exists.
    fn pipeline(&mut self, id: &str) -> Result<Option<Arc<Pipeline>>, ApiError>;
}

/// The deepest chain of pipelines calling pipelines, as Elasticsearch limits it.
const MAX_DEPTH: usize = 100;

/// Runs `p` on `doc`; `stack` holds the ids of the pipelines already running (for cycles).
pub fn run_pipeline(
    p: &Pipeline,
    doc: &mut IngestDoc,
    lookup: &mut dyn Lookup,
    stack: &mut Vec<String>,
) -> Result<Flow, ApiError> {
    if stack.contains(&p.id) {
        return Err(ApiError::new(ErrorType::IllegalState, format!("Cycle detected for pipeline: {}", p.id)));
    }
    if stack.len() >= MAX_DEPTH {
        return Err(ApiError::new(
            ErrorType::IllegalState,
            format!("Too many nested pipelines. Cannot have more than {MAX_DEPTH} nested pipelines"),
        ));
    }
    stack.push(p.id.clone());
    let previous = doc.ingest.insert("pipeline".into(), Value::String(p.id.clone()));
    let mut r = run_list(&p.processors, doc, lookup, stack);
    if let Err(e) = &r
        && !p.on_failure.is_empty()
    {
        // Elasticsearch reports the processor that failed; at pipeline level, no processor.
        let saved = put_failure(doc, e, None, &p.id);
        r = run_list(&p.on_failure, doc, lookup, stack);
        restore_failure(doc, saved);
    }
    match previous {
        Some(v) => doc.ingest.insert("pipeline".into(), v),
        None => doc.ingest.remove("pipeline"),
    };
    stack.pop();
    r
}

const FAILURE_KEYS: [&str; 4] =
    ["on_failure_message", "on_failure_processor_type", "on_failure_processor_tag", "on_failure_pipeline"];

fn put_failure(
    doc: &mut IngestDoc,
    e: &ApiError,
    p: Option<&Processor>,
    pipeline: &str,
) -> Vec<Option<Value>> {
    let saved = FAILURE_KEYS.iter().map(|k| doc.ingest.remove(*k)).collect();
    doc.ingest.insert("on_failure_message".into(), Value::String(e.reason.clone()));
    if let Some(p) = p {
        doc.ingest.insert("on_failure_processor_type".into(), Value::String(p.kind_name.clone()));
        if let Some(t) = &p.tag {
            doc.ingest.insert("on_failure_processor_tag".into(), Value::String(t.clone()));
        }
    }
    doc.ingest.insert("on_failure_pipeline".into(), Value::String(pipeline.to_owned()));
    saved
}

fn restore_failure(doc: &mut IngestDoc, saved: Vec<Option<Value>>) {
    for (k, v) in FAILURE_KEYS.iter().zip(saved) {
        match v {
            Some(v) => doc.ingest.insert((*k).to_owned(), v),
            None => doc.ingest.remove(*k),
        };
    }
}

fn run_list(
    list: &[Processor],
    doc: &mut IngestDoc,
    lookup: &mut dyn Lookup,
    stack: &mut Vec<String>,
) -> Result<Flow, ApiError> {
    for p in list {
        match run_one(p, doc, lookup, stack) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Drop) => return Ok(Flow::Drop),
            Err(_) if p.ignore_failure => {}
            Err(e) if !p.on_failure.is_empty() => {
                let pipeline = stack.last().cloned().unwrap_or_default();
                let saved = put_failure(doc, &e, Some(p), &pipeline);
                let r = run_list(&p.on_failure, doc, lookup, stack);
                restore_failure(doc, saved);
                if r? == Flow::Drop {
                    return Ok(Flow::Drop);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Flow::Continue)
}

/// The value a field-processing processor works on, or `None` when it is missing (or null)
/// and `ignore_missing` says to skip.
fn input(doc: &IngestDoc, field: &str, ignore_missing: bool) -> Result<Option<Value>, ApiError> {
    match doc.get(field) {
        None if ignore_missing => Ok(None),
        None => Err(not_present(field)),
        Some(Value::Null) if ignore_missing => Ok(None),
        Some(Value::Null) => {
            Err(ApiError::illegal_argument(format!("field [{field}] is null, cannot process it.")))
        }
        Some(v) => Ok(Some(v)),
    }
}

/// Applies `f` to a string, or to each string of a list.
fn each_string(
    field: &str,
    v: Value,
    f: &mut dyn FnMut(&str) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    match v {
        Value::String(s) => f(&s),
        Value::Array(a) => a
            .into_iter()
            .map(|x| match x {
                Value::String(s) => f(&s),
                other => Err(cast_error(field, &other, "java.lang.String")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Err(cast_error(field, &other, "java.lang.String")),
    }
}

fn run_one(
    p: &Processor,
    doc: &mut IngestDoc,
    lookup: &mut dyn Lookup,
    stack: &mut Vec<String>,
) -> Result<Flow, ApiError> {
    match &p.kind {
        Kind::Set { field, value, copy_from, override_, ignore_empty } => {
            let field = field.render(doc);
            if !override_ && doc.get(&field).is_some_and(|v| !v.is_null()) {
                return Ok(Flow::Continue);
            }
            let v = match (copy_from, value) {
                (Some(from), _) => doc.require(from)?,
                (None, Some(v)) => render_value(v, doc)?,
                (None, None) => Value::Null,
            };
            if *ignore_empty && (v.is_null() || v == Value::String(String::new())) {
                return Ok(Flow::Continue);
            }
            doc.set(&field, v)?;
        }
        Kind::Rename { field, target, ignore_missing, override_ } => {
            let (field, target) = (field.render(doc), target.render(doc));
            if !doc.has(&field) {
                if *ignore_missing {
                    return Ok(Flow::Continue);
                }
                return Err(ApiError::illegal_argument(format!("field [{field}] doesn't exist")));
            }
            if doc.has(&target) && !override_ {
                return Err(ApiError::illegal_argument(format!("field [{target}] already exists")));
            }
            let v = doc.remove(&field)?.unwrap_or(Value::Null);
            if let Err(e) = doc.set(&target, v.clone()) {
                doc.set(&field, v)?;
                return Err(e);
            }
        }
        Kind::Remove { fields, keep, ignore_missing } => {
            if !keep.is_empty() {
                let keep: Vec<String> = keep.iter().map(|t| t.render(doc)).collect();
                doc.keep_only(&keep)?;
            }
            for f in fields {
                let f = f.render(doc);
                if doc.remove(&f)?.is_none() && !ignore_missing {
                    return Err(not_present(&f));
                }
            }
        }
        Kind::Strings { op, field, target, ignore_missing } => {
            let Some(v) = input(doc, field, *ignore_missing)? else { return Ok(Flow::Continue) };
            let out = each_string(field, v, &mut |s| {
                Ok(Value::String(match op {
                    StringOp::Lower => s.to_lowercase(),
                    StringOp::Upper => s.to_uppercase(),
                    StringOp::Trim => s.trim().to_owned(),
                }))
            })?;
            doc.set(target.as_deref().unwrap_or(field), out)?;
        }
        Kind::Convert { field, target, to, ignore_missing } => {
            let v = match doc.get(field) {
                None | Some(Value::Null) if *ignore_missing => return Ok(Flow::Continue),
                None => return Err(not_present(field)),
                Some(Value::Null) => {
                    return Err(ApiError::illegal_argument(format!(
                        "Field [{field}] is null, cannot be converted to type [{}]",
                        type_name(*to)
                    )));
                }
                Some(v) => v,
            };
            let out = match v {
                Value::Array(a) => Value::Array(a.iter().map(|x| convert(x, *to)).collect::<Result<_, _>>()?),
                one => convert(&one, *to)?,
            };
            doc.set(target.as_deref().unwrap_or(field), out)?;
        }
        Kind::Date { field, target, formats, zone, output } => {
            let s = display(&doc.require(field)?);
            let Some(t) = formats.iter().find_map(|f| f.read(&s, *zone)) else {
                return Err(ApiError::illegal_argument(format!("unable to parse date [{s}]")));
            };
            doc.set(target, Value::String(output.write(t.to_offset(*zone))))?;
        }
        Kind::Append { field, value, allow_duplicates } => {
            let field = field.render(doc);
            let new = match render_value(value, doc)? {
                Value::Array(a) => a,
                one => vec![one],
            };
            let mut list = match doc.get(&field) {
                None => Vec::new(),
                Some(Value::Array(a)) => a,
                Some(one) => vec![one],
            };
            for v in new {
                if *allow_duplicates || !list.contains(&v) {
                    list.push(v);
                }
            }
            doc.set(&field, Value::Array(list))?;
        }
        Kind::Split { field, separator, target, ignore_missing, preserve_trailing } => {
            let Some(v) = input(doc, field, *ignore_missing)? else { return Ok(Flow::Continue) };
            let Value::String(s) = v else { return Err(cast_error(field, &v, "java.lang.String")) };
            let mut parts: Vec<&str> = separator.split(&s).collect();
            if !preserve_trailing {
                while parts.len() > 1 && parts.last() == Some(&"") {
                    parts.pop();
                }
            }
            let parts = parts.into_iter().map(|p| Value::String(p.to_owned())).collect();
            doc.set(target.as_deref().unwrap_or(field), Value::Array(parts))?;
        }
        Kind::Join { field, separator, target } => {
            let v = input(doc, field, false)?.unwrap_or(Value::Null);
            let Value::Array(a) = v else { return Err(cast_error(field, &v, "java.util.List")) };
            let joined = a.iter().map(display).collect::<Vec<_>>().join(separator);
            doc.set(target.as_deref().unwrap_or(field), Value::String(joined))?;
        }
        Kind::Gsub { field, pattern, replacement, target, ignore_missing } => {
            let Some(v) = input(doc, field, *ignore_missing)? else { return Ok(Flow::Continue) };
            let out = each_string(field, v, &mut |s| {
                Ok(Value::String(pattern.replace_all(s, replacement.as_str()).into_owned()))
            })?;
            doc.set(target.as_deref().unwrap_or(field), out)?;
        }
        Kind::Fail { message } => return Err(ApiError::new(ErrorType::FailProcessor, message.render(doc))),
        Kind::Drop => return Ok(Flow::Drop),
        Kind::Pipeline { name, ignore_missing } => {
            let name = name.render(doc);
            let Some(nested) = lookup.pipeline(&name)? else {
                if *ignore_missing {
                    return Ok(Flow::Continue);
                }
                return Err(ApiError::new(
                    ErrorType::IllegalState,
                    format!("Pipeline processor configured for non-existent pipeline [{name}]"),
                ));
            };
            return run_pipeline(&nested, doc, lookup, stack);
        }
    }
    Ok(Flow::Continue)
}

fn type_name(t: ConvertType) -> &'static str {
    match t {
        ConvertType::Integer => "integer",
        ConvertType::Long => "long",
        ConvertType::Float => "float",
        ConvertType::Double => "double",
        ConvertType::Boolean => "boolean",
        ConvertType::String => "string",
        ConvertType::Ip => "ip",
        ConvertType::Auto => "auto",
    }
}

fn parse_integer(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()?
    } else {
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn float_value(s: &str, single: bool) -> Option<Value> {
    let f: f64 = if single {
        s.trim().parse::<f32>().ok()?.to_string().parse().ok()?
    } else {
        s.trim().parse().ok()?
    };
    Number::from_f64(f).map(Value::Number)
}

fn convert(v: &Value, to: ConvertType) -> Result<Value, ApiError> {
    let s = display(v);
    let fail = || ApiError::illegal_argument(format!("unable to convert [{s}] to {}", type_name(to)));
    Ok(match to {
        ConvertType::Integer => {
            Value::from(parse_integer(&s).filter(|i| i32::try_from(*i).is_ok()).ok_or_else(fail)?)
        }
        ConvertType::Long => Value::from(parse_integer(&s).ok_or_else(fail)?),
        ConvertType::Float => float_value(&s, true).ok_or_else(fail)?,
        ConvertType::Double => float_value(&s, false).ok_or_else(fail)?,
        ConvertType::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(ApiError::illegal_argument(format!(
                    "[{s}] is not a boolean value, cannot convert to boolean"
                )));
            }
        },
        ConvertType::String => Value::String(s),
        ConvertType::Ip => {
            if s.parse::<std::net::IpAddr>().is_err() {
                return Err(ApiError::illegal_argument(format!("'{s}' is not an IP string literal.")));
            }
            Value::String(s)
        }
        ConvertType::Auto => {
            let Value::String(_) = v else { return Ok(v.clone()) };
            if let Some(i) = parse_integer(&s) {
                Value::from(i)
            } else if let Some(f) = float_value(&s, false) {
                f
            } else if s == "true" || s == "false" {
                Value::Bool(s == "true")
            } else {
                v.clone()
            }
        }
    })
}

/// Runs the pipelines of one write on `source`: first `pipeline` (the request's or the
/// index's default), then `final_pipeline`. Answers whether the document was dropped.
pub fn run_for_write(
    pipelines: &[Arc<Pipeline>],
    doc: &mut IngestDoc,
    lookup: &mut dyn Lookup,
) -> Result<Flow, ApiError> {
    for p in pipelines {
        if run_pipeline(p, doc, lookup, &mut Vec::new())? == Flow::Drop {
            return Ok(Flow::Drop);
        }
    }
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct NoStore;
    impl Lookup for NoStore {
        fn pipeline(&mut self, _: &str) -> Result<Option<Arc<Pipeline>>, ApiError> {
            Ok(None)
        }
    }

    fn run(p: Value, src: Value) -> Result<(Flow, Value), ApiError> {
        let (Value::Object(pm), Value::Object(sm)) = (p, src) else { panic!("objects") };
        let p = Pipeline::parse("p", &pm)?;
        let mut d = IngestDoc::new("i", Some("1"), sm, "ts".into());
        let f = run_pipeline(&p, &mut d, &mut NoStore, &mut Vec::new())?;
        Ok((f, Value::Object(d.source)))
    }

    #[test]
    fn processors_do_what_elasticsearch_does() {
        let (_, s) = run(
            json!({"processors": [
                {"set": {"field": "a.b", "value": "{{x}}-v"}},
                {"set": {"field": "x", "value": "no", "override": false}},
                {"set": {"field": "e", "value": "", "ignore_empty_value": true}},
                {"set": {"field": "c", "copy_from": "a"}},
                {"rename": {"field": "x", "target_field": "y"}},
                {"uppercase": {"field": "y"}},
                {"convert": {"field": "n", "type": "integer"}},
                {"append": {"field": "tags", "value": ["a", "b"], "allow_duplicates": false}},
                {"split": {"field": "csv", "separator": ","}},
                {"join": {"field": "csv", "separator": "|", "target_field": "joined"}},
                {"gsub": {"field": "joined", "pattern": "\\|", "replacement": "+"}},
                {"date": {"field": "when", "formats": ["UNIX_MS"]}},
                {"remove": {"field": ["n"]}}
            ]}),
            json!({"x": "hello", "n": "42", "tags": "a", "csv": "p,q,,", "when": 0}),
        )
        .unwrap();
        assert_eq!(s["a"], json!({"b": "hello-v"}));
        assert_eq!(s["c"], json!({"b": "hello-v"}));
        assert_eq!(s["y"], json!("HELLO"));
        assert!(s.get("e").is_none() && s.get("n").is_none() && s.get("x").is_none());
        assert_eq!(s["tags"], json!(["a", "b"]));
        assert_eq!(s["csv"], json!(["p", "q"]));
        assert_eq!(s["joined"], json!("p+q"));
        assert_eq!(s["@timestamp"], json!("1970-01-01T00:00:00.000Z"));
    }

    #[test]
    fn failures_and_handlers() {
        let e = run(json!({"processors": [{"rename": {"field": "q", "target_field": "r"}}]}), json!({}))
            .unwrap_err();
        assert_eq!(e.reason, "field [q] doesn't exist");
        let (_, s) = run(
            json!({"processors": [{"fail": {"message": "m {{a}}", "tag": "t",
                "on_failure": [{"set": {"field": "why", "value": "{{_ingest.on_failure_message}}/{{_ingest.on_failure_processor_tag}}"}}]}},
                {"set": {"field": "after", "value": 1}}]}),
            json!({"a": "x"}),
        )
        .unwrap();
        assert_eq!(s["why"], json!("m x/t"));
        assert_eq!(s["after"], json!(1));
        let (f, _) = run(json!({"processors": [{"convert": {"field": "a", "type": "long"}}], "on_failure": [{"drop": {}}]}), json!({"a": "z"}))
            .unwrap();
        assert_eq!(f, Flow::Drop);
        let (_, s) = run(
            json!({"processors": [{"lowercase": {"field": "zz", "ignore_failure": true}}]}),
            json!({"k": 1}),
        )
        .unwrap();
        assert_eq!(s, json!({"k": 1}));
        let e = run(json!({"processors": [{"uppercase": {"field": "k"}}]}), json!({"k": 1})).unwrap_err();
        assert_eq!(e.reason, "field [k] of type [java.lang.Integer] cannot be cast to [java.lang.String]");
        let e = run(json!({"processors": [{"fail": {"message": "stop"}}]}), json!({})).unwrap_err();
        assert_eq!((e.kind, e.reason.as_str()), (ErrorType::FailProcessor, "stop"));
        let e = run(json!({"processors": [{"pipeline": {"name": "nope"}}]}), json!({})).unwrap_err();
        assert!(e.reason.contains("non-existent pipeline [nope]"));
    }
}
