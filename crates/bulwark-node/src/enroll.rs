//! `bulwark start --enrollment-token <token>`: the joining side of node enrollment.
//!
//! On a fresh home: decode the token; connect to an address in it, checking that the server
//! presents the HTTP CA the token pins before anything is sent; generate this node's HTTP and
//! transport keys; send certificate signing requests to `POST /_security/enroll/node` (the CA
//! keys never leave the cluster); ask a member over the transport, with the new certificate, for
//! the cluster's identity; then write `config/certs`, the keystore entries and the fenced settings
//! block (with `discovery.seed_hosts`) under the auto-configuration journal. The journal stays
//! open until the node has joined (see [`Enrolled::commit`]): a failure rolls the home back to
//! what it was, with the check that failed named.

use std::net::IpAddr;
use std::sync::Arc;

use bulwark_client::{ClientError, EnrollmentClient};
use bulwark_keystore::Keystore;
use bulwark_pki::{CertRequest, CertifiedKey, KeyAlgorithm, P12Entry};
use bulwark_security::enrollment::EnrollmentToken;
use bulwark_settings::{Home, Settings};
use secrecy::SecretString;

use crate::NodeError;
use crate::autoconfig::generate::{CertFile, p12_password};
use crate::autoconfig::journal::{self, Journal};
use crate::autoconfig::{Payload, block, configured_ips, stamp, write_journaled};

/// A node whose enrollment files are written but not yet committed.
pub struct Enrolled {
    /// The cluster's UUID, as a member reported it over the transport.
    pub cluster_uuid: String,
    /// The members' transport addresses (the new `discovery.seed_hosts`).
    pub seeds: Vec<String>,
    home: Home,
    journal: Journal,
    /// Whether the data directory existed (empty, as enrollment requires) before.
    data_existed: bool,
}

impl Enrolled {
    /// The node joined: the files stay.
    pub fn commit(self) -> Result<(), NodeError> {
        journal::commit(&self.home)
    }

    /// The join failed: the home goes back to what it was, the node's data with it (the data
    /// directory was empty, or absent, before), so the next `start --enrollment-token` with a
    /// new token finds a fresh home.
    pub fn roll_back(self, settings: &Settings) {
        if let Err(e) = journal::rollback(&self.home, &self.journal) {
            tracing::error!("rolling the enrollment back failed: {e}");
        }
        if let Err(e) = crate::cluster::empty_dir(&settings.path_data, self.data_existed) {
            tracing::error!("emptying the data directory [{}] failed: {e}", settings.path_data.display());
        }
    }
}

fn failed(check: &str, detail: impl std::fmt::Display) -> NodeError {
    NodeError::Config(format!("enrollment failed ({check}): {detail}; the home was left as it was"))
}

/// The names this node's certificates carry: `localhost`, the host name, the configured
/// addresses, loopback.
fn request(node_name: &str, hostname: &str, ips: &[IpAddr]) -> CertRequest {
    let mut req = CertRequest::new(format!(
        "CN={}",
        node_name.chars().take(64).collect::<String>().replace(',', "\\,")
    ));
    req.dns = vec!["localhost".to_owned()];
    if !hostname.is_empty()
        && hostname != "localhost"
        && hostname.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        req.dns.push(hostname.to_owned());
    }
    req.ips = ips.to_vec();
    req.key = KeyAlgorithm::EcdsaP256;
    req
}

/// Runs the enrollment up to the written (uncommitted) files.
pub fn enroll(
    home: &Home,
    settings: &Settings,
    keystore: Option<Keystore>,
    keystore_password: &SecretString,
    token_text: &str,
    hostname: &str,
) -> Result<Enrolled, NodeError> {
    let data_existed = settings.path_data.exists();
    if !crate::files::dir_is_empty(&settings.path_data)? {
        return Err(failed(
            "fresh home",
            format!(
                "[{}] already holds data: a node joins a cluster only with an empty data directory",
                settings.path_data.display()
            ),
        ));
    }
    if std::fs::read_to_string(home.settings_file()).is_ok_and(|t| t.contains(block::BEGIN))
        || home.certs_dir().exists()
    {
        return Err(failed(
            "fresh home",
            format!(
                "[{}] is already configured for security (it holds the auto-configuration block or config/certs)",
                home.config_dir().display()
            ),
        ));
    }
    let token = EnrollmentToken::decode(token_text.trim()).map_err(|e| failed("token", e))?;
    let transport_bind = crate::cluster::bind_address(settings)?;
    let publish = crate::cluster::publish_address(settings, transport_bind)?;
    let mut ips = configured_ips(settings);
    ips.push(publish.ip());
    ips.extend(["127.0.0.1".parse::<IpAddr>().ok(), "::1".parse().ok()].into_iter().flatten());
    ips.dedup();
    let req = request(&settings.node_name, hostname, &ips);
    let (http_csr, http_key) = bulwark_pki::new_csr(&req).map_err(|e| failed("keys", e))?;
    let (transport_csr, transport_key) = bulwark_pki::new_csr(&req).map_err(|e| failed("keys", e))?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| NodeError::Runtime { context: "cannot start the async runtime", source })?;
    let (signed, info) = runtime.block_on(async {
        let client = EnrollmentClient::connect(&token.adr, token.fgr, &token.api_key()).await.map_err(
            |e| match e {
                ClientError::FingerprintMismatch { .. } => failed("fingerprint mismatch", e),
                other => failed("cluster unreachable", other),
            },
        )?;
        let signed = client.enroll_node(&http_csr, &transport_csr).await.map_err(|e| match e {
            ClientError::Expired(_) => failed("token expired", e),
            ClientError::AlreadyUsed(_) => failed("token already used", e),
            ClientError::WrongScope(_) => failed("wrong token scope", e),
            other => failed("signing", other),
        })?;
        let transport = CertifiedKey::from_der(signed.transport_cert.clone(), &transport_key)
            .map_err(|e| failed("signed certificate", e))?;
        let mut tls = bulwark_pki::client_config_mtls(
            &[&signed.transport_ca_cert],
            vec![transport.cert_der().to_vec(), signed.transport_ca_cert.clone()],
            transport.key_pkcs8_der(),
        )
        .map_err(|e| failed("transport certificate", e))?;
        tls.alpn_protocols = vec![bulwark_transport::ALPN.to_vec()];
        let tls = Arc::new(tls);
        let client = bulwark_transport::Client::new(Arc::new(move || tls.clone()), Some(publish.ip()));
        let info = crate::cluster::info(&client, &signed.nodes_addresses).await.map_err(|e| {
            failed(
                "cluster transport unreachable",
                format!("no member answered on its transport address {:?}: {e}", signed.nodes_addresses),
            )
        })?;
        Ok::<_, NodeError>((signed, info))
    })?;

    let http = CertifiedKey::from_der(signed.http_cert.clone(), &http_key)
        .map_err(|e| failed("signed certificate", e))?;
    let transport = CertifiedKey::from_der(signed.transport_cert.clone(), &transport_key)
        .map_err(|e| failed("signed certificate", e))?;
    let (http_pw, transport_pw) = (p12_password()?, p12_password()?);
    let p12 = |entries: &[P12Entry], pw: &SecretString| {
        bulwark_pki::write_p12(entries, pw).map_err(|e| failed("writing keystores", e))
    };
    let (hca, tca) = (signed.http_ca_cert.as_slice(), signed.transport_ca_cert.as_slice());
    let files = vec![
        CertFile { name: "http_ca.crt", bytes: bulwark_pki::cert_pem(hca).into_bytes(), private: false },
        CertFile {
            name: "http.p12",
            bytes: p12(
                &[P12Entry::key_chain("http", &http, &[hca]), P12Entry::trusted("http_ca", hca)],
                &http_pw,
            )?,
            private: true,
        },
        CertFile {
            name: "transport.p12",
            bytes: p12(
                &[
                    P12Entry::key_chain("transport", &transport, &[tca]),
                    P12Entry::trusted("transport_ca", tca),
                ],
                &transport_pw,
            )?,
            private: true,
        },
    ];
    let entries = vec![
        ("xpack.security.http.ssl.keystore.secure_password", http_pw),
        ("xpack.security.transport.ssl.keystore.secure_password", transport_pw.clone()),
        ("xpack.security.transport.ssl.truststore.secure_password", transport_pw),
    ];
    let seeds = signed.nodes_addresses.clone();
    let quoted: Vec<String> = seeds.iter().map(|s| format!("\"{s}\"")).collect();
    let block = block::render(settings, &stamp()).replace(
        block::END,
        &format!(
            "# The cluster this node joined with an enrollment token\ndiscovery.seed_hosts: [{}]\n\n{}",
            quoted.join(", "),
            block::END
        ),
    );
    let journal = write_journaled(home, keystore, keystore_password, &Payload { files, entries, block })?;
    tracing::info!(cluster_uuid = %info.cluster_uuid, seeds = ?seeds, "enrolled: certificates signed by the cluster written to [{}]", home.certs_dir().display());
    Ok(Enrolled { cluster_uuid: info.cluster_uuid, seeds, home: home.clone(), journal, data_existed })
}
