//! `GET /_ssl/certificates`: every certificate the node uses, with path, subject and expiry.

use axum::Json;
use axum::extract::State;

use crate::{RestState, SslCertificate};

pub async fn certificates(State(state): State<RestState>) -> Json<Vec<SslCertificate>> {
    Json(state.certificates.certificates())
}
