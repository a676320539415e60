//! Composable index templates and component templates: what is stored, how a new index finds
//! its template, and how the template's parts are composed into the index's settings, mapping
//! and aliases, as Elasticsearch composes them (`MetadataIndexTemplateService`).
//!
//! Templates are store entries (kinds `index_template` and `component_template`, JSON in the
//! schema below), replicated like every other entry. The REST handlers are in
//! `api/template.rs`; index creation (explicit, or by a first write) calls [`Templates::apply`].

use std::collections::BTreeMap;

use bulwark_index::Mapping;
use bulwark_pattern::{Syntax, matches};
use bulwark_store::EntryKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::api::alias::parse_alias_meta;
use crate::api::settings::parse_settings;
use crate::indices::{AliasMeta, NewIndex, nest_settings};
use crate::resolve::validate_index_name;
use crate::{ApiError, ErrorType, RestState};

/// The field every data stream document must have.
pub const TIMESTAMP_FIELD: &str = "@timestamp";

/// The `template` part shared by index and component templates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateParts {
    /// Index settings without their `index.` prefix, checked as index creation checks them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, Value>,
    /// A mapping (`{"properties": ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<Value>,
    /// Aliases added to every new index.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, AliasMeta>,
}

/// A component template (`_component_template`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentTemplate {
    /// What it adds.
    pub template: TemplateParts,
    /// `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// `_meta`.
    #[serde(default, rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
}

/// `data_stream` of an index template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DataStreamTemplate {
    /// Whether the streams it makes are hidden.
    #[serde(default)]
    pub hidden: bool,
}

/// A composable index template (`_index_template`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexTemplate {
    /// The names of new indices (or data streams) it applies to.
    pub index_patterns: Vec<String>,
    /// What it adds, over its component templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateParts>,
    /// Component templates applied first, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub composed_of: Vec<String>,
    /// The highest priority among matching templates wins (absent: 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u64>,
    /// `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// `_meta`.
    #[serde(default, rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Present: matching names become data streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_stream: Option<DataStreamTemplate>,
    /// Component templates that may be missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_missing_component_templates: Vec<String>,
}

/// Fields of an index template body.
pub const INDEX_TEMPLATE_FIELDS: &[&str] = &[
    "index_patterns",
    "template",
    "composed_of",
    "priority",
    "version",
    "_meta",
    "data_stream",
    "ignore_missing_component_templates",
    "allow_auto_create",
    "deprecated",
];

/// Fields of a component template body.
pub const COMPONENT_TEMPLATE_FIELDS: &[&str] = &["template", "version", "_meta", "deprecated"];

/// Fields of the `template` object.
pub const TEMPLATE_PART_FIELDS: &[&str] =
    &["settings", "mappings", "aliases", "lifecycle", "data_stream_options"];

/// Fields of `data_stream` in an index template.
pub const DATA_STREAM_TEMPLATE_FIELDS: &[&str] = &["hidden", "allow_custom_routing"];

fn not_supported(field: &str, object: &str) -> ApiError {
    ApiError::illegal_argument(format!(
        "[{field}] in [{object}] is not supported by this node; remove it from the request"
    ))
}

fn long(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| ApiError::parse(format!("[{key}] must be a whole number")))
        }
        Some(Value::String(s)) => {
            s.parse().map(Some).map_err(|_| ApiError::parse(format!("[{key}] must be a whole number")))
        }
        Some(_) => Err(ApiError::parse(format!("[{key}] must be a whole number"))),
    }
}

/// Reads the `template` object of either kind of template.
fn parse_parts(v: &Value) -> Result<TemplateParts, ApiError> {
    let Value::Object(m) = v else { return Err(ApiError::parse("[template] must be an object")) };
    crate::body::known_fields(m, "template", TEMPLATE_PART_FIELDS)?;
    for unsupported in ["lifecycle", "data_stream_options"] {
        if m.contains_key(unsupported) {
            return Err(not_supported(unsupported, "template"));
        }
    }
    let mut parts = TemplateParts::default();
    if let Some(s) = m.get("settings").filter(|s| !s.is_null()) {
        parts.settings = parse_settings(s)?;
    }
    if let Some(mappings) = m.get("mappings").filter(|s| !s.is_null()) {
        Mapping::from_json_limited(mappings, crate::indices::total_fields_limit(&parts.settings))
            .map_err(ApiError::from)?;
        parts.mappings = Some(mappings.clone());
    }
    if let Some(a) = m.get("aliases").filter(|s| !s.is_null()) {
        let Value::Object(a) = a else { return Err(ApiError::parse("[aliases] must be an object")) };
        for (alias, meta) in a {
            validate_index_name(alias)?;
            parts.aliases.insert(alias.clone(), parse_alias_meta(alias, meta)?);
        }
    }
    Ok(parts)
}

/// Reads a component template body.
pub fn parse_component(m: &Map<String, Value>) -> Result<ComponentTemplate, ApiError> {
    crate::body::known_fields(m, "component_template", COMPONENT_TEMPLATE_FIELDS)?;
    if m.contains_key("deprecated") {
        return Err(not_supported("deprecated", "component_template"));
    }
    let template = match m.get("template") {
        Some(v) => parse_parts(v)?,
        None => {
            return Err(ApiError::new(
                ErrorType::XContentParse,
                "[component_template] failed to parse field [template]: Required [template]",
            ));
        }
    };
    Ok(ComponentTemplate {
        template,
        version: long(m, "version")?,
        meta: crate::body::opt_object(m, "_meta")?,
    })
}

/// Reads an index template body (not yet checked against the other templates).
pub fn parse_index_template(m: &Map<String, Value>) -> Result<IndexTemplate, ApiError> {
    crate::body::known_fields(m, "index_template", INDEX_TEMPLATE_FIELDS)?;
    for unsupported in ["allow_auto_create", "deprecated"] {
        if m.contains_key(unsupported) {
            return Err(not_supported(unsupported, "index_template"));
        }
    }
    let index_patterns = crate::body::opt_strings(m, "index_patterns")?.unwrap_or_default();
    if index_patterns.is_empty() {
        return Err(crate::body::validation("index patterns are missing"));
    }
    for p in &index_patterns {
        if p.contains(' ') || p.contains(',') || p.contains('"') || p.starts_with('_') {
            return Err(ApiError::new(
                ErrorType::InvalidIndexTemplate,
                format!(
                    "index_template [{p}] invalid, cause [index_pattern [{p}] must not contain a space, ',', '\"' or start with '_']"
                ),
            ));
        }
    }
    let priority = match long(m, "priority")? {
        Some(p) if p < 0 => return Err(crate::body::validation("priority must be >= 0")),
        p => p.map(i64::unsigned_abs),
    };
    let data_stream = match m.get("data_stream") {
        None | Some(Value::Null) => None,
        Some(Value::Object(d)) => {
            crate::body::known_fields(d, "data_stream", DATA_STREAM_TEMPLATE_FIELDS)?;
            if crate::body::opt_bool(d, "allow_custom_routing")? == Some(true) {
                return Err(not_supported("allow_custom_routing", "data_stream"));
            }
            Some(DataStreamTemplate { hidden: crate::body::opt_bool(d, "hidden")?.unwrap_or(false) })
        }
        Some(_) => return Err(ApiError::parse("[data_stream] must be an object")),
    };
    Ok(IndexTemplate {
        index_patterns,
        template: m.get("template").filter(|v| !v.is_null()).map(parse_parts).transpose()?,
        composed_of: crate::body::opt_strings(m, "composed_of")?.unwrap_or_default(),
        priority,
        version: long(m, "version")?,
        meta: crate::body::opt_object(m, "_meta")?,
        data_stream,
        ignore_missing_component_templates: crate::body::opt_strings(
            m,
            "ignore_missing_component_templates",
        )?
        .unwrap_or_default(),
    })
}

/// The `template` object as Elasticsearch shows it (settings nested under `index`).
pub fn parts_json(p: &TemplateParts) -> Value {
    let mut out = Map::new();
    if !p.settings.is_empty() {
        out.insert("settings".into(), Value::Object(nest_settings_index(&p.settings)));
    }
    if let Some(m) = &p.mappings {
        out.insert("mappings".into(), m.clone());
    }
    if !p.aliases.is_empty() {
        out.insert("aliases".into(), json!(p.aliases));
    }
    Value::Object(out)
}

fn nest_settings_index(flat: &BTreeMap<String, Value>) -> Map<String, Value> {
    let prefixed: BTreeMap<String, Value> =
        flat.iter().map(|(k, v)| (format!("index.{k}"), v.clone())).collect();
    nest_settings(&prefixed)
}

/// A component template as `GET _component_template` shows it.
pub fn component_json(t: &ComponentTemplate) -> Value {
    let mut m = Map::new();
    m.insert("template".into(), parts_json(&t.template));
    if let Some(v) = t.version {
        m.insert("version".into(), json!(v));
    }
    if let Some(meta) = &t.meta {
        m.insert("_meta".into(), Value::Object(meta.clone()));
    }
    Value::Object(m)
}

/// An index template as `GET _index_template` shows it.
pub fn index_template_json(t: &IndexTemplate) -> Value {
    let mut m = Map::new();
    m.insert("index_patterns".into(), json!(t.index_patterns));
    if let Some(p) = &t.template {
        m.insert("template".into(), parts_json(p));
    }
    m.insert("composed_of".into(), json!(t.composed_of));
    if let Some(p) = t.priority {
        m.insert("priority".into(), json!(p));
    }
    if let Some(v) = t.version {
        m.insert("version".into(), json!(v));
    }
    if let Some(meta) = &t.meta {
        m.insert("_meta".into(), Value::Object(meta.clone()));
    }
    if let Some(d) = t.data_stream {
        m.insert("data_stream".into(), json!({"hidden": d.hidden, "allow_custom_routing": false}));
    }
    if !t.ignore_missing_component_templates.is_empty() {
        m.insert("ignore_missing_component_templates".into(), json!(t.ignore_missing_component_templates));
    }
    Value::Object(m)
}

/// Whether two simple wildcard patterns (`*` only) can match a common name.
pub fn patterns_overlap(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // reach[i][j]: the prefixes a[..i] and b[..j] can produce a common string.
    let mut reach = vec![vec![false; b.len() + 1]; a.len() + 1];
    reach[0][0] = true;
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if !reach[i][j] {
                continue;
            }
            let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
            if ca == Some('*') {
                reach[i + 1][j] = true;
                if cb.is_some() {
                    reach[i][j + 1] = true;
                }
            }
            if cb == Some('*') {
                reach[i][j + 1] = true;
                if ca.is_some() {
                    reach[i + 1][j] = true;
                }
            }
            if let (Some(x), Some(y)) = (ca, cb)
                && x != '*'
                && x == y
            {
                reach[i + 1][j + 1] = true;
            }
        }
    }
    reach[a.len()][b.len()]
}

/// An object field's definition (no `type`, or `object`, with `properties`).
fn object_field(v: &Value) -> bool {
    v.get("properties").is_some() && v.get("type").is_none_or(|t| t == "object")
}

/// Deep-merges `overlay` into `base` as Elasticsearch merges template mappings: `properties`
/// merge field by field (object fields recursively), `_meta` key by key, anything else is
/// replaced.
pub fn merge_mapping(base: &mut Value, overlay: &Value) {
    let (Value::Object(b), Value::Object(o)) = (&mut *base, overlay) else {
        *base = overlay.clone();
        return;
    };
    for (k, v) in o {
        match b.get_mut(k) {
            Some(existing) if k == "properties" || k == "_meta" => merge_fields(existing, v),
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Merges a `properties` (or `_meta`) object: an entry both sides define as an object field
/// merges, any other entry of `overlay` replaces.
fn merge_fields(base: &mut Value, overlay: &Value) {
    let (Value::Object(b), Value::Object(o)) = (&mut *base, overlay) else {
        *base = overlay.clone();
        return;
    };
    for (k, v) in o {
        match b.get_mut(k) {
            Some(existing) if object_field(existing) && object_field(v) => merge_mapping(existing, v),
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Every index and component template, read once.
pub struct Templates {
    /// Index templates by name.
    pub index: BTreeMap<String, IndexTemplate>,
    /// Component templates by name.
    pub component: BTreeMap<String, ComponentTemplate>,
}

impl Templates {
    /// Reads the templates from the store (an unreadable entry is an error, not skipped).
    pub fn load(state: &RestState) -> Result<Templates, ApiError> {
        let read = |kind: EntryKind| -> Result<Vec<(String, Value)>, ApiError> {
            state.store.entries(kind).map_err(ApiError::from)
        };
        let mut index = BTreeMap::new();
        for (name, v) in read(EntryKind::IndexTemplate)? {
            let t = serde_json::from_value(v).map_err(|e| {
                ApiError::store(format!("the stored index template [{name}] is unreadable: {e}"))
            })?;
            index.insert(name, t);
        }
        let mut component = BTreeMap::new();
        for (name, v) in read(EntryKind::ComponentTemplate)? {
            let t = serde_json::from_value(v).map_err(|e| {
                ApiError::store(format!("the stored component template [{name}] is unreadable: {e}"))
            })?;
            component.insert(name, t);
        }
        Ok(Templates { index, component })
    }

    /// The index template a new index (or data stream) `name` gets: among those with a
    /// pattern matching it, the one with the highest priority. A hidden index ignores
    /// templates whose only matching pattern is `*`, as in Elasticsearch.
    pub fn find(&self, name: &str, hidden: bool) -> Option<(&str, &IndexTemplate)> {
        self.index
            .iter()
            .filter(|(_, t)| {
                t.index_patterns.iter().any(|p| (!hidden || p != "*") && matches(p, name, Syntax::STAR))
            })
            .max_by_key(|(n, t)| (t.priority.unwrap_or(0), std::cmp::Reverse(n.as_str())))
            .map(|(n, t)| (n.as_str(), t))
    }

    /// Other templates with the same priority and an overlapping pattern, by name with their
    /// patterns (Elasticsearch refuses such a template).
    pub fn conflicts(&self, name: &str, t: &IndexTemplate) -> BTreeMap<String, Vec<String>> {
        let priority = t.priority.unwrap_or(0);
        self.index
            .iter()
            .filter(|(n, o)| {
                n.as_str() != name
                    && o.priority.unwrap_or(0) == priority
                    && o.index_patterns
                        .iter()
                        .any(|p| t.index_patterns.iter().any(|q| patterns_overlap(p, q)))
            })
            .map(|(n, o)| (n.clone(), o.index_patterns.clone()))
            .collect()
    }

    /// Component templates `t` names that do not exist (and may not be missing).
    pub fn missing_components(&self, t: &IndexTemplate) -> Vec<String> {
        t.composed_of
            .iter()
            .filter(|c| !self.component.contains_key(*c) && !t.ignore_missing_component_templates.contains(c))
            .cloned()
            .collect()
    }

    /// Settings, mapping and aliases of template `t`: its component templates in order, then
    /// its own `template`.
    pub fn compose(&self, t: &IndexTemplate) -> TemplateParts {
        let mut out = TemplateParts::default();
        let parts = t
            .composed_of
            .iter()
            .filter_map(|c| self.component.get(c).map(|c| &c.template))
            .chain(t.template.as_ref());
        for p in parts {
            out.settings.extend(p.settings.iter().map(|(k, v)| (k.clone(), v.clone())));
            if let Some(m) = &p.mappings {
                match &mut out.mappings {
                    Some(base) => merge_mapping(base, m),
                    None => out.mappings = Some(m.clone()),
                }
            }
            out.aliases.extend(p.aliases.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if t.data_stream.is_some() {
            let mapping = out.mappings.get_or_insert_with(|| json!({}));
            merge_mapping(mapping, &json!({"properties": {TIMESTAMP_FIELD: {"type": "date"}}}));
            // The template's own `@timestamp` wins when it names a type.
            for p in t
                .composed_of
                .iter()
                .filter_map(|c| self.component.get(c).map(|c| &c.template))
                .chain(t.template.as_ref())
            {
                if let Some(ts) = p.mappings.as_ref().and_then(|m| m.pointer("/properties/@timestamp")) {
                    merge_mapping(mapping, &json!({"properties": {TIMESTAMP_FIELD: ts}}));
                }
            }
        }
        out
    }

    /// What a new index `name` is created with: the matching template's parts under the
    /// request's own (settings override, mappings merge, aliases add up). `hidden` says
    /// whether the request makes a hidden index.
    pub fn apply(&self, name: &str, request: NewIndex) -> Result<NewIndex, ApiError> {
        let hidden = request.settings.get("hidden").is_some_and(|v| v == "true" || v == &Value::Bool(true));
        let Some((_, t)) = self.find(name, hidden) else { return Ok(request) };
        let parts = self.compose(t);
        Ok(overlay(parts, request))
    }
}

/// `request` over `parts`.
pub fn overlay(parts: TemplateParts, request: NewIndex) -> NewIndex {
    let mut settings = parts.settings;
    settings.extend(request.settings);
    let mappings = match (parts.mappings, request.mappings) {
        (Some(mut base), Some(m)) => {
            merge_mapping(&mut base, &m);
            Some(base)
        }
        (a, b) => b.or(a),
    };
    let mut aliases = parts.aliases;
    aliases.extend(request.aliases);
    NewIndex { settings, mappings, aliases, data_stream: request.data_stream }
}

/// The names in `set`, as Elasticsearch lists them (`[a, b]`).
pub fn list<'a>(set: impl IntoIterator<Item = &'a String>) -> String {
    let v: Vec<&str> = set.into_iter().map(String::as_str).collect();
    format!("[{}]", v.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_patterns() {
        for (a, b, want) in [
            ("logs-*", "logs-app-*", true),
            ("logs-*", "metrics-*", false),
            ("*", "anything", true),
            ("a*c", "ab*", true),
            ("abc", "abd", false),
            ("egg*", "abc", false),
            ("baz", "baz*", true),
            ("*-x", "y-*", true),
            ("a*b", "c*", false),
        ] {
            assert_eq!(patterns_overlap(a, b), want, "{a} {b}");
            assert_eq!(patterns_overlap(b, a), want, "{b} {a}");
        }
    }

    #[test]
    fn mappings_merge_field_by_field() {
        let mut base =
            json!({"properties": {"a": {"type": "keyword"}, "o": {"properties": {"x": {"type": "long"}}}}});
        merge_mapping(
            &mut base,
            &json!({"properties": {"b": {"type": "long"}, "a": {"type": "text"}, "o": {"properties": {"y": {"type": "ip"}}}}}),
        );
        assert_eq!(
            base,
            json!({"properties": {"a": {"type": "text"}, "b": {"type": "long"}, "o": {"properties": {"x": {"type": "long"}, "y": {"type": "ip"}}}}})
        );
    }
}
