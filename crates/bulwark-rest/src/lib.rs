//! The Elasticsearch REST API: routes, authentication, media types and error bodies.
//!
//! [`router::router`] builds the whole API as an axum `Router` that tests can call without a
//! socket. The REST layer translates: security decides, the node's services do the work.

pub mod api;
mod authn;
mod body;
mod caller;
mod connection;
mod error;
pub mod indices;
mod json;
mod media;
mod ndjson;
mod resolve;
pub mod revocation;
pub mod router;
mod state;

pub use connection::ConnectionAuthenticated;
pub use error::ApiError;
pub use state::{
    CertificateSource, ClusterView, Enrollment, EnrollmentAuthority, MemberView, NodeInfo, PeerCertificates,
    RestState, SignError, SignedNode, SslCertificate,
};
