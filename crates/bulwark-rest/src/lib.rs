//! The Elasticsearch REST API: routes, authentication, media types and error bodies.
//!
//! [`router::router`] builds the whole API as an axum `Router` that tests can call without a
//! socket. The REST layer translates: security decides, the node's services do the work.

pub mod api;
mod authn;
mod blocks;
mod body;
mod caller;
mod connection;
mod error;
mod filter_path;
pub mod indices;
mod json;
mod media;
mod ndjson;
pub mod params;
mod resolve;
pub mod restrict;
pub mod revocation;
pub mod router;
mod state;

pub use connection::ConnectionAuthenticated;
pub use error::ApiError;
pub use state::{
    CertificateSource, ClusterView, Enrollment, EnrollmentAuthority, MemberView, NodeInfo, PeerCertificates,
    RestState, SignError, SignedNode, SslCertificate,
};
