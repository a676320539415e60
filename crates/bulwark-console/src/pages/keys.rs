//! API keys (create with a limited role descriptor, shown once; invalidate) and service tokens.
//!
//! Everything here is asked as the user, with the session's access token: the user's own keys are
//! listed (`owner=true`), created (`POST /_security/api_key`: the node makes the key the user's,
//! limited by the user's privileges) and invalidated (`owner: true`), so `manage_own_api_key` is
//! enough, as in Kibana.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::security::{Outcome, after_change, as_user, change_as_user, names};
use super::{csrf_field, layout, notice};
use crate::app::{AppState, node_failure};
use crate::session::Session;

pub async fn api_keys(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Query(o): Query<Outcome>,
) -> Response {
    let list = match as_user(&state, &s, "_security/api_key?owner=true").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let keys: Vec<&Value> = list["api_keys"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    api_keys_page(&s, &o, &keys, None).into_response()
}

fn api_keys_page(s: &Session, o: &Outcome, keys: &[&Value], created: Option<(&str, &str)>) -> maud::Markup {
    layout(
        "API keys",
        Some(s),
        html! {
            (o.render())
            @if let Some((name, encoded)) = created {
                div.created role="status" {
                    p { "API key " strong { (name) } " created. Copy it now: it is shown only once." }
                    pre #new-api-key { (encoded) }
                }
            }
            table #api-keys {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Expires" } th scope="col" { "State" } th scope="col" { "" } } }
                tbody {
                    @for k in keys {
                        tr {
                            td { (k["name"].as_str().unwrap_or("")) }
                            td { code { (k["id"].as_str().unwrap_or("")) } }
                            td { (k["expiration"].as_i64().map_or("never".to_owned(), super::data::date)) }
                            td { (if k["invalidated"].as_bool().unwrap_or(false) { "invalidated" } else { "active" }) }
                            td {
                                @if !k["invalidated"].as_bool().unwrap_or(false) {
                                    form method="post" action="/app/api_keys/invalidate" {
                                        (csrf_field(s))
                                        input type="hidden" name="id" value=(k["id"].as_str().unwrap_or(""));
                                        button type="submit" { "Invalidate" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Create an API key" }
            form #create-api-key method="post" action="/app/api_keys" {
                (csrf_field(s))
                label for="name" { "Name" }
                input #name name="name" required;
                label for="expiration" { "Expires after (e.g. 7d; empty: never)" }
                input #expiration name="expiration";
                label for="indices" { "Limit to index patterns (comma-separated; empty: the key has all of your privileges)" }
                input #indices name="indices";
                label for="privileges" { "Index privileges on them (comma-separated)" }
                input #privileges name="privileges" value="read";
                button type="submit" { "Create API key" }
            }
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyForm {
    /// Checked by the CSRF middleware (`csrf.rs`).
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    name: String,
    #[serde(default)]
    expiration: String,
    #[serde(default)]
    indices: String,
    #[serde(default)]
    privileges: String,
}

pub async fn create_api_key(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Form(f): Form<KeyForm>,
) -> Response {
    let mut key = json!({"name": f.name.trim()});
    if !f.expiration.trim().is_empty() {
        key["expiration"] = json!(f.expiration.trim());
    }
    let patterns = names(&f.indices);
    if !patterns.is_empty() {
        key["role_descriptors"] = json!({"console-limited": {"indices": [{"names": patterns, "privileges": names(&f.privileges)}]}});
    }
    match change_as_user(&state, &s, reqwest::Method::POST, "_security/api_key", &key).await {
        Ok(v) => {
            let list = as_user(&state, &s, "_security/api_key?owner=true").await.unwrap_or(Value::Null);
            let keys: Vec<&Value> =
                list["api_keys"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
            let encoded = v["encoded"].as_str().unwrap_or_default();
            api_keys_page(&s, &Outcome::default(), &keys, Some((f.name.trim(), encoded))).into_response()
        }
        Err(e) if e.status() == Some(401) => node_failure(&state, &e),
        Err(e) => after_change("/app/api_keys", Err(e.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidateForm {
    /// Checked by the CSRF middleware (`csrf.rs`).
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
    id: String,
}

pub async fn invalidate_api_key(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
    Form(f): Form<InvalidateForm>,
) -> Response {
    // `owner: true`: what `manage_own_api_key` covers (the page lists only the user's own keys).
    let body = json!({"ids": [f.id], "owner": true});
    match change_as_user(&state, &s, reqwest::Method::DELETE, "_security/api_key", &body).await {
        Err(e) if e.status() == Some(401) => node_failure(&state, &e),
        Ok(v) if v["invalidated_api_keys"].as_array().is_some_and(Vec::is_empty) => after_change(
            "/app/api_keys",
            Err(format!("API key [{}] is not one of your active keys: nothing was invalidated.", f.id)),
        ),
        r => after_change(
            "/app/api_keys",
            r.map(|_| format!("API key [{}] invalidated.", f.id)).map_err(|e| e.to_string()),
        ),
    }
}

pub async fn service_tokens(
    State(state): State<Arc<AppState>>,
    Extension(s): Extension<Session>,
) -> Response {
    let accounts = match as_user(&state, &s, "_security/service").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let names: Vec<&String> = accounts.as_object().map(|m| m.keys().collect()).unwrap_or_default();
    let mut rows = Vec::new();
    for name in names {
        let path = format!("_security/service/{name}/credential");
        if let Ok(c) = as_user(&state, &s, &path).await {
            let mut tokens: Vec<String> = Vec::new();
            for source in ["tokens", "nodes_credentials"] {
                if let Some(m) = c[source].as_object() {
                    tokens.extend(m.keys().cloned());
                }
                if let Some(m) = c[source]["file_tokens"].as_object() {
                    tokens.extend(m.keys().map(|k| format!("{k} (file)")));
                }
            }
            rows.push((name.clone(), c["count"].as_u64().unwrap_or(0), tokens));
        }
    }
    layout("Service tokens", Some(&s), html! {
        p { "Tokens are created with " code { "bulwark service-tokens create" } " or the API; the console never shows their values." }
        @if rows.is_empty() { (notice("ok", "No service account is visible to you.")) }
        table #service-tokens {
            thead { tr { th scope="col" { "Service account" } th scope="col" { "Tokens" } th scope="col" { "Names" } } }
            tbody { @for (n, c, t) in &rows { tr { td.account { (n) } td.count { (c) } td { (t.join(", ")) } } } }
        }
    }).into_response()
}
