//! What the router tests share: lookups over a real store, a one-node cluster, and a state.
#![allow(dead_code)]

use std::sync::Arc;

use bulwark_rest::{CertificateSource, ClusterView, NodeInfo, RestState, Services, SslCertificate};
use bulwark_security::audit::NoAudit;
use bulwark_security::authn::{
    ApiKeyRecord, Authenticator, LockoutPolicy, NativeUser, PasswordHash, ReservedUserLookup, SecurityLookup,
    ServiceTokenId,
};
use bulwark_settings::values::PasswordHashing;
use bulwark_store::{EntryKind, Store};
use secrecy::SecretString;
use serde_json::Value;

pub const PW: &str = "the-right-password";

/// Lookups over the store the router writes to, as the node does.
pub struct Stored {
    pub store: Arc<Store>,
    pub elastic: PasswordHash,
}

impl Stored {
    fn get<T: serde::de::DeserializeOwned>(&self, kind: EntryKind, id: &str) -> Option<T> {
        self.store.get_entry(kind, id).ok().flatten().and_then(|v| serde_json::from_value(v).ok())
    }
}

impl ReservedUserLookup for Stored {
    fn reserved_user(&self, u: &str) -> Option<(PasswordHash, bool)> {
        (u == "elastic").then(|| (self.elastic.clone(), true))
    }
}

impl SecurityLookup for Stored {
    fn native_user(&self, _: &str) -> Option<NativeUser> {
        None
    }
    fn api_key(&self, id: &str) -> Option<ApiKeyRecord> {
        self.get(EntryKind::ApiKey, id)
    }
    fn service_token(&self, id: &ServiceTokenId) -> Option<PasswordHash> {
        self.get::<Value>(EntryKind::ServiceToken, &id.qualified_name())
            .and_then(|v| v["hash"].as_str().map(|h| PasswordHash::from_stored(h.to_owned())))
    }
    fn role_mappings(&self) -> Vec<(String, Value)> {
        self.store.entries(EntryKind::RoleMapping).unwrap_or_default()
    }
    fn access_token(&self, id: &str) -> Option<bulwark_security::authn::TokenRecord> {
        self.get(EntryKind::Token, id)
    }
}

pub struct OneNode;
impl ClusterView for OneNode {
    fn members(&self) -> Vec<bulwark_rest::MemberView> {
        vec![bulwark_rest::MemberView { name: "n1".into(), address: "127.0.0.1:9300".into(), master: true }]
    }
    fn number_of_nodes(&self) -> usize {
        1
    }
    fn number_of_data_nodes(&self) -> usize {
        1
    }
}

pub struct NoRoles;
impl bulwark_security::authz::RoleSource for NoRoles {
    fn role(&self, _: &str) -> Option<bulwark_security::authz::RoleDescriptor> {
        None
    }
}

pub struct NoCerts;
impl CertificateSource for NoCerts {
    fn certificates(&self) -> Vec<SslCertificate> {
        Vec::new()
    }
}

/// A router state over a fresh store, with `elastic` / [`PW`].
pub async fn state_with(security_enabled: bool) -> RestState {
    let dir = tempfile::tempdir().unwrap().keep();
    let store = Arc::new(Store::open(&dir, "n1", "127.0.0.1:9300").await.unwrap());
    let elastic = PasswordHash::create(&SecretString::from(PW), PasswordHashing::Bcrypt { cost: 4 }).unwrap();
    let lookup = Arc::new(Stored { store: store.clone(), elastic });
    let policy =
        LockoutPolicy { enabled: true, max_failures: 20, duration: std::time::Duration::from_secs(60) };
    RestState::new(Services {
        info: Arc::new(NodeInfo {
            node_name: "n1".into(),
            cluster_name: "c1".into(),
            cluster_uuid: "uuid".into(),
        }),
        authenticator: Arc::new(Authenticator::new(lookup, None, policy, Arc::new(NoAudit)).0),
        cluster: Arc::new(OneNode),
        authorizer: Arc::new(bulwark_security::authz::Authorizer::new(Arc::new(NoRoles))),
        certificates: Arc::new(NoCerts),
        security_enabled,
        api_keys_enabled: true,
        token_timeout: Some(std::time::Duration::from_secs(1200)),
        pki_enabled: false,
        max_content_length: 1 << 20,
        indexing_pressure: bulwark_rest::pressure::IndexingPressure::new(64 << 20),
        store,
        password_hashing: PasswordHashing::Bcrypt { cost: 4 },
        service_token_hashing: PasswordHashing::Pbkdf2Stretch { iterations: 1000 },
        password_policy: bulwark_security::authn::PasswordPolicy::from_settings(
            &bulwark_settings::PasswordPolicySettings { min_length: 12, reject_common: true },
        ),
    })
}
