//! Elasticsearch mappings: explicit definitions, dynamic additions, merging, and the JSON shape
//! of `GET _mapping`.
//!
//! A [`Mapping`] is a tree of named fields. Objects hold `properties`; leaves hold a
//! [`FieldType`] and may have multi-fields (`fields`, e.g. `title.keyword`). Field names with
//! dots are expanded into objects, as Elasticsearch does. Which parameters are accepted, and
//! what is done with each, is [`crate::mapping_params`].

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::{IndexError, Result};
pub(crate) use crate::field_type::ValueKind;
pub use crate::field_type::{Dynamic, FieldType};
use crate::mapping_params::{LEAF_PARAMS, OBJECT_PARAMS, ROOT_PARAMS, check_fixed, rule};

/// Maximum number of fields (objects and multi-fields included), as
/// `index.mapping.total_fields.limit` defaults.
pub const TOTAL_FIELDS_LIMIT: usize = 1000;
/// Maximum object depth, as `index.mapping.depth.limit` defaults.
pub const DEPTH_LIMIT: usize = 20;
/// The `ignore_above` of the `keyword` sub-field dynamic mapping adds to strings.
pub const DYNAMIC_KEYWORD_IGNORE_ABOVE: u64 = 256;

/// Names reserved for metadata fields; a document may not contain them at its top level.
pub(crate) const METADATA_FIELDS: &[&str] = &[
    "_id",
    "_index",
    "_source",
    "_routing",
    "_seq_no",
    "_primary_term",
    "_version",
    "_field_names",
    "_ignored",
    "_tier",
    "_doc_count",
    "_data_stream_timestamp",
    "_nested_path",
    "_feature",
];

/// One field of a mapping: a leaf with a type (and maybe multi-fields) or an object.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    ty: FieldType,
    /// Whether `type` was written out (objects usually omit it).
    explicit_type: bool,
    properties: BTreeMap<String, FieldMapping>,
    fields: BTreeMap<String, FieldMapping>,
    dynamic: Option<Dynamic>,
    params: Map<String, Value>,
}

impl FieldMapping {
    fn object() -> FieldMapping {
        FieldMapping {
            ty: FieldType::Object,
            explicit_type: false,
            properties: BTreeMap::new(),
            fields: BTreeMap::new(),
            dynamic: None,
            params: Map::new(),
        }
    }

    fn leaf(ty: FieldType) -> FieldMapping {
        FieldMapping { explicit_type: true, ..FieldMapping::object() }.with_type(ty)
    }

    fn with_type(mut self, ty: FieldType) -> FieldMapping {
        self.ty = ty;
        self
    }

    /// The field's type.
    pub fn field_type(&self) -> FieldType {
        self.ty
    }

    /// `ignore_above`: longer keyword values are not indexed.
    pub(crate) fn ignore_above(&self) -> Option<u64> {
        self.params.get("ignore_above").and_then(Value::as_u64)
    }

    /// `format` of a date field.
    pub(crate) fn format(&self) -> Option<&str> {
        self.params.get("format").and_then(Value::as_str)
    }

    /// `scaling_factor` of a `scaled_float`: values are indexed as `round(value * factor) / factor`.
    pub(crate) fn scaling_factor(&self) -> Option<f64> {
        self.params.get("scaling_factor").and_then(Value::as_f64)
    }

    pub(crate) fn null_value(&self) -> Option<&Value> {
        self.params.get("null_value").filter(|v| !v.is_null())
    }

    fn flag(&self, name: &str, default: bool) -> bool {
        match self.params.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s != "false",
            _ => default,
        }
    }

    pub(crate) fn coerce(&self) -> bool {
        self.flag("coerce", true)
    }

    pub(crate) fn ignore_malformed(&self) -> bool {
        self.flag("ignore_malformed", false)
    }

    pub(crate) fn indexed(&self) -> bool {
        self.flag("index", true)
    }

    /// Objects: whether the contents are parsed at all (`enabled: false` keeps them in
    /// `_source` only).
    pub(crate) fn enabled(&self) -> bool {
        self.flag("enabled", true)
    }

    pub(crate) fn dynamic(&self) -> Option<Dynamic> {
        self.dynamic
    }

    pub(crate) fn multi_fields(&self) -> &BTreeMap<String, FieldMapping> {
        &self.fields
    }

    /// A field as a dynamic template's `mapping` defines it.
    pub(crate) fn parse_dynamic(name: &str, v: &Value) -> Result<FieldMapping> {
        FieldMapping::parse(name, v, false)
    }

    fn parse(name: &str, v: &Value, multi_field: bool) -> Result<FieldMapping> {
        let Value::Object(obj) = v else {
            return Err(IndexError::mapper(format!(
                "Expected map for property [fields] on field [{name}] but got a {}",
                json_kind(v)
            )));
        };
        let ty = match obj.get("type") {
            None if obj.contains_key("properties") || obj.is_empty() => FieldType::Object,
            None if obj.keys().all(|k| rule(OBJECT_PARAMS, k).is_some()) => FieldType::Object,
            None => return Err(IndexError::mapper(format!("No type specified for field [{name}]"))),
            Some(Value::String(t)) => FieldType::from_name(t).ok_or_else(|| {
                IndexError::mapper(format!("No handler for type [{t}] declared on field [{name}]"))
            })?,
            Some(other) => {
                return Err(IndexError::mapper(format!(
                    "No handler for type [{other}] declared on field [{name}]"
                )));
            }
        };
        if multi_field && ty.is_object() {
            return Err(IndexError::mapper(format!("Type [{ty}] cannot be used in multi field")));
        }
        let mut m = FieldMapping::object().with_type(ty);
        m.explicit_type = obj.contains_key("type");
        if ty == FieldType::ScaledFloat && !obj.contains_key("scaling_factor") {
            return Err(IndexError::mapper(format!("Field [scaling_factor] is required on mapper [{name}]")));
        }
        let table = if ty.is_object() { OBJECT_PARAMS } else { LEAF_PARAMS };
        for (k, val) in obj {
            let Some(param_rule) = rule(table, k) else {
                return Err(IndexError::mapper(format!(
                    "unknown parameter [{k}] on mapper [{name}] of type [{ty}]"
                )));
            };
            check_fixed(param_rule, name, Some(ty), k, val)?;
            match k.as_str() {
                "type" => {}
                "properties" => m.properties = parse_properties(name, val)?,
                "dynamic" => m.dynamic = Some(Dynamic::parse(val, name)?),
                "fields" => {
                    let Value::Object(fields) = val else {
                        return Err(IndexError::mapper(format!(
                            "Expected map for property [fields] on field [{name}] but got a {}",
                            json_kind(val)
                        )));
                    };
                    for (sub, def) in fields {
                        check_name(sub)?;
                        let full = format!("{name}.{sub}");
                        m.fields.insert(sub.clone(), FieldMapping::parse(&full, def, true)?);
                    }
                }
                p => {
                    check_param(name, ty, p, val)?;
                    m.params.insert(k.clone(), val.clone());
                }
            }
        }
        Ok(m)
    }

    fn to_json(&self) -> Value {
        let mut out = Map::new();
        if !self.ty.is_object() || self.explicit_type && self.ty == FieldType::Nested {
            out.insert("type".into(), Value::String(self.ty.as_str().into()));
        }
        if let Some(d) = self.dynamic {
            out.insert("dynamic".into(), d.to_json());
        }
        for (k, v) in &self.params {
            out.insert(k.clone(), v.clone());
        }
        if !self.fields.is_empty() {
            let fields: Map<String, Value> =
                self.fields.iter().map(|(k, f)| (k.clone(), f.to_json())).collect();
            out.insert("fields".into(), Value::Object(fields));
        }
        if !self.properties.is_empty() {
            out.insert("properties".into(), properties_json(&self.properties));
        }
        Value::Object(out)
    }

    /// Merges `other` into `self`; `path` names the field in errors.
    fn merge(&mut self, other: &FieldMapping, path: &str) -> Result<()> {
        if self.ty.is_object() != other.ty.is_object() {
            return Err(IndexError::illegal(format!(
                "can't merge a non object mapping [{path}] with an object mapping"
            )));
        }
        if self.ty != other.ty {
            return Err(IndexError::illegal(format!(
                "mapper [{path}] cannot be changed from type [{}] to [{}]",
                self.ty, other.ty
            )));
        }
        if other.dynamic.is_some() {
            self.dynamic = other.dynamic;
        }
        for (k, v) in &other.params {
            self.params.insert(k.clone(), v.clone());
        }
        merge_children(&mut self.properties, &other.properties, path)?;
        merge_children(&mut self.fields, &other.fields, path)
    }

    fn count(&self) -> usize {
        1 + self.fields.len() + self.properties.values().map(FieldMapping::count).sum::<usize>()
    }

    fn depth(&self) -> usize {
        1 + self.properties.values().map(FieldMapping::depth).max().unwrap_or(0)
    }
}

fn merge_children(
    mine: &mut BTreeMap<String, FieldMapping>,
    theirs: &BTreeMap<String, FieldMapping>,
    path: &str,
) -> Result<()> {
    for (name, f) in theirs {
        let full = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        match mine.get_mut(name) {
            Some(existing) => existing.merge(f, &full)?,
            None => {
                mine.insert(name.clone(), f.clone());
            }
        }
    }
    Ok(())
}

fn check_param(name: &str, ty: FieldType, param: &str, v: &Value) -> Result<()> {
    let ok = match param {
        "ignore_above" => v.as_u64().is_some() || v.as_str().is_some_and(|s| s.parse::<u64>().is_ok()),
        "format" => v.is_string(),
        "scaling_factor" => v.as_f64().is_some_and(|f| f.is_finite() && f > 0.0),
        "index" | "coerce" | "ignore_malformed" | "doc_values" | "store" | "norms" => {
            v.is_boolean() || v.as_str().is_some_and(|s| s == "true" || s == "false")
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(IndexError::mapper(format!(
            "Failed to parse mapping: unknown value [{v}] for parameter [{param}] on mapper [{name}] of type [{ty}]"
        )))
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(IndexError::mapper("field name cannot be an empty string"));
    }
    if name.chars().any(|c| c == '\0' || c == '\u{1}') {
        return Err(IndexError::mapper(format!(
            "field name [{}] contains a control character",
            name.escape_debug()
        )));
    }
    Ok(())
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses `properties`, expanding dotted names into objects.
fn parse_properties(parent: &str, v: &Value) -> Result<BTreeMap<String, FieldMapping>> {
    let Value::Object(props) = v else {
        return Err(IndexError::mapper(format!(
            "Expected map for property [properties] on field [{parent}] but got a {}",
            json_kind(v)
        )));
    };
    let mut out: BTreeMap<String, FieldMapping> = BTreeMap::new();
    for (name, def) in props {
        let segments: Vec<&str> = name.split('.').collect();
        for s in &segments {
            check_name(s)?;
        }
        let full = if parent.is_empty() { name.clone() } else { format!("{parent}.{name}") };
        let mut field = FieldMapping::parse(&full, def, false)?;
        for seg in segments[1..].iter().rev() {
            let mut obj = FieldMapping::object();
            obj.properties.insert((*seg).to_string(), field);
            field = obj;
        }
        let first = segments[0].to_string();
        match out.get_mut(&first) {
            Some(existing) => existing.merge(&field, &full)?,
            None => {
                out.insert(first, field);
            }
        }
    }
    Ok(out)
}

fn properties_json(props: &BTreeMap<String, FieldMapping>) -> Value {
    Value::Object(props.iter().map(|(k, f)| (k.clone(), f.to_json())).collect())
}

/// Checks the `_source` mapping: only the default (the whole source stored and returned) is
/// accepted. `includes`, `excludes`, `enabled: false` and `mode` would change what is stored
/// and returned; this node keeps and returns the whole source, so they are refused rather than
/// ignored.
fn check_source(v: &Value) -> Result<()> {
    let Value::Object(m) = v else {
        return Err(IndexError::mapper("[_source] must be an object"));
    };
    for (k, val) in m {
        let default = match k.as_str() {
            "enabled" => matches!(val, Value::Bool(true)) || val == "true",
            "includes" | "excludes" => val.as_array().is_some_and(Vec::is_empty),
            "mode" => val == "stored",
            _ => false,
        };
        if !default {
            return Err(IndexError::mapper(format!(
                "[_source.{k}] is not supported by this node: the whole source is always stored and returned"
            )));
        }
    }
    Ok(())
}

/// An Elasticsearch index mapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping {
    properties: BTreeMap<String, FieldMapping>,
    dynamic: Option<Dynamic>,
    extra: Map<String, Value>,
    /// `dynamic_templates`, checked (their JSON is in `extra`).
    templates: Vec<crate::dynamic_templates::DynamicTemplate>,
    /// The index's `index.mapping.total_fields.limit` ([`TOTAL_FIELDS_LIMIT`] when `None`):
    /// a setting, not part of the mapping's JSON.
    total_fields_limit: Option<usize>,
}

impl Mapping {
    /// An empty mapping with dynamic mapping on.
    pub fn new() -> Mapping {
        Mapping::default()
    }

    /// Parses the body of `mappings` (`{"properties": {...}, "dynamic": ...}`), within the
    /// default `index.mapping.total_fields.limit`.
    pub fn from_json(v: &Value) -> Result<Mapping> {
        Mapping::from_json_limited(v, TOTAL_FIELDS_LIMIT)
    }

    /// Parses the body of `mappings` for an index whose `index.mapping.total_fields.limit` is
    /// `limit` (`usize::MAX` reads a mapping already accepted, whatever its size).
    pub fn from_json_limited(v: &Value, limit: usize) -> Result<Mapping> {
        let Value::Object(obj) = v else {
            return Err(IndexError::mapper(format!(
                "Failed to parse mapping: Expected map for property [mappings] but got a {}",
                json_kind(v)
            )));
        };
        let mut m = Mapping { total_fields_limit: Some(limit), ..Mapping::new() };
        let mut unsupported = Vec::new();
        for (k, val) in obj {
            let Some(param_rule) = rule(ROOT_PARAMS, k) else {
                unsupported.push(format!("{k} : {val}"));
                continue;
            };
            check_fixed(param_rule, "_doc", None, k, val)?;
            match k.as_str() {
                "properties" => m.properties = parse_properties("", val)?,
                "dynamic" => m.dynamic = Some(Dynamic::parse(val, "_doc")?),
                "dynamic_templates" => {
                    m.templates = crate::dynamic_templates::parse(val)?;
                    m.extra.insert(k.clone(), val.clone());
                }
                "_source" => {
                    check_source(val)?;
                    m.extra.insert(k.clone(), val.clone());
                }
                _ => {
                    m.extra.insert(k.clone(), val.clone());
                }
            }
        }
        if !unsupported.is_empty() {
            return Err(IndexError::mapper(format!(
                "Root mapping definition has unsupported parameters:  [{}]",
                unsupported.join("] [")
            )));
        }
        m.check_limits()?;
        Ok(m)
    }

    /// The mapping as `GET _mapping` shows it under `mappings`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        if let Some(d) = self.dynamic {
            out.insert("dynamic".into(), d.to_json());
        }
        for (k, v) in &self.extra {
            out.insert(k.clone(), v.clone());
        }
        if !self.properties.is_empty() {
            out.insert("properties".into(), properties_json(&self.properties));
        }
        Value::Object(out)
    }

    /// The `index.mapping.total_fields.limit` updates are checked against.
    pub fn total_fields_limit(&self) -> usize {
        self.total_fields_limit.unwrap_or(TOTAL_FIELDS_LIMIT)
    }

    /// Sets `index.mapping.total_fields.limit` (e.g. when the setting changes): later updates
    /// are checked against it; the fields already mapped stay, as in Elasticsearch.
    pub fn set_total_fields_limit(&mut self, limit: usize) {
        self.total_fields_limit = Some(limit);
    }

    /// Whether no field is mapped.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// The root `dynamic` setting.
    pub fn dynamic(&self) -> Dynamic {
        self.dynamic.unwrap_or_default()
    }

    /// Whether strings that look like dates are mapped as `date` (`date_detection`).
    pub(crate) fn date_detection(&self) -> bool {
        !matches!(self.extra.get("date_detection"), Some(Value::Bool(false)))
    }

    /// Whether strings that look like numbers are mapped as numbers (`numeric_detection`).
    pub(crate) fn numeric_detection(&self) -> bool {
        matches!(self.extra.get("numeric_detection"), Some(Value::Bool(true)))
    }

    /// Merges `other` into this mapping (`PUT _mapping`, or a dynamic update). A field that
    /// changes type is refused (`illegal_argument_exception`) and nothing changes.
    pub fn merge(&mut self, other: &Mapping) -> Result<()> {
        let mut merged = self.clone();
        merge_children(&mut merged.properties, &other.properties, "")?;
        if other.dynamic.is_some() {
            merged.dynamic = other.dynamic;
        }
        for (k, v) in &other.extra {
            merged.extra.insert(k.clone(), v.clone());
        }
        if other.extra.contains_key("dynamic_templates") {
            merged.templates = other.templates.clone();
        }
        merged.check_limits()?;
        *self = merged;
        Ok(())
    }

    /// How many fields are mapped (objects and multi-fields included), as Elasticsearch counts
    /// them against `index.mapping.total_fields.limit`.
    pub(crate) fn total_fields(&self) -> usize {
        self.properties.values().map(FieldMapping::count).sum()
    }

    fn check_limits(&self) -> Result<()> {
        let count = self.total_fields();
        let limit = self.total_fields_limit();
        if count > limit {
            return Err(IndexError::illegal(format!("Limit of total fields [{limit}] has been exceeded")));
        }
        let depth = 1 + self.properties.values().map(FieldMapping::depth).max().unwrap_or(0);
        if depth > DEPTH_LIMIT {
            return Err(IndexError::illegal(format!(
                "Limit of mapping depth [{DEPTH_LIMIT}] has been exceeded"
            )));
        }
        Ok(())
    }

    /// The type of the field at `path` (`a.b`, or a multi-field such as `title.keyword`).
    pub fn field_type(&self, path: &str) -> Option<FieldType> {
        self.get(path).map(|f| f.ty)
    }

    /// The field at `path`, object or leaf.
    pub(crate) fn get(&self, path: &str) -> Option<&FieldMapping> {
        let mut segments = path.split('.');
        let mut cur = self.properties.get(segments.next()?)?;
        for seg in segments {
            cur = if cur.ty.is_object() { cur.properties.get(seg)? } else { cur.fields.get(seg)? };
        }
        Some(cur)
    }

    /// Every leaf field (multi-fields included) with its full path, in path order.
    pub(crate) fn leaves(&self) -> Vec<(String, &FieldMapping)> {
        fn walk<'a>(
            prefix: &str,
            props: &'a BTreeMap<String, FieldMapping>,
            out: &mut Vec<(String, &'a FieldMapping)>,
        ) {
            for (name, f) in props {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                if f.ty.is_object() {
                    walk(&path, &f.properties, out);
                } else {
                    for (sub, sf) in &f.fields {
                        out.push((format!("{path}.{sub}"), sf));
                    }
                    out.push((path, f));
                }
            }
        }
        let mut out = Vec::new();
        walk("", &self.properties, &mut out);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The mapping with only the fields `visible` accepts (full dotted paths): hidden leaves
    /// and multi-fields are gone, objects left without a field are gone. A hidden field's
    /// multi-fields go with it.
    pub(crate) fn restricted(&self, visible: &dyn Fn(&str) -> bool) -> Mapping {
        fn prune(
            prefix: &str,
            props: &BTreeMap<String, FieldMapping>,
            visible: &dyn Fn(&str) -> bool,
        ) -> BTreeMap<String, FieldMapping> {
            let mut out = BTreeMap::new();
            for (name, f) in props {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                if f.ty.is_object() {
                    let kept = prune(&path, &f.properties, visible);
                    if !kept.is_empty() {
                        out.insert(name.clone(), FieldMapping { properties: kept, ..f.clone() });
                    }
                } else if visible(&path) {
                    let mut leaf = f.clone();
                    leaf.fields.retain(|sub, _| visible(&format!("{path}.{sub}")));
                    out.insert(name.clone(), leaf);
                }
            }
            out
        }
        Mapping { properties: prune("", &self.properties, visible), ..self.clone() }
    }

    /// Adds `field` at `segments` (creating intermediate objects) in a mapping used as a
    /// dynamic update.
    pub(crate) fn insert_path(&mut self, segments: &[&str], field: FieldMapping) {
        let Some((last, parents)) = segments.split_last() else {
            return;
        };
        let mut props = &mut self.properties;
        for seg in parents {
            let entry = props.entry((*seg).to_string()).or_insert_with(FieldMapping::object);
            props = &mut entry.properties;
        }
        props.insert((*last).to_string(), field);
    }

    /// The mapping dynamic mapping gives a new field whose first value is `v`, or `None` for
    /// values that add no field (`null`, empty arrays).
    /// The field dynamic mapping adds at `path` for its first value `v`: the first matching
    /// dynamic template's, or the one inferred from the value.
    pub(crate) fn dynamic_field(&self, path: &[String], v: &Value) -> Result<Option<FieldMapping>> {
        if !self.templates.is_empty() {
            let date =
                matches!(v, Value::String(s) if self.date_detection() && crate::date::detect(s).is_some());
            if let Some(ty) = crate::dynamic_templates::value_type(v, date)
                && let Some(f) = crate::dynamic_templates::find(&self.templates, path, ty)?
            {
                return Ok(Some(f));
            }
        }
        Ok(self.infer(v))
    }

    pub(crate) fn infer(&self, v: &Value) -> Option<FieldMapping> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(_) => FieldMapping::leaf(FieldType::Boolean),
            Value::Number(n) if n.is_i64() => FieldMapping::leaf(FieldType::Long),
            Value::Number(_) => FieldMapping::leaf(FieldType::Float),
            Value::String(s) => {
                if self.date_detection() && crate::date::detect(s).is_some() {
                    FieldMapping::leaf(FieldType::Date)
                } else if self.numeric_detection() && s.trim().parse::<i64>().is_ok() {
                    FieldMapping::leaf(FieldType::Long)
                } else if self.numeric_detection() && s.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                    FieldMapping::leaf(FieldType::Float)
                } else {
                    let mut text = FieldMapping::leaf(FieldType::Text);
                    let mut kw = FieldMapping::leaf(FieldType::Keyword);
                    kw.params.insert("ignore_above".into(), json!(DYNAMIC_KEYWORD_IGNORE_ABOVE));
                    text.fields.insert("keyword".into(), kw);
                    text
                }
            }
            Value::Array(items) => return items.iter().find_map(|i| self.infer(i)),
            Value::Object(_) => FieldMapping::object(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_explicit_mapping() {
        let src = json!({
            "properties": {
                "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
                "user": {"properties": {"name": {"type": "keyword"}, "age": {"type": "integer"}}},
                "when": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
                "tags": {"type": "keyword", "doc_values": true}
            }
        });
        let m = Mapping::from_json(&src).unwrap();
        assert_eq!(m.to_json(), src);
        assert_eq!(m.field_type("user.age"), Some(FieldType::Integer));
        assert_eq!(m.field_type("title.keyword"), Some(FieldType::Keyword));
        assert_eq!(m.field_type("user"), Some(FieldType::Object));
        assert_eq!(m.field_type("nope"), None);
        let leaves: Vec<String> = m.leaves().into_iter().map(|(p, _)| p).collect();
        assert_eq!(leaves, ["tags", "title", "title.keyword", "user.age", "user.name", "when"]);
    }

    #[test]
    fn dotted_names_become_objects() {
        let m =
            Mapping::from_json(&json!({"properties": {"a.b": {"type": "long"}, "a.c": {"type": "keyword"}}}))
                .unwrap();
        assert_eq!(
            m.to_json(),
            json!({"properties": {"a": {"properties": {"b": {"type": "long"}, "c": {"type": "keyword"}}}}})
        );
    }

    #[test]
    fn refuses_bad_definitions() {
        let cases = [
            (
                json!({"properties": {"f": {"type": "nope"}}}),
                "No handler for type [nope] declared on field [f]",
            ),
            (
                json!({"properties": {"f": {"type": "keyword", "foo": 1}}}),
                "unknown parameter [foo] on mapper [f]",
            ),
            (json!({"properties": {"f": {"ignore_above": 1}}}), "No type specified for field [f]"),
            (json!({"foo": 1}), "Root mapping definition has unsupported parameters"),
            (json!({"properties": 5}), "Expected map"),
            (json!({"properties": {"": {"type": "long"}}}), "field name cannot be an empty string"),
            (
                json!({"properties": {"f": {"type": "text", "fields": {"o": {"type": "object"}}}}}),
                "cannot be used in multi field",
            ),
            (json!({"properties": {"f": {"type": "keyword", "ignore_above": "x"}}}), "unknown value"),
            (json!([1]), "Expected map"),
        ];
        for (def, want) in cases {
            let err = Mapping::from_json(&def).unwrap_err();
            assert_eq!(err.error_type(), "mapper_parsing_exception", "{def}");
            assert!(err.reason().contains(want), "{def}: {}", err.reason());
        }
    }

    #[test]
    fn merge_refuses_type_changes() {
        let mut m = Mapping::from_json(&json!({"properties": {"f": {"type": "long"}}})).unwrap();
        let before = m.clone();
        let err = m
            .merge(&Mapping::from_json(&json!({"properties": {"f": {"type": "text"}}})).unwrap())
            .unwrap_err();
        assert_eq!(err.error_type(), "illegal_argument_exception");
        assert_eq!(err.reason(), "mapper [f] cannot be changed from type [long] to [text]");
        assert_eq!(m, before);
        let err = m
            .merge(
                &Mapping::from_json(&json!({"properties": {"f": {"properties": {"x": {"type": "long"}}}}}))
                    .unwrap(),
            )
            .unwrap_err();
        assert_eq!(err.error_type(), "illegal_argument_exception");
        m.merge(&Mapping::from_json(&json!({"properties": {"g": {"type": "keyword"}}})).unwrap()).unwrap();
        assert_eq!(m.field_type("g"), Some(FieldType::Keyword));
    }

    #[test]
    fn limits_total_fields() {
        let mut props = Map::new();
        for i in 0..=TOTAL_FIELDS_LIMIT {
            props.insert(format!("f{i}"), json!({"type": "long"}));
        }
        let err = Mapping::from_json(&json!({ "properties": props })).unwrap_err();
        assert_eq!(err.error_type(), "illegal_argument_exception");
    }

    #[test]
    fn infers_types() {
        let m = Mapping::new();
        let ty = |v: Value| m.infer(&v).map(|f| f.field_type());
        assert_eq!(ty(json!(1)), Some(FieldType::Long));
        assert_eq!(ty(json!(1.5)), Some(FieldType::Float));
        assert_eq!(ty(json!(true)), Some(FieldType::Boolean));
        assert_eq!(ty(json!("2024-01-01")), Some(FieldType::Date));
        assert_eq!(ty(json!("2024-01-01T10:00:00.123Z")), Some(FieldType::Date));
        assert_eq!(ty(json!("hello")), Some(FieldType::Text));
        assert_eq!(ty(json!({"a": 1})), Some(FieldType::Object));
        assert_eq!(ty(json!([null, 3])), Some(FieldType::Long));
        assert_eq!(ty(json!([])), None);
        assert_eq!(ty(json!(null)), None);
        let no_dates = Mapping::from_json(&json!({"date_detection": false})).unwrap();
        assert_eq!(no_dates.infer(&json!("2024-01-01")).map(|f| f.field_type()), Some(FieldType::Text));
    }
}
