//! The result of authentication: a user, and the realm that vouched for them.

/// A user as Elasticsearch's `_authenticate` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub roles: Vec<String>,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub enabled: bool,
}

/// A realm's name and type (`reserved`/`reserved`, `default_file`/`file`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmRef {
    pub name: &'static str,
    pub realm_type: &'static str,
}

impl RealmRef {
    pub const RESERVED: RealmRef = RealmRef { name: "reserved", realm_type: "reserved" };
}

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    pub user: User,
    pub authentication_realm: RealmRef,
    pub lookup_realm: RealmRef,
    /// `realm`, `api_key`, `token`, ...
    pub authentication_type: &'static str,
}
