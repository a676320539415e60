//! Who is calling a data-plane API, and the authorization of index actions on the indices a
//! request names. The per-route layer cannot decide these (it does not know the indices), so
//! handlers ask here; a denial is audited with the indices and answered as Elasticsearch does.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use bulwark_security::SecurityError;
use bulwark_security::audit::{AuditEvent, Origin};
use bulwark_security::authn::Authentication;
use bulwark_security::authz::{Action, effective_role_names};

use crate::{ApiError, RestState};

/// The caller: its authentication (`None` with security disabled: everything is allowed) and
/// where the request came from.
#[derive(Clone)]
pub struct Caller {
    pub authn: Option<Authentication>,
    origin: Origin,
}

impl FromRequestParts<RestState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &RestState) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(Caller {
            authn: parts.extensions.get::<Authentication>().cloned(),
            origin: Origin { address, method: parts.method.to_string(), path: parts.uri.path().to_owned() },
        })
    }
}

impl Caller {
    /// Allows `action` on every one of `indices`, or answers 403 (audited).
    pub fn authorize(&self, state: &RestState, action: Action, indices: &[String]) -> Result<(), ApiError> {
        let Some(a) = &self.authn else { return Ok(()) };
        match state.authorizer.authorize(a, action, indices) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.audit_denied(state, action, indices);
                Err(ApiError::from(e))
            }
        }
    }

    /// Allows replacing documents of `index` (`op_type=index`), which Elasticsearch checks as
    /// `indices:data/write/index:op_type/index`: granted by `create`, `index`, `write` and `all`
    /// but not by `create_doc`, whose holders may only add documents.
    pub fn authorize_overwrite(&self, state: &RestState, index: &str) -> Result<(), ApiError> {
        let Some(a) = &self.authn else { return Ok(()) };
        if state.authorizer.has_index_privilege(a, index, "create").unwrap_or(false) {
            return Ok(());
        }
        self.audit_denied(state, Action::IndexDoc, &[index.to_owned()]);
        let roles = effective_role_names(a).join(",");
        Err(ApiError::from(SecurityError::Forbidden(format!(
            "action [indices:data/write/index:op_type/index] is unauthorized for user [{}] with effective roles [{roles}] on indices [{index}], this action is granted by the index privileges [create,index,write,all]",
            a.user.username
        ))))
    }

    /// Whether `action` is allowed on `index` (no audit: for silently skipping indices).
    pub fn allows(&self, state: &RestState, action: Action, index: &str) -> bool {
        self.authn.as_ref().is_none_or(|a| state.authorizer.allows_index(a, action, index))
    }

    /// Records a denial of `action` on `indices`.
    pub fn audit_denied(&self, state: &RestState, action: Action, indices: &[String]) {
        if let Some(a) = &self.authn {
            let user = a.user.username.clone();
            tracing::info!(target: "bulwark::authz", %user, %action, "access denied");
            state.authenticator.audit(AuditEvent::access_denied(
                a,
                action.name(),
                indices.to_vec(),
                self.origin.clone(),
            ));
        }
    }
}
