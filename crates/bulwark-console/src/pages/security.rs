//! Users and roles, listed and created as the logged-in user (editing and deleting: `edit.rs`),
//! and the helpers every page uses to ask the node as that user.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use bulwark_client::segment;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{csrf_field, layout, notice};
use crate::app::{AppState, node_failure, to_login};
use crate::session::Session;

/// `GET path` as the session's user; a refusal becomes the page to show.
pub async fn as_user(state: &AppState, s: &Session, path: &str) -> Result<Value, Response> {
    if state.node().is_none() {
        return Err(to_login(state, None));
    }
    crate::tokens::get(state, s, path).await.map_err(|e| node_failure(state, &e))
}

/// A change as the session's user (`PUT`/`POST`/`DELETE` with a JSON body).
pub async fn change_as_user(
    state: &AppState,
    s: &Session,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> Result<Value, bulwark_client::NodeError> {
    crate::tokens::call(state, s, method, path, Some(body)).await
}

/// `?ok=` / `?error=` after a change (post/redirect/get).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub ok: Option<String>,
    pub error: Option<String>,
}

impl Outcome {
    pub fn render(&self) -> Markup {
        html! {
            @if let Some(m) = &self.ok { (notice("ok", m)) }
            @if let Some(m) = &self.error { (notice("error", m)) }
        }
    }
}

/// A redirect to `path` carrying the outcome of a change.
pub fn after_change(path: &str, result: Result<String, String>) -> Response {
    let (k, v) = match result {
        Ok(m) => ("ok", m),
        Err(m) => ("error", m),
    };
    let q = form_urlencode(&v);
    Redirect::to(&format!("{path}?{k}={q}")).into_response()
}

fn form_urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Comma-separated names, trimmed, empty ones dropped.
pub fn names(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn strings(v: &Value) -> String {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// Built-in users and roles (`metadata._reserved`) cannot be edited or deleted.
fn reserved(v: &Value) -> bool {
    v["metadata"]["_reserved"].as_bool() == Some(true)
}

/// The edit and delete links of a row.
fn actions(page: &str, name: &str) -> Markup {
    let n = segment(name);
    html! {
        a.edit href=(format!("/app/{page}/edit?name={n}")) { "Edit" }
        " "
        a.delete href=(format!("/app/{page}/delete?name={n}")) { "Delete" }
    }
}

pub async fn users(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(o): Query<Outcome>,
) -> Response {
    let list = match as_user(&state, &s, "_security/user").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut users: Vec<(&String, &Value)> = list.as_object().map(|m| m.iter().collect()).unwrap_or_default();
    users.sort_by(|a, b| a.0.cmp(b.0));
    layout("Users", Some(&s), html! {
        (o.render())
        table #users {
            thead { tr { th scope="col" { "User name" } th scope="col" { "Full name" } th scope="col" { "Roles" } th scope="col" { "Enabled" } th scope="col" { "" } } }
            tbody {
                @for (name, u) in &users {
                    tr { td.username { (name) } td { (u["full_name"].as_str().unwrap_or("")) } td { (strings(&u["roles"])) }
                         td { (if u["enabled"].as_bool().unwrap_or(true) { "yes" } else { "no" }) }
                         td { @if !reserved(u) { (actions("users", name)) } } }
                }
            }
        }
        h2 { "Create a user" }
        form #create-user method="post" action="/app/users" {
            (csrf_field(&s))
            label for="username" { "User name" }
            input #username name="username" required;
            label for="password" { "Password" }
            input #password name="password" type="password" required autocomplete="new-password";
            label for="full_name" { "Full name" }
            input #full_name name="full_name";
            label for="roles" { "Roles (comma-separated)" }
            input #roles name="roles";
            button type="submit" { "Create user" }
        }
    }).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserForm {
    /// Checked by the CSRF middleware (`csrf.rs`).
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    username: String,
    password: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    roles: String,
}

pub async fn create_user(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Form(f): Form<UserForm>,
) -> Response {
    let mut body = json!({"password": f.password, "roles": names(&f.roles)});
    if !f.full_name.trim().is_empty() {
        body["full_name"] = json!(f.full_name.trim());
    }
    let path = format!("_security/user/{}", segment(f.username.trim()));
    let r = change_as_user(&state, &s, reqwest::Method::PUT, &path, &body).await;
    if let Err(e) = &r
        && e.status() == Some(401)
    {
        return node_failure(&state, e);
    }
    after_change(
        "/app/users",
        r.map(|_| format!("User [{}] saved.", f.username.trim())).map_err(|e| e.to_string()),
    )
}

pub async fn roles(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(o): Query<Outcome>,
) -> Response {
    let list = match as_user(&state, &s, "_security/role").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    // The built-in privilege names, offered as choices (empty if the user may not read them).
    let builtin = as_user(&state, &s, "_security/privilege/_builtin").await.unwrap_or(Value::Null);
    let mut roles: Vec<(&String, &Value)> = list.as_object().map(|m| m.iter().collect()).unwrap_or_default();
    roles.sort_by(|a, b| a.0.cmp(b.0));
    let choices = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let cluster = choices(&builtin["cluster"]);
    let index = choices(&builtin["index"]);
    layout("Roles", Some(&s), html! {
        (o.render())
        table #roles {
            thead { tr { th scope="col" { "Role" } th scope="col" { "Cluster privileges" } th scope="col" { "Index privileges" } th scope="col" { "" } } }
            tbody {
                @for (name, r) in &roles {
                    tr {
                        td { (name) }
                        td { (strings(&r["cluster"])) }
                        td {
                            @for i in r["indices"].as_array().into_iter().flatten() {
                                div { (strings(&i["names"])) ": " (strings(&i["privileges"])) }
                            }
                        }
                        td { @if !reserved(r) { (actions("roles", name)) } }
                    }
                }
            }
        }
        h2 { "Create a role" }
        form #create-role method="post" action="/app/roles" {
            (csrf_field(&s))
            label for="name" { "Role name" }
            input #name name="name" required;
            fieldset {
                legend { "Cluster privileges" }
                @for p in &cluster { label.check { input type="checkbox" name="cluster" value=(p); " " (p) } }
            }
            label for="indices" { "Index patterns (comma-separated)" }
            input #indices name="indices" placeholder="logs-*";
            fieldset {
                legend { "Index privileges" }
                @for p in &index { label.check { input type="checkbox" name="privileges" value=(p); " " (p) } }
            }
            button type="submit" { "Create role" }
        }
    }).into_response()
}

pub async fn create_role(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    const KNOWN: &[&str] = &["csrf", "name", "cluster", "indices", "privileges"];
    if let Some((unknown, _)) = fields.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
        return after_change("/app/roles", Err(format!("unknown form field [{unknown}]")));
    }
    let all =
        |k: &str| -> Vec<String> { fields.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect() };
    let name = all("name").into_iter().next().unwrap_or_default();
    let patterns = names(&all("indices").join(","));
    let privileges = all("privileges");
    let mut body = json!({"cluster": all("cluster"), "indices": []});
    if !patterns.is_empty() {
        body["indices"] = json!([{"names": patterns, "privileges": privileges}]);
    } else if !privileges.is_empty() {
        return after_change("/app/roles", Err("Index privileges need at least one index pattern.".into()));
    }
    let path = format!("_security/role/{}", segment(name.trim()));
    let r = change_as_user(&state, &s, reqwest::Method::PUT, &path, &body).await;
    if let Err(e) = &r
        && e.status() == Some(401)
    {
        return node_failure(&state, e);
    }
    after_change("/app/roles", r.map(|_| format!("Role [{}] saved.", name.trim())).map_err(|e| e.to_string()))
}
