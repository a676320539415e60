//! The fenced block appended to `bulwark.yml`.

use bulwark_settings::Settings;

/// First line of the block; `bulwark doctor` and re-configuration look for it.
pub const BEGIN: &str = "#----------------------- BEGIN SECURITY AUTO CONFIGURATION -----------------------";
/// Last line of the block.
pub const END: &str = "#----------------------- END SECURITY AUTO CONFIGURATION -------------------------";

/// The block for this node's settings, dated `when` (UTC, `dd-MM-yyyy HH:mm:ss`).
pub fn render(settings: &Settings, when: &str) -> String {
    let mut b = String::new();
    b.push_str(BEGIN);
    b.push_str("\n#\n");
    b.push_str(&format!(
        "# Written by Bulwark on its first start, {when} (UTC): these settings turn on\n\
         # security with the certificates and keys generated in config/certs.\n"
    ));
    b.push_str("#\n# --------------------------------------------------------------------------------\n\n");
    b.push_str(
        "# Authentication, authorization and audit for every request\nxpack.security.enabled: true\n\n",
    );
    if settings.security.enrollment != Some(false) {
        b.push_str("# Let other nodes and the console join with enrollment tokens\nxpack.security.enrollment.enabled: true\n\n");
    }
    b.push_str(
        "# HTTPS for clients (curl, language clients, shippers, the console)\n\
         xpack.security.http.ssl:\n  enabled: true\n  keystore.path: certs/http.p12\n\n",
    );
    b.push_str(
        "# Mutual TLS between nodes: each node presents its own certificate\n\
         xpack.security.transport.ssl:\n  enabled: true\n  verification_mode: full\n  client_authentication: required\n  \
         keystore.path: certs/transport.p12\n  truststore.path: certs/transport.p12\n",
    );
    if settings.http.host.is_none() && settings.network_host.is_none() {
        b.push_str("\n# Accept HTTPS connections on every interface\nhttp.host: 0.0.0.0\n");
    }
    if settings.transport.host.is_none() && settings.network_host.is_none() {
        b.push_str(
            "\n# Node-to-node traffic stays on this host until you uncomment the next line;\n\
             # do so (and restart) before other hosts enroll nodes into this cluster.\n\
             #transport.host: 0.0.0.0\n",
        );
    }
    b.push('\n');
    b.push_str(END);
    b.push('\n');
    b
}
