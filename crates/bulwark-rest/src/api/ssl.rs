//! `GET /_ssl/certificates`: every certificate the node uses, with path, subject and expiry.
//! Revocation: `POST /_ssl/certificates/_revoke`, `GET /_ssl/certificates/_revoked`, and the
//! signed revocation lists at `GET /_ssl/crl/{http_ca,transport_ca}.crl`.

use crate::ErrorType;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bulwark_pki::{RevocationReason, normalize_serial};
use bulwark_security::authn::now_millis;
use bulwark_store::{Command, EntryKind};
use serde_json::{Value, json};

use super::{Caller, audit_change};
use crate::blocking::blocking;
use crate::body::{self, opt_string};
use crate::revocation::{self, Authority, RevokedCertificate};
use crate::{ApiError, Enrollment, RestState, SignError};

/// `GET /_ssl/certificates`: every certificate the node uses.
pub async fn certificates(State(state): State<RestState>) -> Json<Vec<crate::SslCertificate>> {
    Json(state.certificates.certificates())
}

fn authority(name: &str) -> Result<Authority, ApiError> {
    Authority::parse(name).ok_or_else(|| {
        body::validation(format!("[authority] must be [http_ca] or [transport_ca], not [{name}]"))
    })
}

/// `POST /_ssl/certificates/_revoke` `{"authority", "serial_number", "reason"?}`: adds the
/// certificate to its authority's revocation list. `revoked` is false when it already was.
pub async fn revoke(
    State(state): State<RestState>,
    who: Caller,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let m = body::object(&bytes, true)?;
    if let Some(k) = m.keys().find(|k| !["authority", "serial_number", "reason"].contains(&k.as_str())) {
        return Err(ApiError::parse(format!("unknown field [{k}] in the revoke request")));
    }
    let required = |k: &str| opt_string(&m, k)?.ok_or_else(|| body::validation(format!("[{k}] is required")));
    let authority = authority(&required("authority")?)?;
    let serial =
        normalize_serial(&required("serial_number")?).map_err(|e| body::validation(e.to_string()))?;
    let reason = match opt_string(&m, "reason")? {
        None => RevocationReason::Unspecified,
        Some(r) => RevocationReason::parse(&r).ok_or_else(|| {
            let names: Vec<&str> = RevocationReason::ALL.iter().map(|r| r.name()).collect();
            body::validation(format!("[reason] must be one of [{}], not [{r}]", names.join(", ")))
        })?,
    };
    let record = RevokedCertificate {
        authority,
        serial_number: serial,
        reason: reason.name().to_owned(),
        revoked_at: now_millis(),
        revoked_by: who.user_name(),
    };
    let id = record.id();
    let existing = state.store.get_entry(EntryKind::RevokedCertificate, &id).map_err(ApiError::from)?;
    if let Some(v) = existing {
        let earlier: RevokedCertificate = serde_json::from_value(v).map_err(ApiError::encoding)?;
        return Ok(Json(json!({ "revoked": false, "certificate": render(&earlier) })));
    }
    let value = serde_json::to_value(&record).map_err(ApiError::encoding)?;
    state
        .store
        .write(Command::PutEntry { kind: EntryKind::RevokedCertificate, id: id.clone(), value })
        .await
        .map_err(ApiError::from)?;
    audit_change(&state, &who, "revoke_certificate", &id);
    // Revoking the certificate this node serves is allowed (it may have leaked), but it keeps
    // being served until the file is replaced: say so where the operator looks.
    let in_use: Vec<String> = state
        .certificates
        .certificates()
        .into_iter()
        .filter(|c| {
            c.has_private_key && normalize_serial(&c.serial_number).is_ok_and(|s| s == record.serial_number)
        })
        .map(|c| c.path)
        .collect();
    for path in &in_use {
        tracing::warn!(
            "the certificate in [{path}] that this node serves was revoked; clients that check revocation will refuse it until you replace the file (it is reloaded without a restart)"
        );
    }
    Ok(Json(json!({ "revoked": true, "certificate": render(&record), "in_use_by_this_node": in_use })))
}

/// `GET /_ssl/certificates/_revoked`: every revoked certificate, oldest first.
pub async fn revoked(State(state): State<RestState>) -> Result<Json<Value>, ApiError> {
    let list = revocation::revoked(&state.store, None).map_err(ApiError::from)?;
    Ok(Json(json!({ "count": list.len(), "certificates": list.iter().map(render).collect::<Vec<_>>() })))
}

fn internal(reason: String) -> ApiError {
    ApiError::new(ErrorType::Internal, reason)
}

fn render(r: &RevokedCertificate) -> Value {
    json!({
        "authority": r.authority.name(),
        "serial_number": r.serial_number,
        "reason": r.reason,
        "revoked_at": r.revoked_at,
        "revoked_by": r.revoked_by,
        "crl": r.authority.crl_path(),
    })
}

/// `GET /_ssl/crl/{http_ca,transport_ca}.crl`, without authentication: the authority's current
/// revocation list (DER, `application/pkix-crl`), as TLS clients fetch it from the URL in the
/// certificates' CRL distribution point. It is signed, so it needs no protection in transit.
pub async fn crl(
    State(state): State<RestState>,
    Path(file): Path<String>,
    ca: Option<axum::Extension<Enrollment>>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(format!("no certificate revocation list [{file}] on this node"));
    let authority = file.strip_suffix(".crl").and_then(Authority::parse).ok_or_else(not_found)?;
    let Some(axum::Extension(Enrollment(ca))) = ca else { return Err(not_found()) };
    let list: Vec<_> = revocation::revoked(&state.store, Some(authority))
        .map_err(ApiError::from)?
        .iter()
        .map(RevokedCertificate::revocation)
        .collect();
    let signed = blocking("signing the revocation list", move || ca.crl(authority, &list)).await?;
    let der = match signed {
        Ok(Some(der)) => der,
        Ok(None) => {
            return Err(ApiError::not_found(format!(
                "this node does not hold the key of [{}], so it publishes no revocation list for it",
                authority.name()
            )));
        }
        Err(SignError::BadRequest(m) | SignError::Unavailable(m)) => {
            tracing::warn!("cannot publish the revocation list of [{}]: {m}", authority.name());
            return Err(internal(format!(
                "this node cannot sign the revocation list of [{}]; its log says why",
                authority.name()
            )));
        }
    };
    let mut response = der.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pkix-crl"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}
