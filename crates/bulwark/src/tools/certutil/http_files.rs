//! The README and sample configuration files inside the `certutil http` zip, telling the user
//! how to put each file to work with Bulwark (and Kibana).

use std::fmt::Write;

/// What the README of one certificate folder describes.
pub struct NodeFiles<'a> {
    /// The node's name, when there is one folder per node.
    pub node: Option<&'a str>,
    /// The config directory of the home certutil ran with.
    pub config_dir: &'a str,
    /// Whether the private key (http.p12) has a password.
    pub has_password: bool,
}

/// `elasticsearch/README.txt` in certificate mode.
pub fn es_readme_p12(f: &NodeFiles<'_>) -> String {
    let mut s = String::new();
    let who = f.node.map_or_else(|| "your nodes".to_owned(), |n| format!("node {n}"));
    title(&mut s, &format!("HTTPS certificate for {who}"));
    let _ = writeln!(s, "This folder holds:\n");
    let _ = writeln!(s, "  README.txt                this file");
    let _ = writeln!(s, "  http.p12                  the certificate and its private key (PKCS#12)");
    let _ = writeln!(s, "  sample-elasticsearch.yml  the settings that put http.p12 to work\n");
    let _ = writeln!(s, "http.p12");
    let _ = writeln!(s, "--------");
    let _ = writeln!(s, "The entry \"http\" holds the private key with the certificate chain (the");
    let _ = writeln!(s, "certificate, then the CA that signed it); the entry \"ca\" holds the CA");
    let _ = writeln!(s, "certificate as trusted. Anyone with this file (and its password) can pose as");
    let _ = writeln!(s, "{who}: keep it readable by the user that runs bulwark only (mode 0600).\n");
    let _ = writeln!(s, "To use it:\n");
    let _ = writeln!(s, "  1. Copy http.p12 to the config directory's certs/ folder, for example");
    let _ = writeln!(s, "     {}/certs/http.p12", f.config_dir);
    let _ =
        writeln!(s, "  2. Add the lines of sample-elasticsearch.yml to bulwark.yml in the config directory.");
    if f.has_password {
        let _ = writeln!(s, "  3. Store the keystore password (you chose it when this zip was made; it is");
        let _ = writeln!(s, "     written nowhere) as a secure setting:\n");
        let _ = writeln!(s, "       bulwark keystore add xpack.security.http.ssl.keystore.secure_password\n");
        let _ = writeln!(s, "  4. Restart the node.");
    } else {
        let _ = writeln!(s, "  3. Restart the node.\n");
        let _ = writeln!(s, "http.p12 has an empty password, so no secure setting is needed. Anyone who can");
        let _ = writeln!(s, "read the file can use the key: protect the file itself.");
    }
    s
}

/// `elasticsearch/sample-elasticsearch.yml` in certificate mode.
pub fn es_sample_p12(f: &NodeFiles<'_>) -> String {
    let mut s = String::new();
    let who = f.node.map_or_else(|| "each node".to_owned(), |n| format!("node {n}"));
    let _ = writeln!(s, "# HTTPS for {who} with the certificate in http.p12.");
    let _ = writeln!(s, "# Add these lines to config/bulwark.yml after copying http.p12 to config/certs/.");
    let _ = writeln!(s, "# Relative paths are resolved against the config directory.");
    let _ = writeln!(s, "xpack.security.http.ssl.enabled: true");
    let _ = writeln!(s, "xpack.security.http.ssl.keystore.path: certs/http.p12");
    if f.has_password {
        let _ = writeln!(s, "# The password of http.p12 belongs in the keystore, not here:");
        let _ = writeln!(s, "#   bulwark keystore add xpack.security.http.ssl.keystore.secure_password");
    }
    s
}

/// `elasticsearch/README.txt` in CSR mode.
pub fn es_readme_csr(f: &NodeFiles<'_>, csr: &str, key: &str, crt: &str) -> String {
    let mut s = String::new();
    let who = f.node.map_or_else(|| "your nodes".to_owned(), |n| format!("node {n}"));
    title(&mut s, &format!("Certificate signing request for {who}"));
    let _ = writeln!(s, "This folder holds:\n");
    let _ = writeln!(s, "  README.txt                this file");
    let _ = writeln!(s, "  {csr:<25} the certificate signing request (PKCS#10, PEM)");
    let _ = writeln!(s, "  {key:<25} its private key (PEM, unencrypted)");
    let _ = writeln!(s, "  sample-elasticsearch.yml  the settings for the signed certificate\n");
    let _ = writeln!(s, "To use them:\n");
    let _ = writeln!(s, "  1. Send {csr} to the team or service that runs your certificate authority.");
    let _ = writeln!(s, "     It carries the host names and IP addresses you entered as subject");
    let _ = writeln!(s, "     alternative names; ask for a certificate with the serverAuth usage.");
    let _ = writeln!(s, "  2. Save the signed certificate as {crt}. If the CA gives you intermediate");
    let _ = writeln!(s, "     certificates, append them to that file after the node's certificate.");
    let _ = writeln!(s, "  3. Copy {crt} and {key} to the config directory's certs/ folder,");
    let _ = writeln!(s, "     for example {}/certs/", f.config_dir);
    let _ = writeln!(s, "     Keep {key} readable by the user that runs bulwark only (mode 0600).");
    let _ =
        writeln!(s, "  4. Add the lines of sample-elasticsearch.yml to bulwark.yml and restart the node.\n");
    let _ = writeln!(s, "Clients must trust the CA that signs the certificate; give them that CA's");
    let _ = writeln!(s, "certificate (see ../kibana/README.txt).");
    s
}

/// `elasticsearch/sample-elasticsearch.yml` in CSR mode.
pub fn es_sample_csr(f: &NodeFiles<'_>, key: &str, crt: &str) -> String {
    let mut s = String::new();
    let who = f.node.map_or_else(|| "each node".to_owned(), |n| format!("node {n}"));
    let _ = writeln!(s, "# HTTPS for {who} once the CA has signed the request.");
    let _ = writeln!(s, "# Add these lines to config/bulwark.yml after copying {crt} and {key}");
    let _ = writeln!(s, "# to config/certs/. Relative paths are resolved against the config directory.");
    let _ = writeln!(s, "xpack.security.http.ssl.enabled: true");
    let _ = writeln!(s, "xpack.security.http.ssl.certificate: certs/{crt}");
    let _ = writeln!(s, "xpack.security.http.ssl.key: certs/{key}");
    s
}

/// `ca/README.txt` (only when a new CA was generated).
pub fn ca_readme(subject: &str, has_password: bool) -> String {
    let mut s = String::new();
    title(&mut s, "The certificate authority");
    let _ = writeln!(s, "ca.p12 is the new certificate authority (CA) that signed the HTTP certificates");
    let _ = writeln!(s, "in this zip: its entry \"ca\" holds the CA certificate ({subject}) and its");
    let _ = writeln!(s, "private key.\n");
    let _ = writeln!(s, "Nodes do not need this file. Keep it somewhere safe and off your servers:");
    let _ = writeln!(s, "whoever has it can issue certificates that your clients will trust. You need");
    let _ = writeln!(s, "it again to make certificates for new nodes or changed host names, e.g.\n");
    let _ =
        writeln!(s, "  bulwark certutil http --ca ca.p12 --ca-pass ... --name node3 --dns node3.example.com");
    let _ = writeln!(
        s,
        "  bulwark certutil cert --ca ca.p12 --ca-pass ... --name node3 --dns node3.example.com\n"
    );
    if has_password {
        let _ = writeln!(s, "ca.p12 is protected by the password you gave for the private keys.");
    } else {
        let _ = writeln!(s, "ca.p12 has an empty password: protect the file itself.");
    }
    s
}

/// `kibana/README.txt`.
pub fn kibana_readme(has_ca: bool) -> String {
    let mut s = String::new();
    title(&mut s, "Connecting Kibana, the Bulwark console and other clients");
    if has_ca {
        let _ = writeln!(s, "elasticsearch-ca.pem is the certificate of the CA that signed the nodes' HTTP");
        let _ = writeln!(s, "certificates. A client that trusts it can check that it talks to your nodes.");
        let _ = writeln!(s, "It holds no secret; copy it wherever a client needs it.\n");
        let _ = writeln!(s, "Kibana, and the Bulwark console (console.yml):\n");
        let _ = writeln!(s, "  1. Copy elasticsearch-ca.pem into the config directory (config/).");
        let _ = writeln!(s, "  2. Add the lines of sample-kibana.yml to kibana.yml (or console.yml).\n");
        let _ = writeln!(s, "Other clients: curl --cacert elasticsearch-ca.pem https://HOST:9200/ ; the");
        let _ = writeln!(s, "official clients take the same file as their CA certificate (ca_certs, ca).");
    } else {
        let _ = writeln!(s, "The certificates will be signed by a CA this tool does not know, so no CA");
        let _ = writeln!(s, "certificate is included. Once your CA has signed the requests, give clients");
        let _ =
            writeln!(s, "that CA's certificate (PEM). For Kibana, and the Bulwark console (console.yml),");
        let _ = writeln!(s, "save it as config/elasticsearch-ca.pem and add the lines of sample-kibana.yml.");
        let _ = writeln!(s, "If the CA is one your systems already trust, the certificateAuthorities line");
        let _ = writeln!(s, "can be left out.");
    }
    s
}

/// `kibana/sample-kibana.yml`; `hosts` are the addresses clients use (one per node).
pub fn kibana_sample(hosts: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Connect to the nodes over HTTPS, trusting the CA in elasticsearch-ca.pem.");
    let _ = writeln!(s, "# For kibana.yml, or console.yml of the Bulwark console.");
    let urls: Vec<String> = hosts.iter().map(|h| format!("\"https://{}:9200\"", bracket_ipv6(h))).collect();
    if urls.is_empty() {
        let _ = writeln!(s, "elasticsearch.hosts: [ \"https://your-node:9200\" ]");
    } else {
        let _ = writeln!(s, "elasticsearch.hosts: [ {} ]", urls.join(", "));
    }
    let _ = writeln!(s, "elasticsearch.ssl.certificateAuthorities: [ \"config/elasticsearch-ca.pem\" ]");
    s
}

fn title(s: &mut String, text: &str) {
    let _ = writeln!(s, "{text}\n{}\n", "=".repeat(text.chars().count()));
}

fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') { format!("[{host}]") } else { host.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_name_the_settings() {
        let f = NodeFiles { node: Some("node1"), config_dir: "/srv/bulwark/config", has_password: true };
        let sample = es_sample_p12(&f);
        assert!(sample.contains("xpack.security.http.ssl.enabled: true"));
        assert!(sample.contains("xpack.security.http.ssl.keystore.path: certs/http.p12"));
        assert!(
            es_readme_p12(&f)
                .contains("bulwark keystore add xpack.security.http.ssl.keystore.secure_password")
        );
        let no_pw = NodeFiles { has_password: false, ..f };
        assert!(!es_readme_p12(&no_pw).contains("keystore add"));
        let kibana = kibana_sample(&["node1.example".to_owned(), "::1".to_owned()]);
        assert!(kibana.contains("\"https://node1.example:9200\", \"https://[::1]:9200\""));
        assert!(
            kibana.contains("elasticsearch.ssl.certificateAuthorities: [ \"config/elasticsearch-ca.pem\" ]")
        );
    }
}
