//! `ApiError`: every failure becomes Elasticsearch's error body and status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bulwark_security::SecurityError;
use serde_json::json;

/// The `WWW-Authenticate` challenges Elasticsearch sends with a 401.
const CHALLENGES: [&str; 3] =
    ["Basic realm=\"security\", charset=\"UTF-8\"", "Bearer realm=\"security\"", "ApiKey"];

/// An error answered as `{"error": {"root_cause": [...], "type", "reason"}, "status"}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub reason: String,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, reason: impl Into<String>) -> ApiError {
        ApiError { status, kind, reason: reason.into() }
    }

    /// 400 `parse_exception`.
    pub fn parse(reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "parse_exception", reason)
    }

    /// 404 `resource_not_found_exception`.
    pub fn not_found(reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "resource_not_found_exception", reason)
    }

    /// 500 for a store failure (a bug or a broken disk: logged by the caller).
    /// A store that cannot reach a majority of the cluster (a minority side, no leader) answers
    /// 503 as Elasticsearch does without an elected master.
    pub fn store(e: impl std::fmt::Display + 'static) -> ApiError {
        if let Some(bulwark_store::StoreError::Unavailable { reason }) =
            (&e as &dyn std::any::Any).downcast_ref::<bulwark_store::StoreError>()
        {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster_block_exception",
                format!("blocked by: [SERVICE_UNAVAILABLE/2/no master]; {reason}"),
            );
        }
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", format!("the store failed: {e}"))
    }

    /// 400 `illegal_argument_exception`.
    pub fn illegal_argument(reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "illegal_argument_exception", reason)
    }

    /// The body Elasticsearch sends for this error.
    pub fn body(&self) -> serde_json::Value {
        let mut cause = json!({ "type": self.kind, "reason": self.reason });
        if self.status == StatusCode::UNAUTHORIZED {
            cause["header"] = json!({ "WWW-Authenticate": CHALLENGES });
        }
        let mut error = cause.clone();
        error["root_cause"] = json!([cause]);
        json!({ "error": error, "status": self.status.as_u16() })
    }
}

impl From<SecurityError> for ApiError {
    fn from(e: SecurityError) -> ApiError {
        let status = match e {
            SecurityError::Forbidden(_) => StatusCode::FORBIDDEN,
            SecurityError::UnknownHash { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        };
        ApiError::new(status, "security_exception", e.to_string())
    }
}

/// 500: a key, secret, salt or id could not be drawn; nothing was made or stored.
impl From<bulwark_random::RandomError> for ApiError {
    fn from(e: bulwark_random::RandomError) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            for c in CHALLENGES {
                resp.headers_mut().append(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
            }
        }
        resp
    }
}

/// Puts every error answer that is not JSON into Elasticsearch's shape: the rejections axum makes
/// before a handler runs (a path segment that is not UTF-8, a method a route does not have, ...)
/// come as plain text. A 405 gets Elasticsearch's own wording with the allowed methods; any other
/// status the `{"error":{..},"status":N}` body, with the text as the reason. HEAD answers have no
/// body and are left alone.
pub async fn elasticsearch_shape(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    if status.as_u16() < 400 || is_json || method == axum::http::Method::HEAD {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let allowed =
            allowed.split(',').map(str::trim).filter(|m| !m.is_empty()).collect::<Vec<_>>().join(", ");
        let error =
            format!("Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{allowed}]");
        let mut resp = (status, axum::Json(json!({ "error": error, "status": 405 }))).into_response();
        if let Some(a) = parts.headers.get(header::ALLOW) {
            resp.headers_mut().insert(header::ALLOW, a.clone());
        }
        return resp;
    }
    let text = axum::body::to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let mut reason = String::from_utf8_lossy(&text).trim().to_owned();
    if reason.is_empty() {
        reason = status.canonical_reason().unwrap_or("the request was refused").to_owned();
    }
    let kind = match status {
        StatusCode::BAD_REQUEST => "illegal_argument_exception",
        StatusCode::NOT_FOUND => "resource_not_found_exception",
        StatusCode::NOT_ACCEPTABLE | StatusCode::UNSUPPORTED_MEDIA_TYPE => "media_type_header_exception",
        _ => "status_exception",
    };
    let mut resp = ApiError::new(status, kind, reason).into_response();
    for (name, value) in
        parts.headers.iter().filter(|(n, _)| *n != header::CONTENT_TYPE && *n != header::CONTENT_LENGTH)
    {
        resp.headers_mut().entry(name).or_insert(value.clone());
    }
    resp
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_failing_random_generator_is_a_500_in_elasticsearchs_shape() {
        let e = ApiError::from(bulwark_random::RandomError);
        let cause = json!({ "type": "exception", "reason": "the system random number generator failed" });
        let mut error = cause.clone();
        error["root_cause"] = json!([cause]);
        assert_eq!(e.body(), json!({ "error": error, "status": 500 }));
        assert_eq!(e.into_response().status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
