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
    // The console is a client of the REST API (Kibana's position): never the node's store or
    // security crates. Its own keystore and random source are the shared leaves.
    (
        "bulwark-console",
        &["bulwark-client", "bulwark-pki", "bulwark-settings", "bulwark-keystore", "bulwark-random"],
    ),
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
            // The tools that edit realm files (`users`, `service-tokens`, `reset-password`) and
            // read enrollment tokens use the security crate's formats and rules directly.
            "bulwark-security",
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

/// The `.rs` files under `dir`, recursively.
fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A crate that re-exports another workspace crate's items tunnels the dependency rule: its
/// users reach a crate the table does not let them depend on.
#[test]
fn no_crate_re_exports_another_workspace_crate() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (mut tunnels, mut scanned) = (Vec::new(), 0);
    for entry in std::fs::read_dir(&crates).unwrap().flatten() {
        let own = entry.file_name().to_string_lossy().replace('-', "_");
        let mut files = Vec::new();
        sources(&entry.path().join("src"), &mut files);
        scanned += files.len();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let Some(rest) = line.trim_start().strip_prefix("pub use ") else { continue };
                let root = rest.trim_start_matches("::").split("::").next().unwrap_or_default();
                if root.starts_with("bulwark_") && root != own {
                    tunnels.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(scanned > 100, "only {scanned} source files found under {}", crates.display());
    assert!(tunnels.is_empty(), "re-exports of another workspace crate: {tunnels:#?}");
}

/// The code of a source file without its `#[cfg(test)]` part (tests sit at the end of a file).
fn code_of(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or_default()
}

/// Every crate's source files outside tests, with the crate's directory name.
fn crate_sources() -> Vec<(String, std::path::PathBuf, String)> {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut files = Vec::new();
        sources(&entry.path().join("src"), &mut files);
        for file in files {
            if file.file_name().is_some_and(|f| f == "tests.rs")
                || file.components().any(|c| c.as_os_str() == "tests")
            {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            out.push((name.clone(), file, code_of(&text).to_owned()));
        }
    }
    assert!(out.len() > 100, "only {} source files found", out.len());
    out
}

/// Elasticsearch error types are written in one registry (`bulwark-rest/src/error.rs`,
/// `ErrorType`), which also gives each its status; `bulwark-index`'s errors carry their type
/// name for its own tests, and a REST test checks the registry maps them alike.
#[test]
fn error_types_are_named_only_in_the_registry() {
    let registry = ["bulwark-rest/src/error.rs", "bulwark-index/src/error.rs"];
    let mut found = Vec::new();
    for (_, file, code) in crate_sources() {
        let path = file.to_string_lossy().replace('\\', "/");
        if registry.iter().any(|r| path.ends_with(r)) {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            if line.contains("_exception\"") || line.contains("\"exception\"") {
                found.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "error type strings outside the registry: {found:#?}");
}

/// HTTP statuses belong to the REST layer: library crates report typed errors, and
/// `bulwark-rest` maps them. The binary and the test kit speak HTTP as clients and servers do;
/// so does `bulwark-client`, which reads the statuses a node answers with; `bulwark-transport`,
/// whose node-to-node calls are HTTP/2 requests (statuses of its own protocol, never an
/// Elasticsearch error); and `bulwark-console`, a web server of its own (its pages answer
/// browsers, not Elasticsearch clients).
#[test]
fn library_crates_never_name_an_http_status() {
    let speaks_http = [
        "bulwark-rest",
        "bulwark",
        "bulwark-testkit",
        "bulwark-client",
        "bulwark-transport",
        "bulwark-console",
    ];
    let mut found = Vec::new();
    for (name, file, code) in crate_sources() {
        if speaks_http.contains(&name.as_str()) {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            if line.contains("StatusCode") || line.contains("fn status(") {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "HTTP statuses named in library crates: {found:#?}");
}

/// Lints are rules: every crate takes the workspace's `[lints]` (unsafe code forbidden), except
/// the two that deny unsafe code and allow it in one place each, saying why there.
#[test]
fn every_crate_takes_the_workspace_lints() {
    const OWN_LINTS: [&str; 2] = ["bulwark-node", "bulwark"];
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates/").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(manifest) = std::fs::read_to_string(entry.path().join("Cargo.toml")) else { continue };
        // The section's lines, up to the next section.
        let section = |header: &str| -> Vec<String> {
            let mut lines = manifest.lines().skip_while(|l| l.trim() != header);
            lines.next();
            lines.take_while(|l| !l.trim_start().starts_with('[')).map(|l| l.replace(' ', "")).collect()
        };
        let ok = if OWN_LINTS.contains(&name.as_str()) {
            section("[lints.rust]").contains(&"unsafe_code=\"deny\"".to_owned())
        } else {
            section("[lints]").contains(&"workspace=true".to_owned())
        };
        if !ok {
            wrong.push(name);
        }
    }
    assert!(wrong.is_empty(), "crates without the workspace's lints: {wrong:?}");
}

/// Outside tests, no crate unwraps (style.md: never on input; where the code proved the value
/// itself, an `#[allow(…, reason = "…")]` on the item says why), and every public item has a doc
/// comment. Clippy and rustc enforce the attributes; this checks every crate root carries them
/// (the test kit, being test code, may unwrap).
#[test]
fn every_crate_denies_unwrap_outside_tests_and_missing_docs() {
    const UNWRAP: &str = "#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]";
    const DOCS: &str = "#![deny(missing_docs)]";
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates/").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let root = ["src/lib.rs", "src/main.rs"].iter().map(|r| entry.path().join(r)).find(|p| p.is_file());
        let Some(root) = root else { continue };
        let text = std::fs::read_to_string(&root).expect("crate root");
        let has = |line: &str| text.lines().any(|l| l.trim() == line);
        if name != "bulwark-testkit" && !has(UNWRAP) {
            wrong.push(format!("{name}: {UNWRAP}"));
        }
        if !has(DOCS) {
            wrong.push(format!("{name}: {DOCS}"));
        }
    }
    assert!(wrong.is_empty(), "crate roots without their lint attributes: {wrong:?}");
}

/// Every `.rs` file under `crates/*/src` (recursively).
fn source_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates/").flatten() {
        let src = entry.path().join("src");
        if src.is_dir() {
            walk(&src, &mut out);
        }
    }
    assert!(out.len() > 100, "the source files were not found: {}", out.len());
    out
}

/// No source file grows past 800 lines (issue #15: a file that long holds more than one rule).
#[test]
fn no_source_file_is_over_800_lines() {
    let long: Vec<String> = source_files()
        .into_iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(&p).expect("source").lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over 800 lines: {long:?}");
}

/// The node's index service answers with typed errors (`DataError`); only `bulwark-rest` turns
/// them into Elasticsearch's errors.
#[test]
fn the_index_service_builds_no_rest_errors() {
    let wrong: Vec<String> = source_files()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("bulwark-node/src/indices"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("source");
            text.contains("ApiError") || text.contains("ErrorType")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(wrong.is_empty(), "the index service names REST errors in {wrong:?}");
}

/// HTTP clients are built in one place, `bulwark-client` (ALPN, HTTPS only, no proxy, timeouts,
/// trust): no other crate's code builds one. (The console test's browser stand-in is a test.)
#[test]
fn only_bulwark_client_builds_http_clients() {
    let wrong: Vec<String> = source_files()
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("bulwark-client/src"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("source");
            ["reqwest::Client::builder", "reqwest::blocking", "ClientBuilder"]
                .iter()
                .any(|n| text.contains(n))
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(wrong.is_empty(), "HTTP clients built outside bulwark-client in {wrong:?}");
}
