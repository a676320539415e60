//! The Elasticsearch REST API: routes, authentication, media types and error bodies.
//!
//! [`router::router`] builds the whole API as an axum `Router` that tests can call without a
//! socket. The REST layer translates: security decides, the node's services do the work.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

pub mod api;
mod authn;
mod blocking;
mod blocks;
mod body;
mod caller;
mod connection;
mod error;
mod filter_path;
pub mod indices;
mod ingest;
mod json;
mod media;
mod ndjson;
pub mod params;
pub mod pressure;
mod resolve;
pub mod restrict;
pub mod revocation;
pub mod router;
pub mod security_query;
mod state;
pub mod templates;

/// Entry points for the fuzz targets in `fuzz/`: the parsers of untrusted request bodies, as the
/// handlers call them. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    /// The strict JSON parser of request bodies; whether `bytes` was accepted.
    pub fn json_body(bytes: &[u8]) -> bool {
        crate::json::parse(bytes).is_ok()
    }

    /// A `_bulk` body: its lines, action lines and (strict JSON) sources; whether it was accepted.
    pub fn bulk_body(bytes: &[u8]) -> bool {
        let Ok(lines) = crate::ndjson::lines(bytes) else { return false };
        let Ok(items) = crate::api::bulk::count_items(&lines) else { return false };
        let sources = lines.iter().filter(|l| crate::json::parse(l.bytes).is_ok()).count();
        sources <= lines.len() && items <= lines.len()
    }
}

pub use connection::ConnectionAuthenticated;
pub use error::{ApiError, ErrorType};
pub use state::{
    AuditPage, AuditQuery, AuditReader, AuditTrail, CertificateSource, ClusterView, Enrollment,
    EnrollmentAuthority, MemberFailure, MemberStatsFuture, MemberView, NodeInfo, PeerCertificates, RestState,
    Services, SignError, SignedNode, SslCertificate,
};
