//! The result of authentication: a user, and the realm that vouched for them.

/// A user as Elasticsearch's `_authenticate` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub username: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// Its full name.
    pub full_name: Option<String>,
    /// Its email.
    pub email: Option<String>,
    /// Whether it may authenticate.
    pub enabled: bool,
}

/// A realm's name and type (`reserved`/`reserved`, `default_file`/`file`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmRef {
    /// The realm's name.
    pub name: &'static str,
    /// The realm's type.
    pub realm_type: &'static str,
}

impl RealmRef {
    /// The reserved realm (`elastic`, `kibana_system`, …).
    pub const RESERVED: RealmRef = RealmRef { name: "reserved", realm_type: "reserved" };
    /// The file realm (`config/users`, `config/users_roles`).
    pub const FILE: RealmRef = RealmRef { name: "default_file", realm_type: "file" };
    /// Service accounts authenticated by a bearer token.
    pub const SERVICE_ACCOUNT: RealmRef =
        RealmRef { name: "_service_account", realm_type: "_service_account" };
}

/// The token that authenticated a request, as `_authenticate` reports it under `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token's name (for a service token, the last part of `namespace/service/name`).
    pub name: String,
    /// `_service_account_file`, `_service_account_index`, ...
    pub token_type: &'static str,
}

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// The user.
    pub user: User,
    /// The realm that checked the credentials.
    pub authentication_realm: RealmRef,
    /// The realm the user was looked up in (differs under run-as).
    pub lookup_realm: RealmRef,
    /// `realm`, `api_key`, `token`, ...
    pub authentication_type: &'static str,
    /// The token used, when one was (service account tokens).
    pub token: Option<TokenInfo>,
    /// The API key used, when one was.
    pub api_key: Option<super::ApiKeyInfo>,
    /// The client certificate's subject, for a PKI realm user (`metadata.pki_dn`).
    pub pki_dn: Option<String>,
}

impl Authentication {
    /// A user authenticated by a realm (the realm also looked the user up).
    pub fn realm(user: User, realm: RealmRef) -> Authentication {
        Authentication {
            user,
            authentication_realm: realm.clone(),
            lookup_realm: realm,
            authentication_type: "realm",
            token: None,
            api_key: None,
            pki_dn: None,
        }
    }
}
