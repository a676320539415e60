//! Authentication of every request, before routing: the result is put in the request's
//! extensions for the per-route authorization layer and the handlers.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulwark_security::SecurityError;
use bulwark_security::audit::AuditEvent;
use bulwark_security::authn::{Authentication, Credentials, Outcome};

use crate::blocking::blocking;
use crate::{ApiError, RestState};

/// Authenticates the request or answers 401.
pub async fn authenticate(State(state): State<RestState>, mut req: Request, next: Next) -> Response {
    if !state.security_enabled {
        crate::connection::mark_authenticated(&req);
        return next.run(req).await;
    }
    let origin = crate::caller::origin(req.extensions(), req.method(), req.uri());
    let unauthenticated = |e: SecurityError| {
        state
            .authenticator
            .audit(AuditEvent::AuthenticationFailed { principal: String::new(), origin: origin.clone() });
        ApiError::from(e).into_response()
    };
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        // No Authorization header: a verified client certificate, when a PKI realm is
        // configured, is the only credential (run-as applies to it as to any realm user).
        let cert = req.extensions().get::<crate::PeerCertificates>().filter(|_| state.pki_enabled).cloned();
        if let Some(Outcome::Success(a)) =
            cert.and_then(|c| state.authenticator.authenticate_certificate(&c.0, &origin))
        {
            let a = match run_as(&state, &req, a) {
                Ok(a) => a,
                Err(e) => return e.into_response(),
            };
            req.extensions_mut().insert(a);
            crate::connection::mark_authenticated(&req);
            return next.run(req).await;
        }
        if req.extensions().get::<crate::PeerCertificates>().is_none_or(|c| c.0.is_empty()) {
            // Nothing at all was presented: Elasticsearch's `anonymous_access_denied`.
            state.authenticator.audit(AuditEvent::AnonymousAccessDenied { origin: origin.clone() });
            return ApiError::from(SecurityError::MissingCredentials { path: origin.path.clone() })
                .into_response();
        }
        return unauthenticated(SecurityError::MissingCredentials { path: origin.path.clone() });
    };
    let Some(credentials) = Credentials::parse(value.as_bytes()) else {
        return unauthenticated(SecurityError::MalformedCredentials { path: origin.path.clone() });
    };
    let outcome = match state.authenticator.authenticate_fast(&credentials, &origin) {
        Some(o) => o,
        None => {
            let authenticator = state.authenticator.clone();
            let o = origin.clone();
            match blocking("authentication", move || authenticator.authenticate(&credentials, &o)).await {
                Ok(o) => o,
                Err(e) => return e.into_response(),
            }
        }
    };
    match outcome {
        Outcome::Success(a) => {
            let a = match run_as(&state, &req, a) {
                Ok(a) => a,
                Err(e) => return e.into_response(),
            };
            req.extensions_mut().insert(a);
            crate::connection::mark_authenticated(&req);
            next.run(req).await
        }
        Outcome::Failure { error, delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            tracing::info!(target: "bulwark::authn", reason = %error, "authentication failed");
            ApiError::from(error).into_response()
        }
    }
}

/// Authenticates credentials a request carries in its body (a grant's user name and password or
/// access token) with the full check, off the executor, with the lockout's delay on failure.
pub(crate) async fn authenticate_body_credentials(
    state: &RestState,
    credentials: Credentials,
    origin: bulwark_security::audit::Origin,
) -> Result<Authentication, ApiError> {
    let authenticator = state.authenticator.clone();
    match blocking("authentication", move || authenticator.authenticate(&credentials, &origin)).await? {
        Outcome::Success(a) => Ok(a),
        Outcome::Failure { error, delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Err(ApiError::from(error))
        }
    }
}

/// The header that asks to act as another user.
const RUN_AS: &str = "es-security-runas-user";

/// Applies `es-security-runas-user`: the caller's roles must allow running as the target, who
/// must exist; the request then acts with the target's roles.
fn run_as(state: &RestState, req: &Request, a: Authentication) -> Result<Authentication, ApiError> {
    let Some(target) = req.headers().get(RUN_AS) else { return Ok(a) };
    let target =
        target.to_str().map_err(|_| ApiError::illegal_argument("invalid run-as user name"))?.to_owned();
    let denied = || {
        ApiError::from(SecurityError::Forbidden(format!(
            "action [{}] is unauthorized for user [{}] because user [{}] is unauthorized to run as [{target}]",
            req.uri().path(),
            a.user.username,
            a.user.username
        )))
    };
    if !state.authorizer.may_run_as(&a, &target) {
        return Err(denied());
    }
    let mut as_target = state.authenticator.lookup_user(&target).ok_or_else(denied)?;
    as_target.authentication_realm = a.authentication_realm.clone();
    Ok(as_target)
}

/// The authentication of a request (`None` when security is disabled).
pub fn current(req: &Request) -> Option<&Authentication> {
    req.extensions().get::<Authentication>()
}
