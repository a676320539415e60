//! Audit events: what happened, to whom, from where. The node writes them (JSON lines with a
//! hash chain); this module only says what an event holds. Never a password, key or token.

use std::net::IpAddr;

use bulwark_settings::logs::AuditEventSettings;

use crate::authn::Authentication;
use bulwark_pattern::{Syntax, matches};

/// Where a REST request came from, for audit and lockout.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The client's address.
    pub address: IpAddr,
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
}

/// One audit event.
#[derive(Debug, Clone)]
pub enum AuditEvent {
    /// A request authenticated.
    AuthenticationSuccess {
        /// The user.
        user: String,
        /// The realm that authenticated it.
        realm: String,
        /// Where the request came from.
        origin: Origin,
    },
    /// Credentials were given and refused.
    AuthenticationFailed {
        /// The user name given, when there was one.
        principal: String,
        /// Where the request came from.
        origin: Origin,
    },
    /// A request without any credentials was refused.
    AnonymousAccessDenied {
        /// Where the request came from.
        origin: Origin,
    },
    /// An action was allowed.
    AccessGranted {
        /// The user.
        user: String,
        /// Its realm.
        realm: String,
        /// The roles that decided.
        roles: Vec<String>,
        /// How the user authenticated (`realm`, `api_key`, `token`; written upper case as
        /// Elasticsearch's `authentication.type`).
        auth_type: &'static str,
        /// The action name.
        action: String,
        /// The indices it concerns (resolved).
        indices: Vec<String>,
        /// Where the request came from.
        origin: Origin,
    },
    /// An action was refused.
    AccessDenied {
        /// The user.
        user: String,
        /// Its realm.
        realm: String,
        /// The roles that decided.
        roles: Vec<String>,
        /// How the user authenticated (`realm`, `api_key`, `token`; written upper case as
        /// Elasticsearch's `authentication.type`).
        auth_type: &'static str,
        /// The action name.
        action: String,
        /// The indices it concerns (resolved).
        indices: Vec<String>,
        /// Where the request came from.
        origin: Origin,
    },
    /// A brute-force lockout started.
    Lockout {
        /// The user locked out.
        user: String,
        /// The address it is locked out from.
        address: IpAddr,
        /// `user` (this user from this address) or `address` (every user from it).
        scope: &'static str,
        /// How long the lock lasts.
        seconds: u64,
    },
    /// A change to users, roles, keys or tokens.
    SecurityConfigChange {
        /// Who made it.
        user: String,
        /// What kind of change (`put_user`, `delete_role`, …).
        change: String,
        /// What it changed.
        target: String,
    },
    /// A node-to-node (transport) connection was refused: the peer's certificate is missing,
    /// from another CA, revoked, expired, or does not name its address.
    ConnectionDenied {
        /// The peer's address.
        address: IpAddr,
        /// Which check failed.
        reason: String,
    },
    /// TLS material was reloaded or refused.
    CertificateReload {
        /// `http` or `transport`.
        layer: String,
        /// What happened.
        outcome: String,
    },
}

impl AuditEvent {
    /// `event.action`, as Elasticsearch names it where it has a name.
    pub fn action(&self) -> &'static str {
        match self {
            AuditEvent::AuthenticationSuccess { .. } => "authentication_success",
            AuditEvent::AuthenticationFailed { .. } => "authentication_failed",
            AuditEvent::AnonymousAccessDenied { .. } => "anonymous_access_denied",
            AuditEvent::AccessGranted { .. } => "access_granted",
            AuditEvent::AccessDenied { .. } => "access_denied",
            AuditEvent::Lockout { .. } => "lockout",
            AuditEvent::SecurityConfigChange { .. } => "security_config_change",
            AuditEvent::CertificateReload { .. } => "certificate_reload",
            AuditEvent::ConnectionDenied { .. } => "connection_denied",
        }
    }

    /// Calls `field` with each of the event's fields, in the order they are written (without
    /// the timestamp and the chain, which the writer adds).
    pub fn each_field(&self, field: &mut dyn FnMut(&'static str, FieldValue<'_>)) {
        use FieldValue::{Address, List, Number, Text};
        field("event.action", Text(self.action()));
        let origin = |field: &mut dyn FnMut(&'static str, FieldValue<'_>), o: &Origin| {
            field("event.type", Text("rest"));
            field("origin.type", Text("rest"));
            field("origin.address", Address(o.address));
            field("request.method", Text(&o.method));
            field("url.path", Text(&o.path));
        };
        match self {
            AuditEvent::AuthenticationSuccess { user, realm, origin: o } => {
                origin(field, o);
                field("user.name", Text(user));
                field("user.realm", Text(realm));
            }
            AuditEvent::AuthenticationFailed { principal, origin: o } => {
                origin(field, o);
                field("user.name", Text(principal));
            }
            AuditEvent::AnonymousAccessDenied { origin: o } => origin(field, o),
            AuditEvent::AccessGranted { user, realm, roles, auth_type, action, indices, origin: o }
            | AuditEvent::AccessDenied { user, realm, roles, auth_type, action, indices, origin: o } => {
                origin(field, o);
                field("authentication.type", Text(&auth_type.to_ascii_uppercase()));
                field("user.name", Text(user));
                field("user.realm", Text(realm));
                field("user.roles", List(roles));
                field("action", Text(action));
                if !indices.is_empty() {
                    field("indices", List(indices));
                }
            }
            AuditEvent::Lockout { user, address, scope, seconds } => {
                field("event.type", Text("security"));
                field("user.name", Text(user));
                field("origin.address", Address(*address));
                field("lockout.scope", Text(scope));
                field("lockout.seconds", Number(*seconds));
            }
            AuditEvent::SecurityConfigChange { user, change, target } => {
                field("event.type", Text("security_config_change"));
                field("user.name", Text(user));
                field("change", Text(change));
                field("target", Text(target));
            }
            AuditEvent::ConnectionDenied { address, reason } => {
                field("event.type", Text("ip_filter"));
                field("origin.type", Text("transport"));
                field("origin.address", Address(*address));
                field("reason", Text(reason));
            }
            AuditEvent::CertificateReload { layer, outcome } => {
                field("event.type", Text("tls"));
                field("tls.layer", Text(layer));
                field("outcome", Text(outcome));
            }
        }
    }
}

/// The value of one field of an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// A string.
    Text(&'a str),
    /// A number.
    Number(u64),
    /// A list of strings.
    List(&'a [String]),
    /// An IP address, written as a string (nothing in it to escape).
    Address(std::net::IpAddr),
}

impl FieldValue<'_> {
    /// Appends the value as JSON to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing JSON into a Vec cannot fail: strings are escaped, numbers formatted.
        let _ = match self {
            FieldValue::Text(s) => serde_json::to_writer(&mut *out, s),
            FieldValue::Number(n) => serde_json::to_writer(&mut *out, n),
            FieldValue::List(l) => serde_json::to_writer(&mut *out, l),
            FieldValue::Address(a) => {
                use std::io::Write;
                write!(out, "\"{a}\"").map_err(serde_json::Error::io)
            }
        };
    }
}

/// `xpack.security.audit.logfile.events.*` applied: include/exclude by type, then the ignore
/// policies (an event matching every list of one policy is dropped).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    settings: AuditEventSettings,
}

/// What the ignore policies look at; a missing value is matched as the empty string, as
/// Elasticsearch does.
struct Subject<'a> {
    user: Option<&'a str>,
    realm: Option<&'a str>,
    roles: &'a [String],
    indices: &'a [String],
    action: Option<&'a str>,
}

fn any_match(patterns: &[String], value: &str) -> bool {
    patterns.iter().any(|p| matches(p, value, Syntax::GLOB))
}

/// A list filter matches a set of values when every value matches (an empty set is tested as "").
fn all_match(patterns: &[String], values: &[String]) -> bool {
    if values.is_empty() { any_match(patterns, "") } else { values.iter().all(|v| any_match(patterns, v)) }
}

impl AuditFilter {
    /// A filter applying `xpack.security.audit.logfile.events.*`.
    pub fn new(settings: &AuditEventSettings) -> AuditFilter {
        AuditFilter { settings: settings.clone() }
    }

    /// Whether `event` is written.
    pub fn admits(&self, event: &AuditEvent) -> bool {
        if !self.settings.includes(event.action()) {
            return false;
        }
        let s = event.subject();
        !self.settings.ignore_filters.iter().any(|p| {
            p.users.as_ref().is_none_or(|l| any_match(l, s.user.unwrap_or_default()))
                && p.realms.as_ref().is_none_or(|l| any_match(l, s.realm.unwrap_or_default()))
                && p.roles.as_ref().is_none_or(|l| all_match(l, s.roles))
                && p.indices.as_ref().is_none_or(|l| all_match(l, s.indices))
                && p.actions.as_ref().is_none_or(|l| any_match(l, s.action.unwrap_or_default()))
        })
    }
}

impl AuditEvent {
    /// `access_granted` for `a` doing `action` on `indices`.
    pub fn access_granted(
        a: &Authentication,
        action: &str,
        indices: Vec<String>,
        origin: Origin,
    ) -> AuditEvent {
        let (user, realm, roles) = Self::who(a);
        let auth_type = a.authentication_type;
        AuditEvent::AccessGranted {
            user,
            realm,
            roles,
            auth_type,
            action: action.to_owned(),
            indices,
            origin,
        }
    }

    /// `access_denied` for `a` doing `action` on `indices`.
    pub fn access_denied(
        a: &Authentication,
        action: &str,
        indices: Vec<String>,
        origin: Origin,
    ) -> AuditEvent {
        let (user, realm, roles) = Self::who(a);
        let auth_type = a.authentication_type;
        AuditEvent::AccessDenied { user, realm, roles, auth_type, action: action.to_owned(), indices, origin }
    }

    fn who(a: &Authentication) -> (String, String, Vec<String>) {
        (a.user.username.clone(), a.authentication_realm.name.to_owned(), a.user.roles.clone())
    }

    fn subject(&self) -> Subject<'_> {
        let mut s = Subject { user: None, realm: None, roles: &[], indices: &[], action: None };
        match self {
            AuditEvent::AuthenticationSuccess { user, realm, .. } => {
                s.user = Some(user);
                s.realm = Some(realm);
            }
            AuditEvent::AuthenticationFailed { principal: user, .. }
            | AuditEvent::Lockout { user, .. }
            | AuditEvent::SecurityConfigChange { user, .. } => s.user = Some(user),
            AuditEvent::AccessGranted { user, realm, roles, action, indices, .. }
            | AuditEvent::AccessDenied { user, realm, roles, action, indices, .. } => {
                s = Subject { user: Some(user), realm: Some(realm), roles, indices, action: Some(action) };
            }
            AuditEvent::AnonymousAccessDenied { .. }
            | AuditEvent::CertificateReload { .. }
            | AuditEvent::ConnectionDenied { .. } => {}
        }
        s
    }
}

/// Where audit events go; the node implements it.
pub trait AuditSink: Send + Sync {
    /// Writes (or drops, as filtered) one event.
    fn record(&self, event: AuditEvent);
}

/// Discards events (audit disabled, and tests).
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: AuditEvent) {}
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use bulwark_settings::logs::{AUDIT_EVENT_TYPES, AuditIgnorePolicy};

    use super::*;

    fn origin() -> Origin {
        Origin { address: IpAddr::V4(Ipv4Addr::LOCALHOST), method: "GET".into(), path: "/".into() }
    }

    fn granted(user: &str, indices: &[&str]) -> AuditEvent {
        AuditEvent::AccessGranted {
            user: user.into(),
            realm: "reserved".into(),
            roles: vec!["kibana_system".into()],
            auth_type: "token",
            action: "indices:data/read/search".into(),
            indices: indices.iter().map(|s| (*s).to_owned()).collect(),
            origin: origin(),
        }
    }

    #[test]
    fn every_event_type_has_a_settings_name() {
        let all = [
            granted("a", &[]),
            AuditEvent::AnonymousAccessDenied { origin: origin() },
            AuditEvent::AuthenticationFailed { principal: "a".into(), origin: origin() },
            AuditEvent::CertificateReload { layer: "http".into(), outcome: "ok".into() },
        ];
        for e in all {
            assert!(AUDIT_EVENT_TYPES.contains(&e.action()), "{}", e.action());
        }
        // Elasticsearch's `authentication.type`, upper case.
        let mut line = Vec::new();
        granted("a", &[]).each_field(&mut |name, value| {
            if name == "authentication.type" {
                value.write_json(&mut line);
            }
        });
        assert_eq!(line, b"\"TOKEN\"");
    }

    #[test]
    fn include_exclude_and_ignore_policies() {
        let mut settings = AuditEventSettings::default();
        let f = AuditFilter::new(&settings);
        assert!(f.admits(&granted("kibana_system", &[".kibana_1"])));
        assert!(f.admits(&AuditEvent::AnonymousAccessDenied { origin: origin() }));
        settings.exclude = vec!["anonymous_access_denied".into()];
        settings.ignore_filters = vec![AuditIgnorePolicy {
            name: "kibana".into(),
            users: Some(vec!["kibana_*".into()]),
            indices: Some(vec![".kibana*".into()]),
            ..AuditIgnorePolicy::default()
        }];
        let f = AuditFilter::new(&settings);
        assert!(!f.admits(&AuditEvent::AnonymousAccessDenied { origin: origin() }));
        assert!(!f.admits(&granted("kibana_system", &[".kibana_1", ".kibana_task_manager"])));
        assert!(f.admits(&granted("kibana_system", &[".kibana_1", "logs"])), "not every index matches");
        assert!(f.admits(&granted("elastic", &[".kibana_1"])), "another user");
        assert!(f.admits(&granted("kibana_system", &[])), "no index: matched as the empty string");
    }
}
