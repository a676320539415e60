//! What authentication needs from storage; the node implements it over the replicated store.

use super::{ApiKeyRecord, NativeUser, PasswordHash, ReservedUserLookup, ServiceTokenId, TokenRecord};

/// Lookups of stored security entries.
pub trait SecurityLookup: ReservedUserLookup {
    /// A native user.
    fn native_user(&self, username: &str) -> Option<NativeUser>;
    /// An API key by id.
    fn api_key(&self, id: &str) -> Option<ApiKeyRecord>;
    /// The hash of a service-account token created through the API.
    fn service_token(&self, id: &ServiceTokenId) -> Option<PasswordHash>;
    /// Every stored role mapping document, by name (as `PUT /_security/role_mapping` stored it).
    fn role_mappings(&self) -> Vec<(String, serde_json::Value)>;
    /// An access/refresh token pair by its id.
    fn access_token(&self, id: &str) -> Option<TokenRecord>;
}
