//! Enrollment APIs: `GET /_security/enroll/kibana` (a service-account token for the console and
//! the HTTP CA) and `POST /_security/enroll/node` (certificates for a joining node, signed from
//! its own certificate signing requests).
//!
//! Elasticsearch's `GET /_security/enroll/node` ships the HTTP CA's private key and the shared
//! transport key to the joining node; Bulwark never sends a private key, so that variant answers
//! 400 and points to the CSR flow. Node enrollment tokens are single-use: the key that enrolled
//! a node is invalidated (and marked as used) in the same step, under a lock, so two concurrent
//! uses of one token cannot both succeed on this node.

use crate::ErrorType;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulwark_security::SecurityError;
use bulwark_security::authn::{ApiKeyRecord, ServiceAccount, ServiceTokenId, now_millis};
use bulwark_security::enrollment::{self, EnrollmentError, EnrollmentScope, encode_der};
use bulwark_store::{Command, EntryKind};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::audit_change;
use crate::blocking::blocking;
use crate::body::{self, opt_string};
use crate::caller::Caller;
use crate::{ApiError, Enrollment, EnrollmentAuthority, RestState, SignError, authn};

/// Serialises "check unused, sign, mark used" for node tokens.
static NODE_ENROLLMENT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The node's authority when enrollment is on; Elasticsearch's 403 otherwise.
fn authority(
    ext: Option<axum::Extension<Enrollment>>,
) -> Result<std::sync::Arc<dyn EnrollmentAuthority>, ApiError> {
    let disabled = || {
        ApiError::new(
            ErrorType::Forbidden,
            "Enrollment mode is not enabled. Set [xpack.security.enrollment.enabled] to true, in order to use this API.",
        )
    };
    let authority = ext.map(|e| e.0.0).ok_or_else(disabled)?;
    if authority.enrollment_enabled() { Ok(authority) } else { Err(disabled()) }
}

/// `GET /_security/enroll/kibana`: a new `elastic/kibana` token named
/// `enroll-process-token-<epoch millis>` and the HTTP CA certificate (base64 DER), as
/// Elasticsearch answers.
pub async fn kibana(
    State(state): State<RestState>,
    who: Caller,
    ext: Option<axum::Extension<Enrollment>>,
) -> Result<Json<Value>, ApiError> {
    let authority = authority(ext)?;
    let ca = authority.http_ca_der().ok_or_else(|| {
        ApiError::new(ErrorType::Internal, "Unable to determine the HTTP CA certificate: the HTTP layer's certificate chain holds no CA certificate",
        )
    })?;
    let account = ServiceAccount::find("elastic/kibana")
        .ok_or_else(|| ApiError::new(ErrorType::Internal, "no elastic/kibana account"))?;
    let mut millis = now_millis();
    let id = loop {
        let id = ServiceTokenId::new(account, &format!("enroll-process-token-{millis}"))
            .map_err(body::validation)?;
        let taken = state
            .store
            .get_entry(EntryKind::ServiceToken, &id.qualified_name())
            .map_err(ApiError::from)?
            .is_some();
        if !taken {
            break id;
        }
        millis += 1;
    };
    let name = id.name().to_owned();
    let qualified = id.qualified_name();
    let token = super::service::store_new_token(&state, id).await?;
    audit_change(&state, &who, "enroll_kibana", &qualified);
    Ok(Json(json!({
        "token": { "name": name, "value": token.to_bearer().expose_secret() },
        "http_ca": encode_der(&ca),
    })))
}

/// A CSR field: PEM text, or base64 of the DER.
fn csr_field(m: &serde_json::Map<String, Value>, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(text) = opt_string(m, key)? else { return Ok(None) };
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        return Ok(Some(t.as_bytes().to_vec()));
    }
    enrollment::decode_der(t).map(Some).map_err(|e| {
        ApiError::parse(format!("[{key}] is neither a PEM certificate signing request nor base64 DER: {e}"))
    })
}

/// The caller's node enrollment key, when it authenticated with one (single use applies).
fn node_key(who: &Caller) -> Option<String> {
    let k = who.authn.as_ref()?.api_key.as_ref()?;
    (EnrollmentScope::of_key(&k.name, &k.descriptors) == Some(EnrollmentScope::Node)).then(|| k.id.clone())
}

fn load_key(state: &RestState, id: &str) -> Result<Option<ApiKeyRecord>, ApiError> {
    let v = state.store.get_entry(EntryKind::ApiKey, id).map_err(ApiError::from)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

/// `POST /_security/enroll/node` with `{"http_csr", "transport_csr"}` (PEM, or base64 DER):
/// `{"http_ca_cert", "transport_ca_cert", "http_cert", "transport_cert", "nodes_addresses"}`,
/// certificates as base64 DER.
pub async fn node(
    State(state): State<RestState>,
    who: Caller,
    ext: Option<axum::Extension<Enrollment>>,
    uri: axum::http::Uri,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let authority = authority(ext)?;
    let m = body::object(&bytes, true)?;
    if let Some(k) = m.keys().find(|k| !["http_csr", "transport_csr"].contains(&k.as_str())) {
        return Err(ApiError::new(
            ErrorType::XContentParse,
            format!("[node_enrollment_request] unknown field [{k}]"),
        ));
    }
    let http_csr = csr_field(&m, "http_csr")?;
    let transport_csr = csr_field(&m, "transport_csr")?;
    let (Some(http_csr), Some(transport_csr)) = (http_csr, transport_csr) else {
        let missing: Vec<&str> = ["http_csr", "transport_csr"]
            .into_iter()
            .filter(|k| opt_string(&m, k).ok().flatten().is_none())
            .collect();
        return Err(body::validation(format!(
            "[{}] is required: a certificate signing request for the joining node's own key",
            missing.join("], [")
        )));
    };
    let key = node_key(&who);
    let _serial = NODE_ENROLLMENT.lock().await;
    if let Some(id) = &key {
        let rec = load_key(&state, id)?;
        if rec.as_ref().is_none_or(|r| r.invalidated) {
            return Err(ApiError::from(SecurityError::CredentialsRejected {
                reason: EnrollmentError::AlreadyUsed { key_id: id.clone() }.to_string(),
                path: uri.path().to_owned(),
            }));
        }
    }
    let signer = authority.clone();
    let signed = blocking("signing", move || signer.sign_node(&http_csr, &transport_csr)).await?.map_err(
        |e| match e {
            SignError::BadRequest(m) => ApiError::illegal_argument(m),
            SignError::Unavailable(m) => ApiError::new(
                ErrorType::Internal,
                format!("this node cannot sign certificates for enrollment: {m}"),
            ),
        },
    )?;
    if let Some(id) = &key
        && let Some(mut rec) = load_key(&state, id)?
    {
        enrollment::mark_used(&mut rec, now_millis());
        let value = serde_json::to_value(&rec).map_err(ApiError::encoding)?;
        state
            .store
            .write(Command::PutEntry { kind: EntryKind::ApiKey, id: id.clone(), value })
            .await
            .map_err(ApiError::from)?;
    }
    audit_change(&state, &who, "enroll_node", key.as_deref().unwrap_or(""));
    Ok(Json(json!({
        "http_ca_cert": encode_der(&signed.http_ca_cert),
        "transport_ca_cert": encode_der(&signed.transport_ca_cert),
        "http_cert": encode_der(&signed.http_cert),
        "transport_cert": encode_der(&signed.transport_cert),
        "nodes_addresses": authority.node_addresses(),
    })))
}

/// `GET /_security/enroll/node`: Elasticsearch's key-shipping variant, refused.
pub async fn node_key_shipping() -> ApiError {
    ApiError::illegal_argument(
        "GET /_security/enroll/node is not supported: it would send the cluster's CA private keys to the joining node, and Bulwark never sends private keys. Use the CSR flow instead: POST /_security/enroll/node with {\"http_csr\": ..., \"transport_csr\": ...} (certificate signing requests, PEM or base64 DER, for the joining node's own HTTP and transport keys) to receive signed certificates, the CA certificates and the nodes' addresses; `bulwark start --enrollment-token <token>` does this for you",
    )
}

/// Rewrites the authorization layer's 403 for an enrollment key of the other scope into the
/// precise "wrong scope" refusal. Layered outside the route's authorization check.
pub async fn scope_hint(req: Request, next: Next) -> Response {
    let wanted = if req.uri().path().trim_end_matches('/').ends_with("/kibana") {
        EnrollmentScope::Kibana
    } else {
        EnrollmentScope::Node
    };
    let actual = authn::current(&req)
        .and_then(|a| a.api_key.as_ref())
        .and_then(|k| EnrollmentScope::of_key(&k.name, &k.descriptors));
    let resp = next.run(req).await;
    match actual {
        Some(actual) if actual != wanted && resp.status() == StatusCode::FORBIDDEN => {
            ApiError::new(ErrorType::Forbidden, EnrollmentError::WrongScope { wanted, actual }.to_string())
                .into_response()
        }
        _ => resp,
    }
}
