//! Audit events: what happened, to whom, from where. The node writes them (JSON lines with a
//! hash chain); this module only says what an event holds. Never a password, key or token.

use std::net::IpAddr;

use serde_json::{Map, Value, json};

/// Where a REST request came from, for audit and lockout.
#[derive(Debug, Clone)]
pub struct Origin {
    pub address: IpAddr,
    pub method: String,
    pub path: String,
}

/// One audit event.
#[derive(Debug, Clone)]
pub enum AuditEvent {
    AuthenticationSuccess {
        user: String,
        realm: String,
        origin: Origin,
    },
    AuthenticationFailed {
        principal: String,
        origin: Origin,
    },
    AccessGranted {
        user: String,
        action: String,
        indices: Vec<String>,
        origin: Origin,
    },
    AccessDenied {
        user: String,
        action: String,
        indices: Vec<String>,
        origin: Origin,
    },
    /// A brute-force lockout started.
    Lockout {
        user: String,
        address: IpAddr,
        scope: &'static str,
        seconds: u64,
    },
    /// A change to users, roles, keys or tokens.
    SecurityConfigChange {
        user: String,
        change: String,
        target: String,
    },
    /// TLS material was reloaded or refused.
    CertificateReload {
        layer: String,
        outcome: String,
    },
}

impl AuditEvent {
    /// `event.action`, as Elasticsearch names it where it has a name.
    pub fn action(&self) -> &'static str {
        match self {
            AuditEvent::AuthenticationSuccess { .. } => "authentication_success",
            AuditEvent::AuthenticationFailed { .. } => "authentication_failed",
            AuditEvent::AccessGranted { .. } => "access_granted",
            AuditEvent::AccessDenied { .. } => "access_denied",
            AuditEvent::Lockout { .. } => "lockout",
            AuditEvent::SecurityConfigChange { .. } => "security_config_change",
            AuditEvent::CertificateReload { .. } => "certificate_reload",
        }
    }

    /// The event's fields (without timestamp and chain, which the writer adds).
    pub fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("event.action".into(), json!(self.action()));
        let origin = |m: &mut Map<String, Value>, o: &Origin| {
            m.insert("event.type".into(), json!("rest"));
            m.insert("origin.type".into(), json!("rest"));
            m.insert("origin.address".into(), json!(o.address.to_string()));
            m.insert("request.method".into(), json!(o.method));
            m.insert("url.path".into(), json!(o.path));
        };
        match self {
            AuditEvent::AuthenticationSuccess { user, realm, origin: o } => {
                origin(&mut m, o);
                m.insert("user.name".into(), json!(user));
                m.insert("user.realm".into(), json!(realm));
            }
            AuditEvent::AuthenticationFailed { principal, origin: o } => {
                origin(&mut m, o);
                m.insert("user.name".into(), json!(principal));
            }
            AuditEvent::AccessGranted { user, action, indices, origin: o }
            | AuditEvent::AccessDenied { user, action, indices, origin: o } => {
                origin(&mut m, o);
                m.insert("user.name".into(), json!(user));
                m.insert("action".into(), json!(action));
                if !indices.is_empty() {
                    m.insert("indices".into(), json!(indices));
                }
            }
            AuditEvent::Lockout { user, address, scope, seconds } => {
                m.insert("event.type".into(), json!("security"));
                m.insert("user.name".into(), json!(user));
                m.insert("origin.address".into(), json!(address.to_string()));
                m.insert("lockout.scope".into(), json!(scope));
                m.insert("lockout.seconds".into(), json!(seconds));
            }
            AuditEvent::SecurityConfigChange { user, change, target } => {
                m.insert("event.type".into(), json!("security_config_change"));
                m.insert("user.name".into(), json!(user));
                m.insert("change".into(), json!(change));
                m.insert("target".into(), json!(target));
            }
            AuditEvent::CertificateReload { layer, outcome } => {
                m.insert("event.type".into(), json!("tls"));
                m.insert("tls.layer".into(), json!(layer));
                m.insert("outcome".into(), json!(outcome));
            }
        }
        m
    }
}

/// Where audit events go; the node implements it.
pub trait AuditSink: Send + Sync {
    fn record(&self, event: AuditEvent);
}

/// Discards events (audit disabled, and tests).
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: AuditEvent) {}
}
