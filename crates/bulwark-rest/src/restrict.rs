//! Field- and document-level security on the data plane: the security core computes what a
//! caller may see of an index ([`IndexAccess`]); this module turns it into the index crate's
//! [`Restriction`] for searches and real-time reads, refuses `update` under it as
//! Elasticsearch does, and checks role queries against the query DSL when roles are defined.

use crate::ErrorType;
use std::sync::Arc;

use bulwark_index::{Query, Restriction, Restrictions};
use bulwark_security::authz::{Action, IndexAccess, RoleDescriptor, TemplateUser, check_query};
use serde_json::Value;

use crate::caller::Caller;
use crate::resolve::Catalog;
use crate::{ApiError, RestState};

/// What `caller` may see of `index` through `action` (`None`: everything, e.g. security off).
pub fn access(
    state: &RestState,
    caller: &Caller,
    catalog: &Catalog,
    action: Action,
    index: &str,
) -> Result<Option<IndexAccess>, ApiError> {
    let Some(authn) = &caller.authn else { return Ok(None) };
    // The names the index is reached through: its aliases and the data stream it backs.
    let aliases: Vec<String> = catalog
        .index(index)
        .map(|m| m.aliases.keys().chain(m.data_stream.as_ref()).cloned().collect())
        .unwrap_or_default();
    let user = TemplateUser::of(authn, state.authenticator.user_metadata(authn));
    let access = state
        .authorizer
        .index_access(authn, action, index, &aliases, &user)
        .map_err(|e| ApiError::new(ErrorType::SecurityBadRequest, e))?;
    Ok(access.is_restricted().then_some(access))
}

/// The index crate's restriction for an access.
pub fn restriction(access: &IndexAccess) -> Result<Restriction, ApiError> {
    let visible = access.fields.is_restricted().then(|| {
        let fields = access.fields.clone();
        Arc::new(move |f: &str| fields.allows(f)) as bulwark_index::FieldPredicate
    });
    let filter = access.documents.to_query().map(|q| Query::parse(&q)).transpose().map_err(|e| {
        ApiError::new(
            ErrorType::SecurityBadRequest,
            format!("the document-level security query of the caller's roles cannot be used: {}", e.reason()),
        )
    })?;
    Ok(Restriction::new(visible, filter))
}

/// The restrictions of a read of `indices` (concrete) through `action`.
pub fn restrictions(
    state: &RestState,
    caller: &Caller,
    catalog: &Catalog,
    action: Action,
    indices: &[String],
) -> Result<Restrictions, ApiError> {
    let mut out = Restrictions::none();
    for index in indices {
        if let Some(a) = access(state, caller, catalog, action, index)? {
            out.insert(index.clone(), restriction(&a)?);
        }
    }
    Ok(out)
}

/// Refuses an update of `index` when the caller's access to it is restricted, with
/// Elasticsearch's words (a bulk item has its own).
pub fn refuse_update(
    state: &RestState,
    caller: &Caller,
    catalog: &Catalog,
    index: &str,
    bulk: bool,
) -> Result<(), ApiError> {
    if access(state, caller, catalog, Action::UpdateDoc, index)?.is_none() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorType::SecurityBadRequest,
        if bulk {
            "Can't execute a bulk item request with update requests embedded if field or document level security is enabled"
        } else {
            "Can't execute an update request if field or document level security is enabled"
        },
    ))
}

/// Checks every plain role query of `d` against the query DSL (templates are checked for
/// shape only: what they become depends on the user).
pub fn check_role_queries(name: &str, d: &RoleDescriptor) -> Result<(), ApiError> {
    for group in &d.indices {
        let Some(q) = &group.query else { continue };
        if let Some(plain) = check_query(name, q).map_err(ApiError::parse)? {
            Query::parse(&plain).map_err(|e| {
                ApiError::parse(format!(
                    "failed to parse role [{name}]: [query] is not a valid query: {}",
                    e.reason()
                ))
            })?;
        }
    }
    Ok(())
}

/// [`check_role_queries`] for a role descriptor as JSON (API key `role_descriptors`).
pub fn check_role_queries_json(name: &str, v: &Value) -> Result<(), ApiError> {
    let d: RoleDescriptor = serde_json::from_value(v.clone())
        .map_err(|e| ApiError::parse(format!("failed to parse role [{name}]: {e}")))?;
    check_role_queries(name, &d)
}
