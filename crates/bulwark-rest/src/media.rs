//! Media types: `application/json` and `application/vnd.elasticsearch+json; compatible-with=7|8|9`,
//! and the `X-Elastic-Product` header every response carries (official clients refuse a server
//! without it).

use crate::ErrorType;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

static PRODUCT: HeaderName = HeaderName::from_static("x-elastic-product");

/// The compatible-with version a header asks for: `Ok(None)` for plain JSON (or no header),
/// `Ok(Some(v))` for a versioned media type, `Err` for a version we do not speak.
fn compatible_with(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<u8>, ApiError> {
    let Some(v) = headers.get(&name).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let lower = v.to_ascii_lowercase();
    // `Accept` may list several media ranges (the Node.js client sends
    // `application/vnd.elasticsearch+json; compatible-with=8,text/plain`).
    let Some(versioned) = lower.split(',').find(|m| m.contains("vnd.elasticsearch+")) else {
        return Ok(None);
    };
    let version = versioned.split(';').find_map(|p| p.trim().strip_prefix("compatible-with=")).map(str::trim);
    match version {
        Some("7") => Ok(Some(7)),
        Some("8") => Ok(Some(8)),
        Some("9") => Ok(Some(9)),
        _ => Err(ApiError::new(
            ErrorType::MediaTypeHeader,
            format!(
                "Invalid media-type value on headers [{}]: compatible-with must be 7, 8 or 9, got [{v}]",
                name
            ),
        )),
    }
}

/// Checks `Accept`/`Content-Type`, then stamps the product header and, for a versioned request,
/// the matching versioned content type.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let accept = compatible_with(req.headers(), header::ACCEPT);
    let content = compatible_with(req.headers(), header::CONTENT_TYPE);
    let mut resp = match (accept, content) {
        (Err(e), _) | (_, Err(e)) => e.into_response(),
        (Ok(a), Ok(c)) => {
            let mut resp = next.run(req).await;
            if let Some(v) = a.or(c) {
                let is_json = resp
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|ct| ct.as_bytes().starts_with(b"application/json"));
                if is_json {
                    let ct = format!("application/vnd.elasticsearch+json;compatible-with={v}");
                    if let Ok(hv) = HeaderValue::from_str(&ct) {
                        resp.headers_mut().insert(header::CONTENT_TYPE, hv);
                    }
                }
            }
            resp
        }
    };
    let h = resp.headers_mut();
    h.insert(PRODUCT.clone(), HeaderValue::from_static("Elasticsearch"));
    // An API never wants to be framed, sniffed or cached by a browser; HTTPS is remembered.
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    resp
}

/// `?pretty`: re-indents a JSON response, as Elasticsearch does for humans with curl.
pub async fn pretty(req: Request, next: Next) -> Response {
    let wants = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "pretty" || p == "pretty=true" || p == "pretty="));
    let resp = next.run(req).await;
    if !wants {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let pretty = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| serde_json::to_vec_pretty(&v).ok())
        .map(|mut v| {
            v.push(b'\n');
            v
        });
    let mut resp =
        Response::from_parts(parts, axum::body::Body::from(pretty.unwrap_or_else(|| bytes.to_vec())));
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp
}
