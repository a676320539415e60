//! Cross-site request protection for every state change, in one place: each POST must come from
//! this origin (`Sec-Fetch-Site`, `Origin`, checked when the browser sends them) and carry the
//! form field `csrf` equal to the token of the caller's session (pages under `/app/`) or of its
//! sealed pre-login cookie (login and setup forms). `SameSite=Strict` cookies are a third layer.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::session::{self, CSRF_COOKIE, SESSION_COOKIE};

/// The largest form the console accepts.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

fn refuse(reason: &str) -> Response {
    (StatusCode::FORBIDDEN, crate::pages::message_page("Request refused", reason)).into_response()
}

/// The origin check: a browser's cross-site request says so in `Sec-Fetch-Site` or `Origin`.
fn same_origin(req: &Request) -> Result<(), String> {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(format!("the request came from another site (Sec-Fetch-Site: {site})"));
    }
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let bare = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin == "null" || bare != host {
            return Err(format!("the request's Origin [{origin}] is not this console [{host}]"));
        }
    }
    Ok(())
}

/// The `csrf` field of an urlencoded form.
fn form_token(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned())
}

/// Middleware: every POST passes the origin check and carries the right token.
pub async fn protect(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    if let Err(reason) = same_origin(&req) {
        return refuse(&reason);
    }
    let cookies =
        req.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            crate::pages::message_page("Request refused", "The form is too large."),
        )
            .into_response();
    };
    let typed = form_token(&bytes).unwrap_or_default();
    let settings = state.settings();
    let by_session = session::cookie(&cookies, SESSION_COOKIE).and_then(|c| {
        state
            .sealer
            .open_session(c, settings.session_idle_timeout, settings.session_lifespan, session::now())
            .ok()
    });
    // Pages under /app carry the session's token; the login and setup forms the pre-login
    // cookie's, also when the browser still holds a session (logging in again).
    let ok = if parts.uri.path().starts_with("/app/") {
        // Without a session it goes on to the session check, which sends it to login.
        by_session.as_ref().is_none_or(|s| s.csrf_matches(&typed))
    } else {
        session::cookie(&cookies, CSRF_COOKIE).is_some_and(|c| state.sealer.form_token_matches(c, &typed))
    };
    if !ok {
        return refuse("The form's security token is missing or not valid. Reload the page and try again.");
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
