//! `bulwark doctor`: one report of the node's security state, each finding with its fix.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bulwark_keystore::Keystore;
use bulwark_settings::{Home, Loaded, SslSettings};
use secrecy::SecretString;
use serde::Serialize;

use crate::state::NodeState;
use crate::{autoconfig, tls};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing to do.
    Ok,
    /// Worth knowing.
    Info,
    /// Should be fixed.
    Warning,
    /// Must be fixed: the node is at risk.
    Critical,
}

/// One thing the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// A stable identifier, e.g. `tls.http`.
    pub check: &'static str,
    /// What was found.
    pub message: String,
    /// The command or setting that fixes it (empty when nothing needs fixing).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

fn finding(
    severity: Severity,
    check: &'static str,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding { severity, check, message: message.into(), fix: fix.into() }
}

/// Examines a home. `running_as_root` is the doctor's own process (the node's is unknown to it).
pub fn examine(
    home: &Home,
    loaded: &Loaded,
    keystore_password: &SecretString,
    running_as_root: bool,
) -> Vec<Finding> {
    let s = &loaded.settings;
    let mut out = Vec::new();
    if running_as_root {
        out.push(finding(
            Severity::Warning,
            "root",
            "running as root (uid 0)",
            "run bulwark as an unprivileged user; --allow-root is meant for containers and CI only",
        ));
    }
    if !s.security.is_enabled() {
        out.push(finding(
            Severity::Critical,
            "security.enabled",
            "security is disabled (xpack.security.enabled: false): no authentication, no TLS",
            "remove xpack.security.enabled: false from bulwark.yml (or set it to true) and restart",
        ));
    }
    let keystore = match Keystore::exists(&home.keystore_file()) {
        true => match Keystore::load(&home.keystore_file(), keystore_password) {
            Ok(k) => Some(k),
            Err(e) => {
                out.push(finding(
                    Severity::Critical,
                    "keystore",
                    e.to_string(),
                    "set KEYSTORE_PASSWORD to the keystore's password",
                ));
                None
            }
        },
        false => None,
    };
    match NodeState::read(&s.path_data) {
        Ok(Some(state)) => match state.autoconfiguration.reason {
            None => out.push(finding(Severity::Ok, "autoconfiguration", "security was configured automatically on the first start", "")),
            Some(reason) => out.push(finding(
                Severity::Info,
                "autoconfiguration",
                format!("automatic security configuration was skipped on the first start: {reason}"),
                "",
            )),
        },
        Ok(None) => match autoconfig::check(home, s, loaded.file_exists, keystore.as_ref()) {
            Ok(()) => out.push(finding(Severity::Info, "autoconfiguration", "the node has not started yet; its first start will configure security automatically", "")),
            Err(reason) => out.push(finding(
                Severity::Warning,
                "autoconfiguration",
                format!("the node has not started yet, and its first start will not configure security automatically: {reason}"),
                "change the setting named above, or configure TLS by hand (bulwark certutil)",
            )),
        },
        Err(e) => out.push(finding(Severity::Critical, "data", e.to_string(), "")),
    }
    if s.security.is_enabled() {
        for (layer, ssl) in [("http", &s.security.http_ssl), ("transport", &s.security.transport_ssl)] {
            layer_findings(home, layer, ssl, keystore.as_ref(), &mut out);
        }
    }
    if s.security.is_enabled() {
        out.push(crate::enrollment::doctor_finding(home, s, keystore.as_ref()));
    }
    permission_findings(home, &mut out);
    data_permission_findings(&s.path_data, &mut out);
    if s.security.is_enabled() && !s.security.audit_enabled {
        out.push(finding(
            Severity::Warning,
            "audit",
            "audit logging is off (xpack.security.audit.enabled: false)",
            "remove xpack.security.audit.enabled: false from bulwark.yml and restart",
        ));
    }
    out.extend(audit_finding(loaded, keystore.as_ref()));
    if home.bootstrap_credentials_file().exists() {
        out.push(finding(
            Severity::Warning,
            "bootstrap_credentials",
            format!(
                "[{}] still holds the first-start credentials (the elastic password, an enrollment token)",
                home.bootstrap_credentials_file().display()
            ),
            format!(
                "store the password safely, then delete the file: rm {}",
                home.bootstrap_credentials_file().display()
            ),
        ));
    }
    out
}

/// The audit log's chain, against its anchor, under the keystore's chain key.
fn audit_finding(loaded: &Loaded, keystore: Option<&Keystore>) -> Option<Finding> {
    use crate::audit::verify::{Verdict, verify};
    let s = &loaded.settings;
    let key = keystore.and_then(|k| k.get(bulwark_settings::secure::AUDIT_CHAIN_KEY));
    match verify(&s.path_logs, &s.path_data, key) {
        Verdict::Intact { entries, files } => Some(finding(
            Severity::Ok,
            "audit",
            format!(
                "the audit log's keyed chain is intact ({entries} entries in {files} files) and matches its anchor"
            ),
            "",
        )),
        Verdict::Broken(problems) => Some(finding(
            Severity::Critical,
            "audit",
            format!("the audit log was altered: {}", problems.join("; ")),
            "treat the node as possibly compromised: keep a copy of the audit files and data/audit.anchor for investigation, then move them aside (the next start begins a new chain)",
        )),
        Verdict::Absent => None,
    }
}

fn layer_findings(
    home: &Home,
    layer: &'static str,
    ssl: &SslSettings,
    ks: Option<&Keystore>,
    out: &mut Vec<Finding>,
) {
    let check = if layer == "http" { "tls.http" } else { "tls.transport" };
    if !ssl.enabled {
        let severity = if layer == "http" { Severity::Warning } else { Severity::Info };
        out.push(finding(
            severity,
            check,
            format!("TLS is off on the {layer} layer"),
            format!("configure xpack.security.{layer}.ssl.* (see `bulwark certutil`)"),
        ));
        return;
    }
    let material = match tls::load(home, layer, ssl, ks) {
        Ok(m) => m,
        Err(e) => {
            out.push(finding(
                Severity::Critical,
                check,
                e.to_string(),
                "fix the file or setting named above",
            ));
            return;
        }
    };
    out.push(finding(Severity::Ok, check, format!("TLS is on for the {layer} layer"), ""));
    let now = time::OffsetDateTime::now_utc();
    for der in material.chain.iter().chain(&material.trusted) {
        let Ok(info) = bulwark_pki::inspect(der) else { continue };
        let days = info.days_until_expiry(now);
        if days < 0 {
            out.push(finding(
                Severity::Critical,
                "certificate.expiry",
                format!("{layer} certificate [{}] expired on {}", info.subject_dn, info.not_after),
                "issue a new certificate with `bulwark certutil` and replace the file; the node reloads it",
            ));
        } else if days <= crate::reload::EXPIRY_WARNING_DAYS {
            out.push(finding(
                Severity::Warning,
                "certificate.expiry",
                format!(
                    "{layer} certificate [{}] expires in {days} days ({})",
                    info.subject_dn, info.not_after
                ),
                "issue a new certificate with `bulwark certutil` and replace the file before it expires",
            ));
        }
    }
}

fn mode(p: &Path) -> Option<u32> {
    std::fs::metadata(p).ok().map(|m| m.permissions().mode() & 0o777)
}

fn permission_findings(home: &Home, out: &mut Vec<Finding>) {
    let mut secret_files = vec![home.keystore_file()];
    if let Ok(dir) = std::fs::read_dir(home.certs_dir()) {
        for e in dir.flatten() {
            let p = e.path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("p12" | "pfx" | "key")) {
                secret_files.push(p);
            }
        }
        if let Some(m) = mode(&home.certs_dir())
            && m & 0o007 != 0
        {
            out.push(finding(
                Severity::Warning,
                "permissions",
                format!("[{}] is open to other users (mode {m:o})", home.certs_dir().display()),
                format!("chmod 750 {}", home.certs_dir().display()),
            ));
        }
    }
    for p in secret_files {
        if let Some(m) = mode(&p)
            && m & 0o077 != 0
        {
            out.push(finding(
                Severity::Warning,
                "permissions",
                format!("[{}] holds keys or secrets but has mode {m:o}", p.display()),
                format!("chmod 600 {}", p.display()),
            ));
        }
    }
}

/// At most this many entries of the data directory are examined, and this many reported one by one.
const DATA_WALK_LIMIT: usize = 100_000;
const DATA_REPORT_LIMIT: usize = 20;

/// Every file under `path.data` must be 0600 and every directory 0700 (the node creates them so
/// under a 0077 umask); anything open to the group or others is reported with its `chmod`.
fn data_permission_findings(data: &Path, out: &mut Vec<Finding>) {
    let mut loose = Vec::new();
    let mut stack = vec![data.to_path_buf()];
    let mut seen = 0usize;
    while let Some(p) = stack.pop() {
        seen += 1;
        if seen > DATA_WALK_LIMIT {
            break;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
        let m = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            if m & 0o077 != 0 {
                loose.push((p.clone(), m, "700"));
            }
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if meta.is_file() && m & 0o077 != 0 {
            loose.push((p, m, "600"));
        }
    }
    loose.sort();
    for (p, m, want) in loose.iter().take(DATA_REPORT_LIMIT) {
        out.push(finding(
            Severity::Warning,
            "permissions.data",
            format!(
                "[{}] in the data directory is open to other users (mode {m:o}, expected {want})",
                p.display()
            ),
            format!("chmod {want} {}", p.display()),
        ));
    }
    if loose.len() > DATA_REPORT_LIMIT {
        out.push(finding(
            Severity::Warning,
            "permissions.data",
            format!(
                "{} more entries of [{}] are open to other users",
                loose.len() - DATA_REPORT_LIMIT,
                data.display()
            ),
            format!("chmod -R go-rwx {}", data.display()),
        ));
    }
}
