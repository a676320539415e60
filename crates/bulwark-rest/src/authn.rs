//! Authentication of every request, before routing: the result is put in the request's
//! extensions for the per-route authorization layer and the handlers.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulwark_security::SecurityError;
use bulwark_security::authn::{Authentication, Credentials};

use crate::{ApiError, RestState};

/// Authenticates the request or answers 401.
pub async fn authenticate(State(state): State<RestState>, mut req: Request, next: Next) -> Response {
    if !state.security_enabled {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return ApiError::from(SecurityError::MissingCredentials { path }).into_response();
    };
    let Some(credentials) = Credentials::parse(value.as_bytes()) else {
        return ApiError::from(SecurityError::MalformedCredentials { path }).into_response();
    };
    let authentication = match state.authenticator.authenticate_cached(&credentials) {
        Some(a) => a,
        None => {
            let authenticator = state.authenticator.clone();
            let result =
                tokio::task::spawn_blocking(move || authenticator.authenticate(&credentials, &path)).await;
            match result {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => {
                    tracing::info!(target: "bulwark::authn", reason = %e, "authentication failed");
                    return ApiError::from(e).into_response();
                }
                Err(_) => {
                    return ApiError::new(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "exception",
                        "authentication was interrupted",
                    )
                    .into_response();
                }
            }
        }
    };
    req.extensions_mut().insert(authentication);
    next.run(req).await
}

/// The authentication of a request, or the anonymous superuser when security is disabled.
pub fn current(req: &Request) -> Option<&Authentication> {
    req.extensions().get::<Authentication>()
}
