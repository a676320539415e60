//! What handlers can reach.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bulwark_security::authn::Authenticator;

use crate::indices::NodeStats;

/// Facts about this node that `GET /` reports.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// `node.name`.
    pub node_name: String,
    /// `cluster.name`.
    pub cluster_name: String,
    /// The cluster's uuid (made by its first node).
    pub cluster_uuid: String,
}

/// One member of the cluster.
#[derive(Debug, Clone)]
pub struct MemberView {
    /// Its node name.
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
    /// The numbers of another member, asked at its transport `address` with at most `timeout`
    /// to answer. A node without a transport (a node alone) cannot ask.
    fn member_stats(&self, address: &str, timeout: Duration) -> MemberStatsFuture {
        let _ = timeout;
        let address = address.to_owned();
        Box::pin(async move {
            Err(MemberFailure {
                kind: crate::ErrorType::NodeNotConnected,
                reason: format!("Node not connected: this node has no transport to reach [{address}]"),
            })
        })
    }
}

/// Why a member's answer is missing, as the cause of Elasticsearch's `failed_node_exception`.
#[derive(Debug, Clone)]
pub struct MemberFailure {
    /// Elasticsearch's exception type (`connect_transport_exception`,
    /// `receive_timeout_transport_exception`, `node_disconnected_exception`, ...).
    pub kind: crate::ErrorType,
    /// What happened.
    pub reason: String,
}

/// What [`ClusterView::member_stats`] returns.
pub type MemberStatsFuture = Pin<Box<dyn Future<Output = Result<NodeStats, MemberFailure>> + Send>>;

/// One certificate in use, as `GET /_ssl/certificates` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SslCertificate {
    /// The file it was read from.
    pub path: String,
    /// `PEM` or `PKCS12`.
    pub format: String,
    /// Its alias in a PKCS#12 file.
    pub alias: Option<String>,
    /// The subject, as a distinguished name.
    pub subject_dn: String,
    /// The serial number, in hex.
    pub serial_number: String,
    /// Whether the node holds its private key.
    pub has_private_key: bool,
    /// `YYYY-MM-DDTHH:MM:SS.000Z`.
    pub expiry: String,
    /// The issuer, as a distinguished name.
    pub issuer: String,
}

/// The certificates the node serves and trusts; implemented by the node (they can change on reload).
pub trait CertificateSource: Send + Sync {
    /// Every certificate, as read now.
    fn certificates(&self) -> Vec<SslCertificate>;
}

/// The client's certificate chain, as verified by the TLS layer (put in the request extensions by
/// the server).
#[derive(Debug, Clone)]
pub struct PeerCertificates(pub Arc<Vec<Vec<u8>>>);

/// Certificates signed for a joining node, with the CAs (all DER).
#[derive(Debug, Clone)]
pub struct SignedNode {
    /// The HTTP CA's certificate.
    pub http_ca_cert: Vec<u8>,
    /// The transport CA's certificate.
    pub transport_ca_cert: Vec<u8>,
    /// The joining node's HTTP certificate.
    pub http_cert: Vec<u8>,
    /// The joining node's transport certificate.
    pub transport_cert: Vec<u8>,
}

/// Why signing a joining node's requests failed.
#[derive(Debug, Clone)]
pub enum SignError {
    /// The requests are not acceptable (not a CSR, bad signature, weak key): a 400.
    BadRequest(String),
    /// This node cannot sign (no CA key, unreadable keystore): a 500 that says why.
    Unavailable(String),
}

/// What the enrollment and revocation APIs need from the node: its CAs, the power to sign with
/// them, and the cluster's addresses. Implemented by the node, which loads the CA keys only for a
/// signature (they never leave it). Handlers reach it as the request extension [`Enrollment`],
/// which the node layers onto the router; without one, enrollment is unavailable and no CRL is
/// published.
pub trait EnrollmentAuthority: Send + Sync {
    /// `xpack.security.enrollment.enabled` is true (and HTTPS is on).
    fn enrollment_enabled(&self) -> bool;
    /// The HTTP CA certificate (DER) the node presents after its own certificate.
    fn http_ca_der(&self) -> Option<Vec<u8>>;
    /// Signs a joining node's HTTP and transport CSRs (PEM or DER); may block (keystore, PKCS#12).
    fn sign_node(&self, http_csr: &[u8], transport_csr: &[u8]) -> Result<SignedNode, SignError>;
    /// The transport addresses of the cluster's nodes (`host:port`).
    fn node_addresses(&self) -> Vec<String>;
    /// The revocation list (DER) of `authority`, signed by it and listing `revoked`; `None` when
    /// this node does not hold that CA's key. May block (keystore, PKCS#12, signing).
    fn crl(
        &self,
        _authority: crate::revocation::Authority,
        _revoked: &[bulwark_pki::Revocation],
    ) -> Result<Option<Vec<u8>>, SignError> {
        Ok(None)
    }
}

/// The node's [`EnrollmentAuthority`], as a request extension:
/// `router(state).layer(axum::Extension(Enrollment(authority)))`.
#[derive(Clone)]
pub struct Enrollment(pub Arc<dyn EnrollmentAuthority>);

/// Shared state of the REST layer: one reference count to clone, as axum clones the state for
/// each layer of each request (copying every field cost some 3 µs of a plain `GET /`'s 45).
/// Its fields are [`Services`]'s.
#[derive(Clone)]
pub struct RestState(Arc<Services>);

impl RestState {
    /// The state holding `services`.
    pub fn new(services: Services) -> RestState {
        RestState(Arc::new(services))
    }
}

impl std::ops::Deref for RestState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What the REST layer works with, shared by every request through [`RestState`].
pub struct Services {
    /// What `GET /` says about the node.
    pub info: Arc<NodeInfo>,
    /// Who a request is.
    pub authenticator: Arc<Authenticator>,
    /// What it may do.
    pub authorizer: Arc<bulwark_security::authz::Authorizer>,
    /// The cluster's members.
    pub cluster: Arc<dyn ClusterView>,
    /// The certificates in use.
    pub certificates: Arc<dyn CertificateSource>,
    /// When false (`xpack.security.enabled: false`), requests are not authenticated.
    pub security_enabled: bool,
    /// `xpack.security.authc.api_key.enabled`: when false, the API key APIs answer 400
    /// (`feature_not_enabled_exception`) and no key authenticates.
    pub api_keys_enabled: bool,
    /// The token service (`POST /_security/oauth2/token`): how long an access token lives
    /// (`xpack.security.authc.token.timeout`); `None` when `xpack.security.authc.token.enabled`
    /// is false (the token APIs answer 400 `feature_not_enabled_exception`).
    pub token_timeout: Option<std::time::Duration>,
    /// Whether a verified client certificate authenticates (HTTP `client_authentication` is
    /// `optional` or `required`): the PKI realm.
    pub pki_enabled: bool,
    /// `http.max_content_length`.
    pub max_content_length: usize,
    /// `indexing_pressure.memory.limit`: the bytes of write requests carried out at once.
    pub indexing_pressure: Arc<crate::pressure::IndexingPressure>,
    /// The replicated store: every change goes through it.
    pub store: Arc<bulwark_store::Store>,
    /// How new passwords are hashed (`xpack.security.authc.password_hashing.algorithm`).
    pub password_hashing: bulwark_settings::values::PasswordHashing,
    /// How new service token secrets are hashed
    /// (`xpack.security.authc.service_token_hashing.algorithm`).
    pub service_token_hashing: bulwark_settings::values::PasswordHashing,
    /// The rules new passwords must meet.
    pub password_policy: bulwark_security::authn::PasswordPolicy,
}

/// What `GET /_bulwark/audit` asks of this node's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// The most events to return.
    pub size: usize,
    /// Only events with a sequence number below this one (the cursor of the next page).
    pub before: Option<u64>,
    /// Only these `event.action` values (none: every one).
    pub events: Vec<String>,
    /// Only events whose `user.name` is this one.
    pub user: Option<String>,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    /// The events as written (one JSON object per line), each with `audit.verified`: whether
    /// its MAC checked out under the chain key.
    pub events: Vec<serde_json::Value>,
    /// The cursor of the next (older) page, when this page is full.
    pub next_before: Option<u64>,
    /// Lines that are not a sealed JSON object (not returned; `bulwark doctor` reports them).
    pub unreadable_lines: u64,
    /// The page ended at the most one request reads, not because it is full or the log ended:
    /// `next_before` goes on from the oldest line read.
    pub partial: bool,
}

/// Reads this node's audit log back; implemented by the node when the audit log is on. May
/// block (it reads the files).
pub trait AuditTrail: Send + Sync {
    /// The events matching `query`, newest first.
    fn read(&self, query: &AuditQuery) -> Result<AuditPage, String>;
}

/// The node's [`AuditTrail`], as a request extension (absent when the audit log is off).
#[derive(Clone)]
pub struct AuditReader(pub Arc<dyn AuditTrail>);
