//! How the get and query APIs show a key: every field Elasticsearch renders, never the hash.

use bulwark_security::authn::{ApiKeyRecord, ServiceAccount};
use serde_json::{Map, Value, json};

use crate::RestState;

/// A role's descriptor for `limited_by`, wherever the role is defined (empty when it is gone).
fn role_descriptor_of(state: &RestState, name: &str) -> Value {
    if let Some(account) = ServiceAccount::find(name) {
        return crate::api::service::role_descriptor(account);
    }
    let d = state.authorizer.descriptor(name).unwrap_or_default();
    render_descriptor(&serde_json::to_value(d).unwrap_or_else(|_| json!({})))
}

/// A stored descriptor as Elasticsearch renders it: every field present.
fn render_descriptor(d: &Value) -> Value {
    let empty = Map::new();
    let o = d.as_object().unwrap_or(&empty);
    let list = |k: &str| o.get(k).cloned().unwrap_or_else(|| json!([]));
    let indices: Vec<Value> = o
        .get("indices")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    let mut e = e.as_object().cloned().unwrap_or_default();
                    if let Some(Value::String(n)) = e.get("names") {
                        let n = n.clone();
                        e.insert("names".into(), json!([n]));
                    }
                    e.entry("allow_restricted_indices").or_insert(json!(false));
                    Value::Object(e)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("cluster".into(), list("cluster"));
    out.insert("indices".into(), json!(indices));
    out.insert("applications".into(), list("applications"));
    out.insert("run_as".into(), list("run_as"));
    out.insert("metadata".into(), o.get("metadata").cloned().unwrap_or_else(|| json!({})));
    out.insert(
        "transient_metadata".into(),
        o.get("transient_metadata").cloned().unwrap_or_else(|| json!({ "enabled": true })),
    );
    for extra in ["description", "global", "remote_indices", "remote_cluster", "restriction"] {
        if let Some(v) = o.get(extra) {
            out.insert(extra.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The `limited_by` of a key: one object of the owner's role descriptors, as copied when the
/// key was made (as they are now for a key stored before copies were kept).
pub(in crate::api) fn limited_by(state: &RestState, k: &ApiKeyRecord) -> Value {
    let roles: Map<String, Value> = match &k.limited_by {
        Some(copied) => copied.iter().map(|(r, d)| (r.clone(), render_descriptor(d))).collect(),
        None => k.limited_by_roles.iter().map(|r| (r.clone(), role_descriptor_of(state, r))).collect(),
    };
    json!([roles])
}

/// One key as the get and query APIs show it (never its hash), with `limited_by` when given.
pub(in crate::api) fn render(id: &str, k: &ApiKeyRecord, limited_by: Option<Value>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(k.name));
    out.insert("type".into(), json!(k.key_type));
    out.insert("creation".into(), json!(k.creation));
    if let Some(e) = k.expiration {
        out.insert("expiration".into(), json!(e));
    }
    out.insert("invalidated".into(), json!(k.invalidated));
    if let Some(i) = k.invalidation {
        out.insert("invalidation".into(), json!(i));
    }
    out.insert("username".into(), json!(k.username));
    out.insert("realm".into(), json!(k.realm));
    out.insert("realm_type".into(), json!(k.realm_type));
    out.insert("metadata".into(), Value::Object(k.metadata.clone()));
    let rds: Map<String, Value> =
        k.role_descriptors.iter().map(|(n, d)| (n.clone(), render_descriptor(d))).collect();
    out.insert("role_descriptors".into(), Value::Object(rds));
    if let Some(l) = limited_by {
        out.insert("limited_by".into(), l);
    }
    Value::Object(out)
}
