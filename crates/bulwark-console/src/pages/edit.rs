//! Editing and deleting users, roles and role mappings, as the logged-in user. A delete first
//! shows a confirmation page (a form of its own: it works without JavaScript); every change is a
//! POST through the CSRF middleware, and the node's refusal is shown on the page it returns to.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_client::segment;
use maud::html;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::security::{after_change, as_user, change_as_user, names};
use super::{csrf_field, layout, notice};
use crate::app::{AppState, node_failure};
use crate::session::Session;

/// What can be deleted from the console.
#[derive(Clone, Copy)]
pub enum Kind {
    User,
    Role,
    RoleMapping,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Role => "role",
            Kind::RoleMapping => "role mapping",
        }
    }

    /// The console's list page.
    fn page(self) -> &'static str {
        match self {
            Kind::User => "/app/users",
            Kind::Role => "/app/roles",
            Kind::RoleMapping => "/app/role_mappings",
        }
    }

    /// The node's API for one of them.
    fn api(self, name: &str) -> String {
        let base = match self {
            Kind::User => "_security/user",
            Kind::Role => "_security/role",
            Kind::RoleMapping => "_security/role_mapping",
        };
        format!("{base}/{}", segment(name))
    }
}

/// `?name=` of the edit and confirmation pages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    name: String,
}

/// A form that names its target (`csrf` is checked by the middleware).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedForm {
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    name: String,
}

/// A change's result, where a lapsed session goes to the login page and anything else back to
/// `page` with the node's words.
fn outcome(
    state: &AppState,
    page: &str,
    r: Result<Value, bulwark_client::NodeError>,
    ok: String,
) -> Response {
    match r {
        Err(e) if e.status() == Some(401) => node_failure(state, &e),
        r => after_change(page, r.map(|_| ok).map_err(|e| e.to_string())),
    }
}

/// The confirmation page of a delete.
pub async fn confirm(kind: Kind, s: &Session, name: &str) -> Response {
    let word = kind.word();
    let action = format!("{}/delete", kind.page());
    layout(
        &format!("Delete {word}"),
        Some(s),
        html! {
            p #confirm-text { "Delete the " (word) " " strong { (name) } "? This cannot be undone." }
            form #confirm-delete method="post" action=(action) {
                (csrf_field(s))
                input type="hidden" name="name" value=(name);
                button.danger type="submit" { "Delete " (word) " " (name) }
            }
            p { a href=(kind.page()) { "Cancel" } }
        },
    )
    .into_response()
}

/// The delete itself.
pub async fn delete(kind: Kind, state: &AppState, s: &Session, name: &str) -> Response {
    let r = match crate::tokens::call(state, s, reqwest::Method::DELETE, &kind.api(name), None).await {
        // Elasticsearch answers a missing one with 404 `{"found": false}`.
        Err(e) if e.status() == Some(404) => Err(bulwark_client::NodeError::Api {
            status: 404,
            kind: "not_found".into(),
            reason: format!("there is no {} [{name}]", kind.word()),
        }),
        r => r,
    };
    outcome(state, kind.page(), r, format!("The {} [{name}] was deleted.", kind.word()))
}

macro_rules! delete_routes {
    ($confirm:ident, $delete:ident, $kind:expr) => {
        pub async fn $confirm(Extension(s): Extension<Session>, Query(q): Query<Named>) -> Response {
            confirm($kind, &s, &q.name).await
        }

        pub async fn $delete(
            State(state): State<Arc<AppState>>,
            Extension(s): Extension<Session>,
            Form(f): Form<NamedForm>,
        ) -> Response {
            delete($kind, &state, &s, &f.name).await
        }
    };
}

delete_routes!(confirm_user, delete_user, Kind::User);
delete_routes!(confirm_role, delete_role, Kind::Role);
delete_routes!(confirm_mapping, delete_mapping, Kind::RoleMapping);

/// The one entry of a `GET _security/<kind>/<name>` answer, or the page to show instead.
async fn one(state: &AppState, s: &Session, kind: Kind, name: &str) -> Result<Value, Response> {
    let v = as_user(state, s, &kind.api(name)).await?;
    v.get(name).cloned().ok_or_else(|| {
        let msg = format!("There is no {} [{name}].", kind.word());
        (StatusCode::NOT_FOUND, layout("Not found", Some(s), notice("error", &msg))).into_response()
    })
}

pub async fn edit_user_page(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(q): Query<Named>,
) -> Response {
    let u = match one(&state, &s, Kind::User, &q.name).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let roles = u["roles"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let enabled = u["enabled"].as_bool().unwrap_or(true);
    layout(&format!("Edit user {}", q.name), Some(&s), html! {
        form #edit-user method="post" action="/app/users/edit" {
            (csrf_field(&s))
            input type="hidden" name="name" value=(q.name);
            label for="full_name" { "Full name" }
            input #full_name name="full_name" value=(u["full_name"].as_str().unwrap_or(""));
            label for="email" { "Email" }
            input #email name="email" type="email" value=(u["email"].as_str().unwrap_or(""));
            label for="roles" { "Roles (comma-separated)" }
            input #roles name="roles" value=(roles);
            label.check { input #enabled type="checkbox" name="enabled" value="true" checked[enabled]; " Enabled" }
            label for="password" { "New password (empty: unchanged)" }
            input #password name="password" type="password" autocomplete="new-password";
            button type="submit" { "Save user" }
        }
        p { a href="/app/users" { "Back to the users" } }
    })
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditUserForm {
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    name: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    roles: String,
    /// A checkbox: present when ticked.
    enabled: Option<String>,
    #[serde(default)]
    password: String,
}

pub async fn edit_user(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Form(f): Form<EditUserForm>,
) -> Response {
    // A PUT replaces the user: keep what the form does not show (metadata).
    let current = match one(&state, &s, Kind::User, &f.name).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut body = Map::new();
    body.insert("roles".into(), json!(names(&f.roles)));
    body.insert("enabled".into(), json!(f.enabled.as_deref() == Some("true")));
    for (k, v) in
        [("full_name", f.full_name.trim()), ("email", f.email.trim()), ("password", f.password.as_str())]
    {
        if !v.is_empty() {
            body.insert(k.into(), json!(v));
        }
    }
    if let Some(m) = current.get("metadata").filter(|m| m.as_object().is_some_and(|o| !o.is_empty())) {
        body.insert("metadata".into(), m.clone());
    }
    let r = change_as_user(&state, &s, reqwest::Method::PUT, &Kind::User.api(&f.name), &Value::Object(body))
        .await;
    outcome(&state, "/app/users", r, format!("User [{}] saved.", f.name))
}

pub async fn edit_role_page(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(q): Query<Named>,
) -> Response {
    let mut r = match one(&state, &s, Kind::Role, &q.name).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Some(o) = r.as_object_mut() {
        o.remove("transient_metadata");
    }
    let text = serde_json::to_string_pretty(&r).unwrap_or_default();
    role_form(&s, &q.name, &text, None)
}

fn role_form(s: &Session, name: &str, text: &str, error: Option<&str>) -> Response {
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = layout(
        &format!("Edit role {name}"),
        Some(s),
        html! {
            @if let Some(e) = error { (notice("error", e)) }
            p.hint { "The role descriptor as the node keeps it: cluster and index privileges, field and document level security, run_as, applications, metadata. The node checks it when you save." }
            form #edit-role method="post" action="/app/roles/edit" {
                (csrf_field(s))
                input type="hidden" name="name" value=(name);
                label for="role" { "Role descriptor (JSON)" }
                textarea #role name="role" rows="18" spellcheck="false" { (text) }
                button type="submit" { "Save role" }
            }
            p { a href="/app/roles" { "Back to the roles" } }
        },
    );
    (status, page).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditRoleForm {
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    name: String,
    role: String,
}

/// A JSON object typed into a form, or what is wrong with it (line and column).
pub fn json_object(what: &str, text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(format!("The {what} must be a JSON object ({{ ... }}).")),
        Err(e) => Err(format!("The {what} is not valid JSON: {e}.")),
    }
}

pub async fn edit_role(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Form(f): Form<EditRoleForm>,
) -> Response {
    let body = match json_object("role descriptor", &f.role) {
        Ok(v) => v,
        Err(e) => return role_form(&s, &f.name, &f.role, Some(&e)),
    };
    match change_as_user(&state, &s, reqwest::Method::PUT, &Kind::Role.api(&f.name), &body).await {
        Err(e) if e.status() == Some(401) => node_failure(&state, &e),
        // The node's refusal is shown with the text kept, so it can be corrected.
        Err(e) => role_form(&s, &f.name, &f.role, Some(&e.to_string())),
        Ok(_) => after_change("/app/roles", Ok(format!("Role [{}] saved.", f.name))),
    }
}
