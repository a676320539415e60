//! `ApiError`: every failure becomes Elasticsearch's error body and status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bulwark_index::IndexError;
use bulwark_security::SecurityError;
use bulwark_store::{Fault, StoreError};

use crate::indices::DataError;
use serde_json::json;

/// The `WWW-Authenticate` challenges Elasticsearch sends with a 401.
const CHALLENGES: [&str; 3] =
    ["Basic realm=\"security\", charset=\"UTF-8\"", "Bearer realm=\"security\"", "ApiKey"];

/// The challenge Elasticsearch sends for an expired or invalidated access token.
const EXPIRED_TOKEN: [&str; 1] =
    ["Bearer realm=\"security\", error=\"invalid_token\", error_description=\"The access token expired\""];

impl ApiError {
    /// The `WWW-Authenticate` challenges of a 401.
    fn challenges(&self) -> &'static [&'static str] {
        match (self.status, self.kind) {
            (StatusCode::UNAUTHORIZED, ErrorType::TokenExpired) => &EXPIRED_TOKEN,
            (StatusCode::UNAUTHORIZED, _) => &CHALLENGES,
            _ => &[],
        }
    }
}

macro_rules! error_types {
    ($( $(#[$m:meta])* $variant:ident = ($name:literal, $status:ident) ),+ $(,)?) => {
        /// Every Elasticsearch error type this node answers with, and its usual status: the one
        /// place a type string is written (an architecture test checks it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorType {
            $( $(#[$m])* #[doc = concat!("`", $name, "` (", stringify!($status), ")")] $variant ),+
        }

        impl ErrorType {
            /// Every error type.
            pub const ALL: &'static [ErrorType] = &[$(ErrorType::$variant),+];

            /// Elasticsearch's `type`, e.g. `index_not_found_exception`.
            pub fn name(self) -> &'static str {
                match self { $(ErrorType::$variant => $name),+ }
            }

            /// The HTTP status Elasticsearch answers with.
            pub fn status(self) -> StatusCode {
                match self { $(ErrorType::$variant => StatusCode::$status),+ }
            }
        }
    };
}

error_types! {
    /// A failure of the node itself (a bug, a broken disk, an interrupted task).
    Internal = ("exception", INTERNAL_SERVER_ERROR),
    /// A service this node does not run (yet): the data plane before it is wired.
    Unavailable = ("exception", SERVICE_UNAVAILABLE),
    /// No elected leader (a minority side): writes are blocked, as Elasticsearch's no-master block.
    ClusterBlock = ("cluster_block_exception", SERVICE_UNAVAILABLE),
    /// A member that did not answer a nodes request (in `_nodes.failures`, never a response's
    /// status); the causes below say why.
    FailedNode = ("failed_node_exception", INTERNAL_SERVER_ERROR),
    /// No connection to the member could be made.
    ConnectTransport = ("connect_transport_exception", INTERNAL_SERVER_ERROR),
    /// The member did not answer within the deadline.
    ReceiveTimeoutTransport = ("receive_timeout_transport_exception", INTERNAL_SERVER_ERROR),
    /// The connection to the member was lost during the call.
    NodeDisconnected = ("node_disconnected_exception", INTERNAL_SERVER_ERROR),
    /// This node has no transport to reach the member.
    NodeNotConnected = ("node_not_connected_exception", INTERNAL_SERVER_ERROR),
    /// The member answered with a failure.
    RemoteTransport = ("remote_transport_exception", INTERNAL_SERVER_ERROR),
    /// The member's answer could not be read, or another node answered.
    Transport = ("transport_exception", INTERNAL_SERVER_ERROR),
    /// A request body over `http.max_content_length`.
    ContentTooLong = ("status_exception", PAYLOAD_TOO_LARGE),
    IllegalArgument = ("illegal_argument_exception", BAD_REQUEST),
    IllegalState = ("illegal_state_exception", BAD_REQUEST),
    Parse = ("parse_exception", BAD_REQUEST),
    Parsing = ("parsing_exception", BAD_REQUEST),
    XContentParse = ("x_content_parse_exception", BAD_REQUEST),
    ActionRequestValidation = ("action_request_validation_exception", BAD_REQUEST),
    DocumentParsing = ("document_parsing_exception", BAD_REQUEST),
    MapperParsing = ("mapper_parsing_exception", BAD_REQUEST),
    StrictDynamicMapping = ("strict_dynamic_mapping_exception", BAD_REQUEST),
    QueryShard = ("query_shard_exception", BAD_REQUEST),
    TooManyBuckets = ("too_many_buckets_exception", BAD_REQUEST),
    SearchPhaseExecution = ("search_phase_execution_exception", BAD_REQUEST),
    Engine = ("engine_exception", INTERNAL_SERVER_ERROR),
    /// A `fail` processor of an ingest pipeline ran (Elasticsearch answers it with a 500).
    FailProcessor = ("fail_processor_exception", INTERNAL_SERVER_ERROR),
    CorruptIndex = ("corrupt_index_exception", INTERNAL_SERVER_ERROR),
    FeatureNotEnabled = ("feature_not_enabled_exception", BAD_REQUEST),
    MediaTypeHeader = ("media_type_header_exception", BAD_REQUEST),
    IndexNotFound = ("index_not_found_exception", NOT_FOUND),
    IndexClosed = ("index_closed_exception", BAD_REQUEST),
    InvalidIndexName = ("invalid_index_name_exception", BAD_REQUEST),
    InvalidAliasName = ("invalid_alias_name_exception", BAD_REQUEST),
    AliasesNotFound = ("aliases_not_found_exception", NOT_FOUND),
    ResourceNotFound = ("resource_not_found_exception", NOT_FOUND),
    InvalidIndexTemplate = ("invalid_index_template_exception", BAD_REQUEST),
    IndexTemplateMissing = ("index_template_missing_exception", NOT_FOUND),
    ResourceAlreadyExists = ("resource_already_exists_exception", BAD_REQUEST),
    DocumentMissing = ("document_missing_exception", NOT_FOUND),
    VersionConflict = ("version_conflict_engine_exception", CONFLICT),
    ClusterBlockForbidden = ("cluster_block_exception", FORBIDDEN),
    ClusterBlockTooManyRequests = ("cluster_block_exception", TOO_MANY_REQUESTS),
    RejectedExecution = ("es_rejected_execution_exception", TOO_MANY_REQUESTS),
    /// Credentials missing, malformed or wrong.
    Unauthenticated = ("security_exception", UNAUTHORIZED),
    /// An access token that expired or was invalidated: a 401 whose only challenge is
    /// `Bearer ... error="invalid_token"`.
    TokenExpired = ("security_exception", UNAUTHORIZED),
    Forbidden = ("security_exception", FORBIDDEN),
    /// A security request that cannot be carried out as asked (e.g. a document-level security
    /// query that does not parse).
    SecurityBadRequest = ("security_exception", BAD_REQUEST),
    SecurityInternal = ("security_exception", INTERNAL_SERVER_ERROR),
    /// What axum answered with a status of its own, reshaped (the status is kept).
    Status = ("status_exception", INTERNAL_SERVER_ERROR),
}

impl PartialEq<&str> for ErrorType {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl std::fmt::Display for ErrorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for ErrorType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// An error answered as `{"error": {"root_cause": [...], "type", "reason"}, "status"}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The Elasticsearch error type.
    pub kind: ErrorType,
    /// What happened, where, and what to do.
    pub reason: String,
}

impl ApiError {
    /// An error of `kind`, answered with its status.
    pub fn new(kind: ErrorType, reason: impl Into<String>) -> ApiError {
        ApiError { status: kind.status(), kind, reason: reason.into() }
    }

    /// An error of `kind` answered with another status (a status axum chose).
    pub fn with_status(kind: ErrorType, status: StatusCode, reason: impl Into<String>) -> ApiError {
        ApiError { status, kind, reason: reason.into() }
    }

    /// 400 `parse_exception`.
    pub fn parse(reason: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Parse, reason)
    }

    /// 404 `resource_not_found_exception`.
    pub fn not_found(reason: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::ResourceNotFound, reason)
    }

    /// 500 for a store failure (a bug or a broken disk: logged by the caller). A [`StoreError`]
    /// itself goes through `From`, which tells the caller's faults from the node's.
    pub fn store(reason: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Internal, format!("the store failed: {}", reason.into()))
    }

    /// 500: a record the node made could not be encoded to be stored.
    pub fn encoding(e: serde_json::Error) -> ApiError {
        ApiError::store(format!("cannot encode the record: {e}"))
    }

    /// 500: the node failed (`exception`).
    pub fn internal(reason: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Internal, reason)
    }

    /// 413: a request body over `http.max_content_length` (`limit` bytes).
    pub fn content_too_long(limit: u64) -> ApiError {
        ApiError::new(
            ErrorType::ContentTooLong,
            format!("the request body is larger than [http.max_content_length] ([{limit}] bytes)"),
        )
    }

    /// 400 `illegal_argument_exception`.
    pub fn illegal_argument(reason: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::IllegalArgument, reason)
    }

    /// The body Elasticsearch sends for this error.
    pub fn body(&self) -> serde_json::Value {
        let mut cause = json!({ "type": self.kind, "reason": self.reason });
        let challenges = self.challenges();
        if !challenges.is_empty() {
            cause["header"] = json!({ "WWW-Authenticate": challenges });
        }
        let mut error = cause.clone();
        error["root_cause"] = json!([cause]);
        json!({ "error": error, "status": self.status.as_u16() })
    }
}

impl From<SecurityError> for ApiError {
    fn from(e: SecurityError) -> ApiError {
        let kind = match e {
            SecurityError::Forbidden(_) => ErrorType::Forbidden,
            SecurityError::UnknownHash { .. } => ErrorType::SecurityInternal,
            SecurityError::TokenExpired => ErrorType::TokenExpired,
            _ => ErrorType::Unauthenticated,
        };
        ApiError::new(kind, e.to_string())
    }
}

impl ErrorType {
    /// The type of a search index failure (who is at fault is in the variant: the request's
    /// body, the document, or the engine).
    pub fn of_index_error(e: &IndexError) -> ErrorType {
        match e {
            IndexError::Parsing(_) => ErrorType::Parsing,
            IndexError::XContentParse(_) => ErrorType::XContentParse,
            IndexError::IllegalArgument(_) => ErrorType::IllegalArgument,
            IndexError::MapperParsing(_) => ErrorType::MapperParsing,
            IndexError::StrictDynamicMapping(_) => ErrorType::StrictDynamicMapping,
            IndexError::QueryShard(_) => ErrorType::QueryShard,
            IndexError::TooManyBuckets(_) => ErrorType::TooManyBuckets,
            IndexError::AlreadyExists { .. } => ErrorType::ResourceAlreadyExists,
            IndexError::Engine { .. } => ErrorType::Engine,
            IndexError::Corrupt { .. } => ErrorType::CorruptIndex,
        }
    }
}

/// A store failure: the node's own (500) or the cluster's state (503, try again), with the
/// store's words.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::of_store_error(&e)
    }
}

impl From<DataError> for ApiError {
    fn from(e: DataError) -> ApiError {
        let reason = e.to_string();
        let kind = match e {
            DataError::Store(e) => return ApiError::of_store_error(&e),
            DataError::Index(e) => return ApiError::of_index_error(&e),
            DataError::Node(_) => return ApiError::store(reason),
            DataError::IndexNotFound(_) => ErrorType::IndexNotFound,
            DataError::AlreadyExists { .. } => ErrorType::ResourceAlreadyExists,
            DataError::IndexClosed => ErrorType::IndexClosed,
            DataError::VersionConflict(_) => ErrorType::VersionConflict,
            DataError::DocumentMissing(_) => ErrorType::DocumentMissing,
            DataError::SeveralWriteIndices { .. } => ErrorType::IllegalState,
        };
        ApiError::new(kind, reason)
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> ApiError {
        ApiError::of_index_error(&e)
    }
}

impl ApiError {
    /// A store failure: 503 when the cluster cannot take it now, 500 when the node failed, 400
    /// when the request was at fault.
    fn of_store_error(e: &StoreError) -> ApiError {
        if let StoreError::Unavailable { reason } = e {
            return ApiError::new(
                ErrorType::ClusterBlock,
                format!("blocked by: [SERVICE_UNAVAILABLE/2/no master]; {reason}"),
            );
        }
        match e.fault() {
            Fault::Node => ApiError::store(e.to_string()),
            Fault::Cluster => ApiError::new(ErrorType::Unavailable, e.to_string()),
            Fault::Caller => ApiError::illegal_argument(e.to_string()),
        }
    }

    /// A search index failure, typed by who is at fault.
    fn of_index_error(e: &IndexError) -> ApiError {
        ApiError::new(ErrorType::of_index_error(e), e.reason())
    }
}

/// 500: a key, secret, salt or id could not be drawn; nothing was made or stored.
impl From<bulwark_random::RandomError> for ApiError {
    fn from(e: bulwark_random::RandomError) -> ApiError {
        ApiError::internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        for c in self.challenges() {
            resp.headers_mut().append(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
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
        StatusCode::BAD_REQUEST => ErrorType::IllegalArgument,
        StatusCode::NOT_FOUND => ErrorType::ResourceNotFound,
        StatusCode::NOT_ACCEPTABLE | StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorType::MediaTypeHeader,
        _ => ErrorType::Status,
    };
    let mut resp = ApiError::with_status(kind, status, reason).into_response();
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
    fn index_errors_keep_their_elasticsearch_type() {
        let errors = [
            IndexError::Parsing("p".into()),
            IndexError::XContentParse("x".into()),
            IndexError::IllegalArgument("i".into()),
            IndexError::MapperParsing("m".into()),
            IndexError::StrictDynamicMapping("s".into()),
            IndexError::QueryShard("q".into()),
            IndexError::TooManyBuckets("t".into()),
            IndexError::AlreadyExists { path: "p".into() },
            IndexError::Engine { context: "c", detail: "d".into() },
            IndexError::Corrupt { path: "p".into(), detail: "d".into() },
        ];
        for e in errors {
            let status = if e.is_callers_fault() { 400 } else { 500 };
            let (name, shown) = (e.error_type(), format!("{e:?}"));
            let api = ApiError::from(e);
            assert_eq!(api.kind.name(), name, "{shown}");
            assert_eq!(api.status.as_u16(), status, "{shown}");
        }
    }

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
