//! Generating the TLS material in memory, before anything touches the disk.

use std::net::IpAddr;

use bulwark_pki::{CertRequest, CertUsage, CertifiedKey, KeyAlgorithm, P12Entry, issue, new_ca, write_p12};
use bulwark_rest::revocation::Authority;
use secrecy::SecretString;

use crate::NodeError;

pub const HTTP_CA_CN: &str = "Bulwark security auto-configuration HTTP CA";
pub const TRANSPORT_CA_CN: &str = "Bulwark security auto-configuration transport CA";
const CA_DAYS: u32 = 3 * 365;
const NODE_DAYS: u32 = 2 * 365;

/// One file of `config/certs`.
pub struct CertFile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// Private files (keys, keystores) are written 0600.
    pub private: bool,
}

/// Everything auto-configuration writes, generated up front.
pub struct Material {
    pub http_ca: CertifiedKey,
    pub http: CertifiedKey,
    pub transport_ca: CertifiedKey,
    pub transport: CertifiedKey,
    pub http_password: SecretString,
    pub transport_password: SecretString,
    pub http_ca_password: SecretString,
    pub transport_ca_password: SecretString,
}

/// A PKCS#12 password: 16 random bytes, URL-safe base64 (22 characters), as Elasticsearch makes them.
pub(crate) fn p12_password() -> Result<SecretString, NodeError> {
    use base64::Engine;
    let b = zeroize::Zeroizing::new(bulwark_random::bytes::<16>().map_err(|e| NodeError::AutoConfig {
        step: "generating keystore passwords",
        message: e.to_string(),
        restored: true,
    })?);
    Ok(SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b.as_ref())))
}

fn gen_err(e: bulwark_pki::PkiError) -> NodeError {
    NodeError::AutoConfig { step: "generating certificates", message: e.to_string(), restored: true }
}

/// The names a node's certificates carry: `localhost`, the host name, the node name (when it is a
/// valid DNS name), every non-loopback interface address, `127.0.0.1` and `::1`.
fn names(node_name: &str, hostname: &str, addrs: &[IpAddr]) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = vec!["localhost".to_owned()];
    for n in [hostname, node_name] {
        let valid = !n.is_empty()
            && n.split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if valid && !dns.iter().any(|d| d == n) {
            dns.push(n.to_owned());
        }
    }
    let mut ips = addrs.to_vec();
    for lo in ["127.0.0.1", "::1"] {
        if let Ok(ip) = lo.parse() {
            ips.push(ip);
        }
    }
    ips.dedup();
    (dns, ips)
}

impl Material {
    /// Generates two CAs (HTTP, transport) and this node's certificate under each, ECDSA P-256.
    ///
    /// The node certificates name this node's revocation lists on HTTP port `http_port` (none
    /// when it is 0), reached by the host name or `localhost`.
    pub fn generate(
        node_name: &str,
        hostname: &str,
        addrs: &[IpAddr],
        http_port: u16,
    ) -> Result<Material, NodeError> {
        let (dns, ips) = names(node_name, hostname, addrs);
        // Other hosts reach this node by its host name; a client on this host by localhost.
        let crl_names: Vec<&str> =
            [hostname, "localhost"].into_iter().filter(|n| dns.iter().any(|d| d == n)).collect();
        // X.509 allows a common name of at most 64 characters; a longer node name is cut.
        let cn: String = node_name.chars().take(64).collect();
        let request = |days, authority| CertRequest {
            subject_cn: format!("CN={}", cn.replace(',', "\\,")),
            dns: dns.clone(),
            ips: ips.clone(),
            validity_days: days,
            key: KeyAlgorithm::EcdsaP256,
            crl_urls: crate::crl::distribution_points(&crl_names, http_port, authority),
        };
        let http_ca = new_ca(HTTP_CA_CN, CA_DAYS, KeyAlgorithm::EcdsaP256).map_err(gen_err)?;
        let http =
            issue(&http_ca, &request(NODE_DAYS, Authority::HttpCa), CertUsage::Server).map_err(gen_err)?;
        let transport_ca = new_ca(TRANSPORT_CA_CN, CA_DAYS, KeyAlgorithm::EcdsaP256).map_err(gen_err)?;
        let transport =
            issue(&transport_ca, &request(NODE_DAYS, Authority::TransportCa), CertUsage::ServerAndClient)
                .map_err(gen_err)?;
        Ok(Material {
            http_ca,
            http,
            transport_ca,
            transport,
            http_password: p12_password()?,
            transport_password: p12_password()?,
            http_ca_password: p12_password()?,
            transport_ca_password: p12_password()?,
        })
    }

    /// The files of `config/certs`.
    pub fn files(&self) -> Result<Vec<CertFile>, NodeError> {
        let ca = self.http_ca.cert_der();
        let tca = self.transport_ca.cert_der();
        let p12 = |entries: &[P12Entry], pw: &SecretString| write_p12(entries, pw).map_err(gen_err);
        let file = |name, bytes, private| CertFile { name, bytes, private };
        Ok(vec![
            file("http_ca.crt", self.http_ca.cert_pem().into_bytes(), false),
            file(
                "http.p12",
                p12(
                    &[P12Entry::key_chain("http", &self.http, &[ca]), P12Entry::trusted("http_ca", ca)],
                    &self.http_password,
                )?,
                true,
            ),
            file(
                "http_ca.p12",
                p12(&[P12Entry::key_chain("http_ca", &self.http_ca, &[])], &self.http_ca_password)?,
                true,
            ),
            file(
                "transport.p12",
                p12(
                    &[
                        P12Entry::key_chain("transport", &self.transport, &[tca]),
                        P12Entry::trusted("transport_ca", tca),
                    ],
                    &self.transport_password,
                )?,
                true,
            ),
            file(
                "transport_ca.p12",
                p12(
                    &[P12Entry::key_chain("transport_ca", &self.transport_ca, &[])],
                    &self.transport_ca_password,
                )?,
                true,
            ),
        ])
    }

    /// The keystore entries that unlock the files.
    pub fn keystore_entries(&self) -> [(&'static str, &SecretString); 5] {
        [
            ("xpack.security.http.ssl.keystore.secure_password", &self.http_password),
            ("xpack.security.transport.ssl.keystore.secure_password", &self.transport_password),
            ("xpack.security.transport.ssl.truststore.secure_password", &self.transport_password),
            ("autoconfiguration.http_ca.secure_password", &self.http_ca_password),
            ("autoconfiguration.transport_ca.secure_password", &self.transport_ca_password),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_loopback_host_and_interfaces() {
        let (dns, ips) = names("node-1", "box.example", &["10.1.2.3".parse().unwrap()]);
        assert_eq!(dns, ["localhost", "box.example", "node-1"]);
        let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["10.1.2.3", "127.0.0.1", "::1"]);
        let (dns, _) = names("my node", "localhost", &[]);
        assert_eq!(dns, ["localhost"]);
    }
}
