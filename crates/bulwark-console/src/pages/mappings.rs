//! Role mappings: the list with each rule drawn as a readable tree and each role template as its
//! source, and one form that creates or replaces a mapping — roles or role templates (JSON), and a
//! simple rule (one field, one value) or any rule as JSON (`all`, `any`, `except`, `field`); the
//! node checks both JSON texts.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_client::segment;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::edit::json_object;
use super::security::{Outcome, after_change, as_user, change_as_user, names};
use super::{csrf_field, layout, notice};
use crate::app::{AppState, node_failure};
use crate::session::Session;

/// The fields a simple rule may name (Elasticsearch's user fields; `metadata.*` goes in JSON).
const FIELDS: &[&str] = &["username", "dn", "groups", "realm.name"];

fn quoted(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        v => v.to_string(),
    }
}

/// A rule as a nested list: `all of`, `any of`, `not`, and `field = value`.
pub fn rule(r: &Value) -> Markup {
    let Some((kind, inner)) = r.as_object().and_then(|o| o.iter().next()) else {
        return html! { code { (r.to_string()) } };
    };
    match kind.as_str() {
        "all" | "any" => html! {
            span.rule-op { (if kind == "all" { "all of" } else { "any of" }) }
            ul.rule { @for sub in inner.as_array().into_iter().flatten() { li { (rule(sub)) } } }
        },
        "except" => html! { span.rule-op { "not" } ul.rule { li { (rule(inner)) } } },
        "field" => html! {
            @for (name, value) in inner.as_object().into_iter().flatten() {
                @match value {
                    Value::Array(values) => span.rule-field { (name) " is one of " (values.iter().map(quoted).collect::<Vec<_>>().join(", ")) },
                    v => span.rule-field { (name) " = " (quoted(v)) },
                }
            }
        },
        _ => html! { code { (r.to_string()) } },
    }
}

/// A role template's source: `{"template": {"source": …}}`, or the template as a JSON string
/// holding that object (as Elasticsearch returns it), or any other text as it is.
fn template_source(t: &Value) -> String {
    let source = |v: &Value| v["source"].as_str().map(str::to_owned);
    match &t["template"] {
        Value::Object(_) => source(&t["template"]).unwrap_or_else(|| t["template"].to_string()),
        Value::String(text) => {
            serde_json::from_str::<Value>(text).ok().and_then(|v| source(&v)).unwrap_or_else(|| text.clone())
        }
        other => other.to_string(),
    }
}

/// The role templates of a mapping, one per line: the source and, for `json`, that it makes a list.
fn templates(v: &Value) -> Markup {
    html! {
        ul.templates {
            @for t in v.as_array().into_iter().flatten() {
                li {
                    "template " code.template { (template_source(t)) }
                    @if t["format"].as_str() == Some("json") { " (JSON: one or more roles)" }
                }
            }
        }
    }
}

/// `?name=` (edit an existing mapping) with the outcome of a change.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MappingQuery {
    name: Option<String>,
    ok: Option<String>,
    error: Option<String>,
}

pub async fn role_mappings(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(q): Query<MappingQuery>,
) -> Response {
    let list = match as_user(&state, &s, "_security/role_mapping").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut mappings: Vec<(&String, &Value)> =
        list.as_object().map(|m| m.iter().collect()).unwrap_or_default();
    mappings.sort_by(|a, b| a.0.cmp(b.0));
    let editing = q.name.as_deref().and_then(|n| list.get(n).map(|m| (n, m)));
    let o = Outcome { ok: q.ok.clone(), error: q.error.clone() };
    if let Some(n) = q.name.as_deref()
        && editing.is_none()
    {
        let msg = format!("There is no role mapping [{n}].");
        return (StatusCode::NOT_FOUND, layout("Role mappings", Some(&s), notice("error", &msg)))
            .into_response();
    }
    let form = match editing {
        Some((n, m)) => Draft {
            name: n.to_owned(),
            roles: strings(&m["roles"]),
            templates: m["role_templates"]
                .as_array()
                .filter(|a| !a.is_empty())
                .and_then(|a| serde_json::to_string_pretty(a).ok())
                .unwrap_or_default(),
            enabled: m["enabled"].as_bool().unwrap_or(false),
            rules: serde_json::to_string_pretty(&m["rules"]).unwrap_or_default(),
            ..Draft::default()
        },
        None => Draft { enabled: true, ..Draft::default() },
    };
    page(&s, &o, &mappings, &form, editing.is_some()).into_response()
}

fn strings(v: &Value) -> String {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// What the form holds.
#[derive(Default)]
struct Draft {
    name: String,
    roles: String,
    templates: String,
    enabled: bool,
    field: String,
    value: String,
    rules: String,
}

fn page(s: &Session, o: &Outcome, mappings: &[(&String, &Value)], d: &Draft, editing: bool) -> maud::Markup {
    layout(
        "Role mappings",
        Some(s),
        html! {
            (o.render())
            @if mappings.is_empty() { p { "No role mappings." } }
            @else {
                table #role-mappings {
                    thead { tr { th scope="col" { "Mapping" } th scope="col" { "Roles" } th scope="col" { "Rules" } th scope="col" { "Enabled" } th scope="col" { "" } } }
                    tbody {
                        @for (name, m) in mappings {
                            tr {
                                td.mapping-name { (name) }
                                td.roles { (strings(&m["roles"])) @if m["role_templates"].is_array() { (templates(&m["role_templates"])) } }
                                td.rules { (rule(&m["rules"])) }
                                td { (if m["enabled"].as_bool().unwrap_or(false) { "yes" } else { "no" }) }
                                td {
                                    a href=(format!("/app/role_mappings?name={}", segment(name))) { "Edit" }
                                    " "
                                    a href=(format!("/app/role_mappings/delete?name={}", segment(name))) { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
            h2 #mapping-form-title { (if editing { format!("Edit role mapping {}", d.name) } else { "Create a role mapping".to_owned() }) }
            form #role-mapping method="post" action="/app/role_mappings" {
                (csrf_field(s))
                label for="name" { "Mapping name" }
                @if editing {
                    input #name name="name" value=(d.name) readonly;
                } @else {
                    input #name name="name" value=(d.name) required;
                }
                label for="roles" { "Roles (comma-separated)" }
                input #roles name="roles" value=(d.roles) aria-describedby="roles-hint";
                p.hint #roles-hint { "Either roles, or role templates below." }
                label for="role_templates" { "Or role templates, as JSON (roles made from the user's fields)" }
                p.hint #role-templates-hint { "e.g. [{\"template\": {\"source\": \"team_{{metadata.team}}\"}, \"format\": \"string\"}]" }
                textarea #role_templates name="role_templates" rows="4" spellcheck="false" aria-describedby="role-templates-hint" { (d.templates) }
                label.check { input #enabled type="checkbox" name="enabled" value="true" checked[d.enabled]; " Enabled" }
                fieldset {
                    legend { "A simple rule: one field has one value" }
                    label for="field" { "Field" }
                    select #field name="field" {
                        @for f in FIELDS { option value=(f) selected[d.field == *f] { (f) } }
                    }
                    label for="value" { "Value (wildcards * and ? allowed)" }
                    input #value name="value" value=(d.value);
                }
                label for="rules" { "Or any rule, as JSON (used instead of the simple rule when filled in)" }
                p.hint #rules-hint { "e.g. {\"all\": [{\"field\": {\"realm.name\": \"pki1\"}}, {\"except\": {\"field\": {\"groups\": \"contractors\"}}}]}" }
                textarea #rules name="rules" rows="10" spellcheck="false" aria-describedby="rules-hint" { (d.rules) }
                button type="submit" { (if editing { "Save role mapping" } else { "Create role mapping" }) }
            }
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingForm {
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    name: String,
    #[serde(default)]
    roles: String,
    #[serde(default)]
    role_templates: String,
    enabled: Option<String>,
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    rules: String,
}

/// The rules the form says, or what is wrong with it.
fn rules_of(f: &MappingForm) -> Result<Value, String> {
    let (json_given, simple_given) = (!f.rules.trim().is_empty(), !f.value.trim().is_empty());
    match (json_given, simple_given) {
        (true, true) => Err("Give either a simple rule or JSON rules, not both.".into()),
        (true, false) => json_object("rules", &f.rules),
        (false, true) if FIELDS.contains(&f.field.as_str()) => {
            Ok(json!({"field": {f.field.as_str(): f.value.trim()}}))
        }
        (false, true) => {
            Err(format!("[{}] is not a field a simple rule may name ({}).", f.field, FIELDS.join(", ")))
        }
        (false, false) => {
            Err("A role mapping needs rules: a value for the simple rule, or JSON rules.".into())
        }
    }
}

pub async fn save_mapping(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Form(f): Form<MappingForm>,
) -> Response {
    let name = f.name.trim().to_owned();
    let rules = match rules_of(&f) {
        Ok(r) => r,
        Err(e) => return redisplay(&state, &s, &f, &e).await,
    };
    let mut body = json!({"enabled": f.enabled.as_deref() == Some("true"), "rules": rules});
    if !f.role_templates.trim().is_empty() {
        match serde_json::from_str::<Value>(&f.role_templates) {
            Ok(t @ Value::Array(_)) => body["role_templates"] = t,
            Ok(_) => {
                return redisplay(&state, &s, &f, "The role templates must be a JSON array ([ ... ]).").await;
            }
            Err(e) => {
                return redisplay(&state, &s, &f, &format!("The role templates are not valid JSON: {e}."))
                    .await;
            }
        }
    }
    // Neither roles nor templates: the node says what is missing; both: the node refuses them.
    if !f.roles.trim().is_empty() || body.get("role_templates").is_none() {
        body["roles"] = json!(names(&f.roles));
    }
    // A PUT replaces the mapping: keep its metadata.
    let path = format!("_security/role_mapping/{}", segment(&name));
    if let Ok(current) = crate::tokens::get(&state, &s, &path).await
        && let Some(m) = current[name.as_str()]["metadata"].as_object().filter(|m| !m.is_empty())
    {
        body["metadata"] = Value::Object(m.clone());
    }
    match change_as_user(&state, &s, reqwest::Method::PUT, &path, &body).await {
        Err(e) if e.status() == Some(401) => node_failure(&state, &e),
        Err(e) => redisplay(&state, &s, &f, &e.to_string()).await,
        Ok(_) => after_change("/app/role_mappings", Ok(format!("Role mapping [{name}] saved."))),
    }
}

/// The page again with the form as it was sent and what was wrong.
async fn redisplay(state: &AppState, s: &Session, f: &MappingForm, error: &str) -> Response {
    let list = as_user(state, s, "_security/role_mapping").await.unwrap_or(Value::Null);
    let mut mappings: Vec<(&String, &Value)> =
        list.as_object().map(|m| m.iter().collect()).unwrap_or_default();
    mappings.sort_by(|a, b| a.0.cmp(b.0));
    let editing = list.get(f.name.trim()).is_some();
    let d = Draft {
        name: f.name.trim().to_owned(),
        roles: f.roles.clone(),
        templates: f.role_templates.clone(),
        enabled: f.enabled.as_deref() == Some("true"),
        field: f.field.clone(),
        value: f.value.clone(),
        rules: f.rules.clone(),
    };
    let o = Outcome { ok: None, error: Some(error.to_owned()) };
    (StatusCode::BAD_REQUEST, page(s, &o, &mappings, &d, editing)).into_response()
}
