//! What handlers can reach.

use std::sync::Arc;

use bulwark_security::authn::Authenticator;

/// Facts about this node that `GET /` reports.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub node_name: String,
    pub cluster_name: String,
    pub cluster_uuid: String,
}

/// One member of the cluster.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub name: String,
    /// Transport address, `host:port`.
    pub address: String,
    /// Whether this member is the elected master (the Raft leader).
    pub master: bool,
}

/// The cluster as this node sees it (membership, health); implemented by the node.
pub trait ClusterView: Send + Sync {
    /// Every member.
    fn members(&self) -> Vec<MemberView>;
    /// Members of the cluster.
    fn number_of_nodes(&self) -> usize;
    /// Members that hold data.
    fn number_of_data_nodes(&self) -> usize;
}

/// One certificate in use, as `GET /_ssl/certificates` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SslCertificate {
    pub path: String,
    pub format: String,
    pub alias: Option<String>,
    pub subject_dn: String,
    pub serial_number: String,
    pub has_private_key: bool,
    /// `YYYY-MM-DDTHH:MM:SS.000Z`.
    pub expiry: String,
    pub issuer: String,
}

/// The certificates the node serves and trusts; implemented by the node (they can change on reload).
pub trait CertificateSource: Send + Sync {
    fn certificates(&self) -> Vec<SslCertificate>;
}

/// The client's certificate chain, as verified by the TLS layer (put in the request extensions by
/// the server).
#[derive(Debug, Clone)]
pub struct PeerCertificates(pub Arc<Vec<Vec<u8>>>);

/// Shared state of the REST layer.
#[derive(Clone)]
pub struct RestState {
    pub info: Arc<NodeInfo>,
    pub authenticator: Arc<Authenticator>,
    pub authorizer: Arc<bulwark_security::authz::Authorizer>,
    pub cluster: Arc<dyn ClusterView>,
    pub certificates: Arc<dyn CertificateSource>,
    /// When false (`xpack.security.enabled: false`), requests are not authenticated.
    pub security_enabled: bool,
    /// Whether a verified client certificate authenticates (HTTP `client_authentication` is
    /// `optional` or `required`): the PKI realm.
    pub pki_enabled: bool,
    /// `http.max_content_length`.
    pub max_content_length: usize,
    /// The replicated store: every change goes through it.
    pub store: Arc<bulwark_store::Store>,
    /// How new passwords are hashed (`xpack.security.authc.password_hashing.algorithm`).
    pub password_hashing: bulwark_settings::values::PasswordHashing,
    /// The rules new passwords must meet.
    pub password_policy: bulwark_security::authn::PasswordPolicy,
}
