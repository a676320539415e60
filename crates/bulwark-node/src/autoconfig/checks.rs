//! The checks that must all pass before auto-configuration runs. Each failure names the check,
//! why it matters and how to change it; the node logs it and `bulwark doctor` repeats it.

use std::fmt;

use bulwark_keystore::Keystore;
use bulwark_settings::values::NodeRole;
use bulwark_settings::{Home, Settings};

use crate::files::dir_is_empty;

/// Why auto-configuration did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipReason {
    /// A stable identifier of the check (`data_not_empty`, `security_enabled_set`, ...).
    pub check: &'static str,
    /// What was found.
    pub message: String,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [check: {}]", self.message, self.check)
    }
}

fn skip(check: &'static str, message: String) -> Result<(), SkipReason> {
    Err(SkipReason { check, message })
}

/// Runs every check in order; `Ok` means auto-configuration may run.
pub fn check(
    home: &Home,
    settings: &Settings,
    file_exists: bool,
    keystore: Option<&Keystore>,
) -> Result<(), SkipReason> {
    let sec = &settings.security;
    match dir_is_empty(&settings.path_data) {
        Ok(true) => {}
        Ok(false) => {
            return skip(
                "data_not_empty",
                format!(
                    "the data directory [{}] is not empty, so this is not the first start of this node",
                    settings.path_data.display()
                ),
            );
        }
        Err(e) => return skip("data_unreadable", format!("{e}")),
    }
    if !sec.autoconfiguration_enabled {
        return skip(
            "autoconfiguration_disabled",
            "xpack.security.autoconfiguration.enabled is false; remove it to let the node configure TLS by itself".into(),
        );
    }
    if let Some(v) = sec.enabled {
        return skip(
            "security_enabled_set",
            format!(
                "xpack.security.enabled is set ({v}), so security is configured by hand; remove the setting to let the node configure security by itself"
            ),
        );
    }
    for ssl in [&sec.http_ssl, &sec.transport_ssl] {
        if let Some((key, origin)) = &ssl.first_setting {
            return skip(
                "tls_configured",
                format!(
                    "[{key}] is set at {origin}, so TLS is configured by hand; remove the TLS settings to let the node generate its own certificates"
                ),
            );
        }
    }
    if let Some(ks) = keystore
        && let Some(name) = ks.names().find(|n| {
            n.starts_with("xpack.security.http.ssl.") || n.starts_with("xpack.security.transport.ssl.")
        })
    {
        return skip(
            "tls_in_keystore",
            format!(
                "the keystore already holds [{name}], so TLS is configured by hand; remove it with `bulwark keystore remove {name}` to let the node configure TLS"
            ),
        );
    }
    let d = &settings.discovery;
    if !d.seed_hosts.is_empty() {
        return skip(
            "not_initial_node",
            format!(
                "discovery.seed_hosts is set ({}), so this node joins an existing cluster; start it with `bulwark start --enrollment-token <token>` instead",
                d.seed_hosts.join(", ")
            ),
        );
    }
    if let Some(t) = d.discovery_type.as_deref().filter(|t| *t != "single-node") {
        return skip("not_initial_node", format!("discovery.type is [{t}], not single-node"));
    }
    if !d.initial_master_nodes.is_empty() && d.initial_master_nodes != [settings.node_name.clone()] {
        return skip(
            "not_initial_node",
            format!(
                "cluster.initial_master_nodes ({}) names other nodes than this one ([{}])",
                d.initial_master_nodes.join(", "),
                settings.node_name
            ),
        );
    }
    if let Some(roles) = &settings.node_roles {
        if !roles.contains(&NodeRole::Master) || roles.contains(&NodeRole::VotingOnly) {
            return skip("not_master_eligible", "node.roles does not make this node master-eligible".into());
        }
        if !roles.iter().any(|r| r.holds_data()) {
            return skip("no_data_role", "node.roles does not let this node hold data".into());
        }
    }
    if !file_exists {
        return skip(
            "no_settings_file",
            format!(
                "the settings file [{}] does not exist or cannot be read",
                home.settings_file().display()
            ),
        );
    }
    let probe = home.config_dir().join(".bulwark-write-probe");
    // A start killed between creating the probe and removing it left it behind: without this,
    // every later start would find the directory "not writable" and skip auto-configuration.
    // Removing it needs the same permission as creating it, so the probe below still decides.
    let _ = std::fs::remove_file(&probe);
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            bulwark_keystore::crash_point("autoconfig.write-probe");
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => {
            return skip(
                "config_not_writable",
                format!("the config directory [{}] is not writable: {e}", home.config_dir().display()),
            );
        }
    }
    Ok(())
}
