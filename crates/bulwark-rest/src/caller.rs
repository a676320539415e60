//! Who is calling, where from, and the authorization of index actions on the indices a request
//! resolves to.
//!
//! The router names each route's action. A cluster action is decided there; an index action is
//! decided by the handler once it has resolved the request's indices, through this module's
//! [`Caller`] (the one type every handler takes). Decisions are recorded, not audited one by
//! one: when the request ends (or is dropped), [`Decisions`] writes exactly one audit event per
//! action and outcome, naming the indices it was decided on — a request is never audited as
//! granted and then denied for the same action and index (a denial wins).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, Method, Uri};
use bulwark_security::SecurityError;
use bulwark_security::audit::{AuditEvent, Origin};
use bulwark_security::authn::Authentication;
use bulwark_security::authz::{Action, denied_subject};

use crate::{ApiError, RestState};

/// Where a request came from: the peer address the server put in the extensions, the method
/// and the path. The one place an [`Origin`] is made.
pub fn origin(extensions: &Extensions, method: &Method, uri: &Uri) -> Origin {
    let address =
        extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    Origin { address, method: method.to_string(), path: uri.path().to_owned() }
}

/// What was decided for one request, by action: the indices granted and denied.
#[derive(Default)]
struct Record {
    granted: BTreeMap<Action, BTreeSet<String>>,
    denied: BTreeMap<Action, BTreeSet<String>>,
    /// Actions decided with no index (a cluster action, or an index action whose request
    /// resolved to nothing).
    decided: BTreeSet<Action>,
}

/// The decisions of one request, audited once when the last holder lets go (the request's
/// end, normal or not).
pub struct Decisions {
    state: RestState,
    authn: Authentication,
    origin: Origin,
    /// The route's action, audited as granted with no index when the handler decided nothing
    /// (it failed before resolving, or the route resolves no index).
    route: Action,
    record: Mutex<Record>,
}

impl Decisions {
    fn note(&self, action: Action, indices: &[String], granted: bool) {
        let Ok(mut r) = self.record.lock() else { return };
        let set = if granted { &mut r.granted } else { &mut r.denied };
        set.entry(action).or_default().extend(indices.iter().cloned());
        r.decided.insert(action);
    }
}

impl Drop for Decisions {
    fn drop(&mut self) {
        let record = match self.record.get_mut() {
            Ok(r) => std::mem::take(r),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        let mut events = Vec::new();
        for action in &record.decided {
            let denied = record.denied.get(action);
            if let Some(denied) = denied {
                events.push(AuditEvent::access_denied(
                    &self.authn,
                    action.name(),
                    denied.iter().cloned().collect(),
                    self.origin.clone(),
                ));
            }
            let granted: Vec<String> = record
                .granted
                .get(action)
                .into_iter()
                .flatten()
                .filter(|i| denied.is_none_or(|d| !d.contains(*i)))
                .cloned()
                .collect();
            if denied.is_none() || !granted.is_empty() {
                events.push(AuditEvent::access_granted(
                    &self.authn,
                    action.name(),
                    granted,
                    self.origin.clone(),
                ));
            }
        }
        if record.decided.is_empty() {
            events.push(AuditEvent::access_granted(
                &self.authn,
                self.route.name(),
                Vec::new(),
                self.origin.clone(),
            ));
        }
        for e in events {
            self.state.authenticator.audit(e);
        }
    }
}

/// The caller of a handler: its authentication (`None` with security disabled: everything is
/// allowed), where the request came from, and the request's authorization record.
#[derive(Clone)]
pub struct Caller {
    pub authn: Option<Authentication>,
    origin: Origin,
    decisions: Option<Arc<Decisions>>,
}

impl FromRequestParts<RestState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &RestState) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        Ok(Caller {
            authn: parts.extensions.get::<Authentication>().cloned(),
            origin: origin(&parts.extensions, &parts.method, &parts.uri),
            decisions: None,
        })
    }
}

impl Caller {
    /// The caller of a request whose route needs `route`, recording the index decisions its
    /// handler makes (the router's authorization layer makes it).
    pub(crate) fn for_index_route(
        state: &RestState,
        authn: Authentication,
        origin: Origin,
        route: Action,
    ) -> Caller {
        let decisions = Arc::new(Decisions {
            state: state.clone(),
            authn: authn.clone(),
            origin: origin.clone(),
            route,
            record: Mutex::new(Record::default()),
        });
        Caller { authn: Some(authn), origin, decisions: Some(decisions) }
    }

    /// The caller's user name (empty with security disabled).
    pub fn user_name(&self) -> String {
        self.authn.as_ref().map_or_else(String::new, |a| a.user.username.clone())
    }

    /// Where the request came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Records a decision; outside a recorded request (none today) it is audited at once.
    fn note(&self, state: &RestState, action: Action, indices: &[String], granted: bool) {
        let Some(a) = &self.authn else { return };
        if !granted {
            let user = a.user.username.clone();
            tracing::info!(target: "bulwark::authz", %user, %action, "access denied");
        }
        match &self.decisions {
            Some(d) => d.note(action, indices, granted),
            None => {
                let event = if granted { AuditEvent::access_granted } else { AuditEvent::access_denied };
                state.authenticator.audit(event(a, action.name(), indices.to_vec(), self.origin.clone()));
            }
        }
    }

    /// Allows `action` on every one of `indices`, or answers 403. Either way the decision is
    /// recorded on these indices.
    pub fn authorize(&self, state: &RestState, action: Action, indices: &[String]) -> Result<(), ApiError> {
        let Some(a) = &self.authn else { return Ok(()) };
        let decision = state.authorizer.authorize(a, action, indices);
        self.note(state, action, indices, decision.is_ok());
        decision.map_err(ApiError::from)
    }

    /// Allows `action` on every one of `indices`, or answers 403; only a denial is recorded
    /// (the grant is recorded on what these names resolve to, see [`Caller::granted`]).
    pub fn check(&self, state: &RestState, action: Action, indices: &[String]) -> Result<(), ApiError> {
        let Some(a) = &self.authn else { return Ok(()) };
        let decision = state.authorizer.authorize(a, action, indices);
        if decision.is_err() {
            self.note(state, action, indices, false);
        }
        decision.map_err(ApiError::from)
    }

    /// Records that `action` was granted on `indices`, which the request resolved to through
    /// [`Caller::allows`] (wildcards, aliases).
    pub fn granted(&self, state: &RestState, action: Action, indices: &[String]) {
        self.note(state, action, indices, true);
    }

    /// Allows writing documents to `index` with `op_type=index`: `indices:data/write/index`,
    /// and replacing documents, which Elasticsearch checks as
    /// `indices:data/write/index:op_type/index`: granted by `create`, `index`, `write` and
    /// `all` but not by `create_doc`, whose holders may only add documents. One decision.
    pub fn authorize_overwrite(&self, state: &RestState, index: &str) -> Result<(), ApiError> {
        let Some(a) = &self.authn else { return Ok(()) };
        let one = [index.to_owned()];
        let decision = state.authorizer.authorize(a, Action::IndexDoc, &one).and_then(|()| {
            if state.authorizer.has_index_privilege(a, index, "create").unwrap_or(false) {
                return Ok(());
            }
            Err(SecurityError::Forbidden(format!(
                "action [indices:data/write/index:op_type/index] is unauthorized for {} on indices [{index}], this action is granted by the index privileges [create,index,write,all]",
                denied_subject(a)
            )))
        });
        self.note(state, Action::IndexDoc, &one, decision.is_ok());
        decision.map_err(ApiError::from)
    }

    /// Allows every one of `actions` on `indices` (one decision, recorded under the last
    /// action, or under the first one refused).
    pub fn authorize_each(
        &self,
        state: &RestState,
        actions: &[Action],
        indices: &[String],
    ) -> Result<(), ApiError> {
        let Some(a) = &self.authn else { return Ok(()) };
        for (n, action) in actions.iter().enumerate() {
            let decision = state.authorizer.authorize(a, *action, indices);
            if decision.is_err() || n + 1 == actions.len() {
                self.note(state, *action, indices, decision.is_ok());
            }
            decision.map_err(ApiError::from)?;
        }
        Ok(())
    }

    /// Whether `action` is allowed on `index` (nothing recorded: for silently skipping indices
    /// and for trying alternatives).
    pub fn allows(&self, state: &RestState, action: Action, index: &str) -> bool {
        self.authn.as_ref().is_none_or(|a| state.authorizer.allows_index(a, action, index))
    }

    /// Records a denial of `action` on `indices` decided by the handler (e.g. a field- or
    /// document-level security refusal).
    pub fn audit_denied(&self, state: &RestState, action: Action, indices: &[String]) {
        self.note(state, action, indices, false);
    }
}
