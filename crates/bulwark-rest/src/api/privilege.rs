//! Application privileges: `PUT|POST /_security/privilege`, `GET /_security/privilege[/{app}[/{names}]]`,
//! `DELETE /_security/privilege/{app}/{names}` and `POST /_security/privilege/{apps}/_clear_cache`.
//! Each privilege is a store entry (kind `application_privilege`, id `app:name`); what it means
//! for `_has_privileges` is the security crate's (`authz::application`).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_pattern::{Syntax, matches};
use bulwark_security::authz::ApplicationPrivilegeDescriptor;
use bulwark_store::{Command, EntryKind};
use serde_json::{Map, Value, json};

use crate::body::{self, known_fields};
use crate::caller::Caller;
use crate::{ApiError, ErrorType, RestState};

use super::audit_change;

/// The fields of one privilege in a put request.
pub const PRIVILEGE_FIELDS: &[&str] = &["application", "name", "actions", "metadata"];

/// Every stored privilege, by application then name.
fn stored(
    state: &RestState,
) -> Result<BTreeMap<String, BTreeMap<String, ApplicationPrivilegeDescriptor>>, ApiError> {
    let mut out: BTreeMap<String, BTreeMap<String, ApplicationPrivilegeDescriptor>> = BTreeMap::new();
    for (_, v) in state.store.entries(EntryKind::ApplicationPrivilege).map_err(ApiError::from)? {
        if let Ok(d) = serde_json::from_value::<ApplicationPrivilegeDescriptor>(v) {
            out.entry(d.application.clone()).or_default().insert(d.name.clone(), d);
        }
    }
    Ok(out)
}

/// One privilege of a put request, parsed and checked against its place in the body.
fn descriptor(
    app: &str,
    name: &str,
    v: &Value,
    errors: &mut Vec<String>,
) -> Result<ApplicationPrivilegeDescriptor, ApiError> {
    let Value::Object(m) = v else {
        return Err(ApiError::parse(format!("privilege [{app}/{name}] must be an object")));
    };
    known_fields(m, "application privilege", PRIVILEGE_FIELDS)?;
    for (field, expected) in [("application", app), ("name", name)] {
        if let Some(given) = body::opt_string(m, field)?
            && given != expected
        {
            errors.push(format!(
                "field [{field}] [{given}] does not match the [{expected}] it is listed under"
            ));
        }
    }
    let actions = body::opt_strings(m, "actions")?.unwrap_or_default();
    let metadata = body::opt_object(m, "metadata")?.unwrap_or_default();
    let d = ApplicationPrivilegeDescriptor {
        application: app.to_owned(),
        name: name.to_owned(),
        actions,
        metadata,
    };
    errors.extend(d.problems());
    Ok(d)
}

fn validation_failed(errors: &[String]) -> ApiError {
    let listed: String = errors.iter().enumerate().map(|(i, e)| format!("{}: {e};", i + 1)).collect();
    ApiError::new(ErrorType::ActionRequestValidation, format!("Validation Failed: {listed}"))
}

/// `PUT|POST /_security/privilege`: `{app: {name: {actions, metadata}}}`; answers
/// `{app: {name: {created}}}`.
pub async fn put(State(state): State<RestState>, who: Caller, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, true)?;
    let mut errors = Vec::new();
    let mut privileges = Vec::new();
    for (app, names) in &m {
        let Value::Object(names) = names else {
            return Err(ApiError::parse(format!(
                "application [{app}] must map privilege names to privileges"
            )));
        };
        for (name, v) in names {
            privileges.push(descriptor(app, name, v, &mut errors)?);
        }
    }
    if privileges.is_empty() {
        errors.push("At least one application privilege must be provided".into());
    }
    if !errors.is_empty() {
        return Err(validation_failed(&errors));
    }
    let existing = stored(&state)?;
    let mut out = Map::new();
    let mut commands = Vec::new();
    for d in &privileges {
        let created = existing.get(&d.application).is_none_or(|n| !n.contains_key(&d.name));
        let slot = out.entry(d.application.clone()).or_insert_with(|| json!({}));
        slot[d.name.as_str()] = json!({ "created": created });
        let value = serde_json::to_value(d).map_err(ApiError::encoding)?;
        commands.push(Command::PutEntry {
            kind: EntryKind::ApplicationPrivilege,
            id: ApplicationPrivilegeDescriptor::id(&d.application, &d.name),
            value,
        });
    }
    state.store.write(Command::Batch(commands)).await.map_err(ApiError::from)?;
    for d in &privileges {
        audit_change(
            &state,
            &who,
            "put_privileges",
            &ApplicationPrivilegeDescriptor::id(&d.application, &d.name),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// The stored privileges matching `app` and `names` (each may hold wildcards), as Elasticsearch
/// renders them.
fn render(state: &RestState, app: Option<&str>, names: Option<&str>) -> Result<Map<String, Value>, ApiError> {
    let names: Vec<&str> =
        names.map(|n| n.split(',').map(str::trim).filter(|n| !n.is_empty()).collect()).unwrap_or_default();
    let mut out = Map::new();
    for (a, privileges) in stored(state)? {
        if app.is_some_and(|p| !p.is_empty() && !matches(p, &a, Syntax::GLOB)) {
            continue;
        }
        let mut of_app = Map::new();
        for (n, d) in privileges {
            if names.is_empty() || names.iter().any(|p| matches(p, &n, Syntax::GLOB)) {
                of_app.insert(n, serde_json::to_value(d).map_err(ApiError::encoding)?);
            }
        }
        if !of_app.is_empty() {
            out.insert(a, Value::Object(of_app));
        }
    }
    Ok(out)
}

fn found_or_404(out: Map<String, Value>, asked: bool) -> Response {
    let status = if out.is_empty() && asked { StatusCode::NOT_FOUND } else { StatusCode::OK };
    (status, Json(Value::Object(out))).into_response()
}

/// `GET /_security/privilege`: every privilege.
pub async fn get_all(State(state): State<RestState>) -> Result<Response, ApiError> {
    Ok(found_or_404(render(&state, None, None)?, false))
}

/// `GET /_security/privilege/{application}`: an application's privileges (404 `{}` if none).
pub async fn get_app(State(state): State<RestState>, Path(app): Path<String>) -> Result<Response, ApiError> {
    Ok(found_or_404(render(&state, Some(&app), None)?, !app.is_empty()))
}

/// `GET /_security/privilege/{application}/{names}`: named privileges (404 `{}` if none).
pub async fn get_named(
    State(state): State<RestState>,
    Path((app, names)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(found_or_404(render(&state, Some(&app), Some(&names))?, true))
}

/// `DELETE /_security/privilege/{application}/{names}`: answers `{app: {name: {found}}}`, 404
/// when none was found.
pub async fn delete(
    State(state): State<RestState>,
    Path((app, names)): Path<(String, String)>,
    who: Caller,
) -> Result<Response, ApiError> {
    let existing = stored(&state)?;
    let mut found = Map::new();
    let mut commands = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let exists = existing.get(&app).is_some_and(|n| n.contains_key(name));
        found.insert(name.to_owned(), json!({ "found": exists }));
        if exists {
            commands.push(Command::DeleteEntry {
                kind: EntryKind::ApplicationPrivilege,
                id: ApplicationPrivilegeDescriptor::id(&app, name),
            });
        }
    }
    let any = !commands.is_empty();
    if any {
        state.store.write(Command::Batch(commands)).await.map_err(ApiError::from)?;
        audit_change(&state, &who, "delete_privileges", &format!("{app}:{names}"));
    }
    let status = if any { StatusCode::OK } else { StatusCode::NOT_FOUND };
    let mut out = Map::new();
    out.insert(app, Value::Object(found));
    Ok((status, Json(Value::Object(out))).into_response())
}

/// `POST /_security/privilege/{applications}/_clear_cache`: privileges are read from the store at
/// every decision (there is no cache to clear); answers as Elasticsearch does.
pub async fn clear_cache(State(state): State<RestState>, Path(_apps): Path<String>) -> Json<Value> {
    Json(super::api_key::cleared_nodes(&state))
}
