//! The dependency rule of DESIGN.md, enforced: each workspace crate may depend only on the crates
//! the table allows, and the security core stays free of async runtimes, HTTP and storage.
//! A new edge needs a visible change here and in docs/architecture.md.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Workspace crate -> the workspace crates it may use (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    // Leaves every crate may use: the one wildcard matcher and the one fail-closed random source.
    ("bulwark-pattern", &[]),
    ("bulwark-random", &[]),
    ("bulwark-settings", &["bulwark-keystore"]),
    ("bulwark-keystore", &["bulwark-random"]),
    ("bulwark-pki", &["bulwark-random"]),
    ("bulwark-security", &["bulwark-pki", "bulwark-settings", "bulwark-pattern", "bulwark-random"]),
    ("bulwark-index", &["bulwark-pattern"]),
    ("bulwark-store", &["bulwark-security", "bulwark-index", "bulwark-settings", "bulwark-random"]),
    ("bulwark-transport", &["bulwark-store", "bulwark-pki", "bulwark-security"]),
    (
        "bulwark-rest",
        &[
            "bulwark-security",
            "bulwark-store",
            "bulwark-index",
            "bulwark-pki",
            "bulwark-settings",
            "bulwark-pattern",
            "bulwark-random",
        ],
    ),
    ("bulwark-client", &["bulwark-pki"]),
    ("bulwark-console", &["bulwark-client", "bulwark-pki", "bulwark-settings"]),
    (
        "bulwark-node",
        &[
            "bulwark-settings",
            "bulwark-keystore",
            "bulwark-pki",
            "bulwark-security",
            "bulwark-index",
            "bulwark-store",
            "bulwark-transport",
            "bulwark-rest",
            "bulwark-client",
            "bulwark-random",
        ],
    ),
    (
        "bulwark",
        &[
            "bulwark-node",
            "bulwark-console",
            "bulwark-client",
            "bulwark-pki",
            "bulwark-keystore",
            "bulwark-settings",
            "bulwark-random",
        ],
    ),
    ("bulwark-testkit", &["bulwark-client", "bulwark-pki", "bulwark-settings"]),
];

/// Crates that must never be in bulwark-security's normal dependency tree.
const FORBIDDEN_IN_SECURITY: &[&str] = &["tokio", "hyper", "axum", "redb", "tantivy", "reqwest", "openraft"];

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("metadata JSON")
}

fn name_of(meta: &Value, id: &str) -> String {
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn workspace_edges_follow_the_table() {
    let meta = metadata();
    let allowed: BTreeMap<&str, BTreeSet<&str>> =
        ALLOWED.iter().map(|(k, v)| (*k, v.iter().copied().collect())).collect();
    let members: BTreeSet<String> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| name_of(&meta, id.as_str().unwrap()))
        .collect();
    let mut bad = Vec::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let name = pkg["name"].as_str().unwrap();
        if !members.contains(name) {
            continue;
        }
        let Some(ok) = allowed.get(name) else {
            bad.push(format!("{name} is not in the dependency table"));
            continue;
        };
        for dep in pkg["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            let normal = dep["kind"].is_null();
            if normal && dep_name.starts_with("bulwark") && !ok.contains(dep_name) {
                bad.push(format!("{name} -> {dep_name}"));
            }
        }
    }
    assert!(bad.is_empty(), "edges the table does not allow: {bad:?}");
}

#[test]
fn security_core_has_no_runtime_http_or_storage() {
    let meta = metadata();
    let nodes = meta["resolve"]["nodes"].as_array().unwrap();
    let root = nodes
        .iter()
        .find(|n| name_of(&meta, n["id"].as_str().unwrap()) == "bulwark-security")
        .expect("security node");
    let mut seen = BTreeSet::new();
    let mut stack = vec![root["id"].as_str().unwrap().to_owned()];
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let node = nodes.iter().find(|n| n["id"] == id.as_str()).unwrap();
        for dep in node["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap().to_owned());
            }
        }
    }
    let names: BTreeSet<String> = seen.iter().map(|id| name_of(&meta, id)).collect();
    let found: Vec<_> = FORBIDDEN_IN_SECURITY.iter().filter(|f| names.contains(**f)).collect();
    assert!(found.is_empty(), "bulwark-security depends on {found:?}");
}
