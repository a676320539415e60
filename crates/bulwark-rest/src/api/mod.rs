//! One module per API family.

use bulwark_security::audit::AuditEvent;

use crate::RestState;

pub(crate) use crate::caller::Caller;

pub mod alias;
pub mod api_key;
pub mod audit;
pub mod bulk;
pub mod cat;
pub mod cluster;
pub mod coordination;
pub mod data_stream;
pub mod document;
pub mod enroll;
pub mod ilm;
pub mod index;
pub mod ingest;
pub mod license;
pub mod nodes;
pub mod privilege;
pub mod role;
pub mod root;
pub mod search;
pub mod security;
pub mod service;
pub mod settings;
pub mod ssl;
pub mod template;
pub mod token;
pub mod user;
pub mod write;

/// Records a change of security configuration (`change` applied to `target`) in the audit log.
pub(crate) fn audit_change(state: &RestState, who: &Caller, change: &str, target: &str) {
    state.authenticator.audit(AuditEvent::SecurityConfigChange {
        user: who.user_name(),
        change: change.to_owned(),
        target: target.to_owned(),
    });
}
