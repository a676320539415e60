//! Enrollment on the node's side: the authority the enrollment APIs sign with, which addresses a
//! token may carry, and the console token made on the first start.
//!
//! The CA keys (`config/certs/http_ca.p12`, `transport_ca.p12`, unlocked by the keystore's
//! `autoconfiguration.*_ca.secure_password`) are loaded only for the moment of a signature, from
//! the files, and dropped (zeroized) right after; they are never logged and never sent.
//!
//! Address rule (SPEC §7): a token lists only addresses the HTTP certificate covers (its IP SANs)
//! and that are not wildcards. When HTTP is bound to a wildcard (`0.0.0.0`, `::`), the host's
//! interface addresses take its place. Addresses other hosts can reach come first and alone; when
//! there are none, only loopback addresses remain, which serve a console on this host only.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bulwark_keystore::Keystore;
use bulwark_pki::{CertUsage, CertifiedKey, Fingerprint, PkiError, Revocation};
use bulwark_rest::revocation::Authority;
use bulwark_rest::{EnrollmentAuthority, SignError, SignedNode};
use bulwark_settings::{Home, Settings};
use bulwark_store::{Command, EntryKind, Store};
use secrecy::SecretString;

use bulwark_security::enrollment::{DEFAULT_TTL, EnrollmentScope, EnrollmentToken};

use crate::NodeError;
use crate::crl::{self, CrlCache};
use crate::reload::LayerTls;

/// The version a token's `ver` reports: the Elasticsearch version this node is compatible with.
pub const TOKEN_VERSION: &str = bulwark_rest::api::root::COMPATIBLE_VERSION;
/// Validity of certificates signed for joining nodes (as auto-configuration's own).
const SIGNED_DAYS: u32 = 2 * 365;
const HTTP_CA_P12: &str = "http_ca.p12";
const TRANSPORT_CA_P12: &str = "transport_ca.p12";
const HTTP_CA_PASSWORD: &str = "autoconfiguration.http_ca.secure_password";
const TRANSPORT_CA_PASSWORD: &str = "autoconfiguration.transport_ca.secure_password";

/// The addresses a token could carry, split by who can use them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenAddresses {
    /// Reachable from other hosts (non-loopback, covered by the certificate).
    pub external: Vec<String>,
    /// Loopback addresses covered by the certificate (a console on this host).
    pub loopback: Vec<String>,
}

impl TokenAddresses {
    /// What a token carries: the external addresses, else the loopback ones.
    pub fn for_token(&self) -> &[String] {
        if self.external.is_empty() { &self.loopback } else { &self.external }
    }
}

/// `host:port`, IPv6 in brackets.
pub fn format_address(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

fn is_link_local_v6(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// Applies the address rule: `bound` is the HTTP socket's address (a wildcard stands for every
/// interface address of its family, `::` for both), `cert_ips` the HTTP certificate's IP SANs,
/// `interfaces` the host's non-loopback addresses. IPv4 before IPv6, no duplicates; IPv6
/// link-local addresses are left out (they need a zone to be reached).
pub fn token_addresses(bound: SocketAddr, cert_ips: &[IpAddr], interfaces: &[IpAddr]) -> TokenAddresses {
    let ip = bound.ip();
    let mut candidates: Vec<IpAddr> = if ip.is_unspecified() {
        let mut c: Vec<IpAddr> = interfaces.iter().copied().filter(|a| ip.is_ipv6() || a.is_ipv4()).collect();
        c.push(IpAddr::from([127, 0, 0, 1]));
        if ip.is_ipv6() {
            c.push(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
        }
        c
    } else {
        vec![ip]
    };
    candidates.retain(|a| cert_ips.contains(a) && !a.is_unspecified() && !is_link_local_v6(a));
    candidates.sort_by_key(|a| (a.is_ipv6(), *a));
    candidates.dedup();
    let (loopback, external): (Vec<IpAddr>, Vec<IpAddr>) =
        candidates.into_iter().partition(IpAddr::is_loopback);
    let port = bound.port();
    TokenAddresses {
        external: external.into_iter().map(|a| format_address(a, port)).collect(),
        loopback: loopback.into_iter().map(|a| format_address(a, port)).collect(),
    }
}

/// The address HTTP binds to, as the node resolves `http.host` / `network.host`, with `port`.
pub fn http_bind_address(settings: &Settings, port: u16) -> Result<SocketAddr, NodeError> {
    let host = settings.http.host.as_deref().or(settings.network_host.as_deref()).unwrap_or("_local_");
    crate::server::resolve_host(host, port)
}

/// The address HTTP clients are told to use: `http.publish_host` (else `network.publish_host`)
/// with the port of `bound`, else `bound` itself. Enrollment tokens carry it.
pub fn http_publish_address(settings: &Settings, bound: SocketAddr) -> Result<SocketAddr, NodeError> {
    let keys = [
        ("http.publish_host", settings.http.publish_host.as_deref()),
        ("network.publish_host", settings.network_publish_host.as_deref()),
    ];
    Ok(crate::host::publish_host(&keys, bound.port())?.unwrap_or(bound))
}

/// Whether the transport layer is bound to loopback only (`transport.host` / `network.host`
/// unset or a loopback address): other hosts' nodes could not join then.
pub fn transport_loopback_only(settings: &Settings) -> Result<bool, NodeError> {
    match settings.transport.host.as_deref().or(settings.network_host.as_deref()) {
        None => Ok(true),
        Some(h) => Ok(crate::server::resolve_host(h, 0)?.ip().is_loopback()),
    }
}

/// The HTTP layer's certificate facts a token depends on.
#[derive(Debug, Clone)]
pub struct HttpIdentity {
    /// The CA certificate sent after the node's own (DER): the token's `fgr`.
    pub ca_der: Vec<u8>,
    /// The node certificate's IP SANs.
    pub ip_sans: Vec<IpAddr>,
}

impl HttpIdentity {
    /// The CA's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.ca_der)
    }

    /// From a served chain (leaf first): the leaf's IP SANs and the CA that signed it.
    fn from_certificates(certs: &[(Vec<u8>, bool)]) -> Option<HttpIdentity> {
        let leaf = certs.iter().find(|(_, has_key)| *has_key).map(|(d, _)| d)?;
        let info = bulwark_pki::inspect(leaf).ok()?;
        let ca = certs.iter().map(|(d, _)| d).find(|d| {
            *d != leaf
                && bulwark_pki::inspect(d).is_ok_and(|i| i.is_ca)
                && bulwark_pki::verify_chain(leaf, d).is_ok()
        })?;
        Some(HttpIdentity { ca_der: ca.clone(), ip_sans: info.ip_sans })
    }
}

/// Reads the HTTP identity from the home's files, as the node would load them (for the tools and
/// `doctor`).
pub fn http_identity(
    home: &Home,
    settings: &Settings,
    keystore: Option<&Keystore>,
) -> Result<HttpIdentity, NodeError> {
    let ssl = &settings.security.http_ssl;
    if !settings.security.is_enabled() || !ssl.enabled {
        return Err(NodeError::Config(
            "HTTPS is not enabled (xpack.security.http.ssl.enabled), so there is no HTTP CA to pin".into(),
        ));
    }
    let material = crate::tls::load(home, "http", ssl, keystore)?;
    let mut certs: Vec<(Vec<u8>, bool)> =
        material.chain.iter().enumerate().map(|(i, d)| (d.clone(), i == 0)).collect();
    certs.extend(material.trusted.iter().map(|d| (d.clone(), false)));
    HttpIdentity::from_certificates(&certs).ok_or_else(|| {
        NodeError::Config(
            "the HTTP certificate chain holds no CA certificate that signed the node's certificate, so enrollment tokens cannot pin it".into(),
        )
    })
}

/// The enrollment authority of a running node.
pub struct NodeEnrollment {
    enabled: bool,
    home: Home,
    keystore_password: SecretString,
    http: Option<Arc<LayerTls>>,
    store: Arc<Store>,
    /// This node's host name and HTTP port, for the CRL URL in certificates it signs.
    hostname: String,
    http_port: u16,
    crls: CrlCache,
}

impl NodeEnrollment {
    /// `http` is the HTTPS layer (none: HTTP is plain and enrollment is off).
    pub fn new(
        home: &Home,
        settings: &Settings,
        keystore_password: &SecretString,
        http: Option<Arc<LayerTls>>,
        store: Arc<Store>,
    ) -> NodeEnrollment {
        // Enrollment tokens carry API keys: with the API key service off there are none.
        let enabled = settings.security.is_enabled()
            && settings.security.enrollment_enabled()
            && settings.security.api_key_enabled
            && http.is_some();
        NodeEnrollment {
            enabled,
            home: home.clone(),
            keystore_password: keystore_password.clone(),
            http,
            store,
            hostname: crate::host::hostname(),
            http_port: settings.http.port,
            crls: CrlCache::default(),
        }
    }

    /// The HTTP identity now (the certificates can be reloaded).
    pub fn identity(&self) -> Option<HttpIdentity> {
        let layer = self.http.as_ref()?;
        let certs: Vec<(Vec<u8>, bool)> =
            layer.certificates().iter().map(|e| (e.der.clone(), e.has_private_key)).collect();
        HttpIdentity::from_certificates(&certs)
    }

    /// The keystore that holds the CA passwords.
    fn keystore(&self) -> Result<Keystore, SignError> {
        Keystore::load(&self.home.keystore_file(), &self.keystore_password)
            .map_err(|e| SignError::Unavailable(format!("cannot open the keystore: {e}")))
    }

    /// A CA from `config/certs/<file>`, unlocked by the keystore entry `password_entry`.
    fn load_ca(&self, ks: &Keystore, file: &str, password_entry: &str) -> Result<CertifiedKey, SignError> {
        let unavailable = SignError::Unavailable;
        let password = ks.get_string(password_entry).ok_or_else(|| {
            unavailable(format!(
                "the keystore holds no [{password_entry}]: only a node whose security was configured automatically holds the CA keys that enrollment signs with"
            ))
        })?;
        let path = self.home.certs_dir().join(file);
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(&path)
                .map_err(|e| unavailable(format!("cannot read [{}]: {e}", path.display())))?,
        );
        bulwark_pki::load_ca_from_p12(&bytes, &password, None)
            .map_err(|e| unavailable(format!("cannot load the CA from [{}]: {e}", path.display())))
    }

    /// Creates the console enrollment token of the first start: an API key stored directly (this
    /// node is the cluster's only member and its leader), valid [`DEFAULT_TTL`].
    pub async fn first_start_token(&self, bound: SocketAddr) -> Result<FirstStartToken, NodeError> {
        let identity = self.identity().ok_or_else(|| {
            NodeError::Config("the HTTP certificate chain holds no CA certificate to pin".into())
        })?;
        let addresses = token_addresses(bound, &identity.ip_sans, &crate::host::interface_addresses());
        let adr = addresses.for_token().to_vec();
        if adr.is_empty() {
            return Err(NodeError::Config(format!(
                "the HTTP certificate covers none of the addresses HTTP is bound to ([{bound}])"
            )));
        }
        let now = bulwark_security::authn::now_millis();
        let (id, secret, record) =
            bulwark_security::enrollment::new_internal_key(EnrollmentScope::Kibana, DEFAULT_TTL, now)
                .map_err(|e| NodeError::Config(format!("cannot make the enrollment API key: {e}")))?;
        let value = serde_json::to_value(&record).map_err(|e| NodeError::Config(e.to_string()))?;
        self.store
            .write(Command::PutEntry { kind: EntryKind::ApiKey, id: id.clone(), value })
            .await
            .map_err(NodeError::store("cannot store the enrollment API key"))?;
        let token =
            EnrollmentToken::new(TOKEN_VERSION, adr.clone(), identity.fingerprint(), id.clone(), secret)
                .map_err(|e| NodeError::Config(e.to_string()))?;
        Ok(FirstStartToken {
            token: token.encode(),
            key_id: id,
            addresses: adr,
            local_only: addresses.external.is_empty(),
        })
    }
}

/// The console token shown after the first start.
pub struct FirstStartToken {
    /// The token.
    pub token: SecretString,
    /// The id of its API key (for the audit log).
    pub key_id: String,
    /// The addresses it carries.
    pub addresses: Vec<String>,
    /// Only loopback addresses: usable by a console on this host only.
    pub local_only: bool,
}

/// The port HTTP is bound to: from `<path.logs>/http.ports` when the node wrote it, else
/// `http.port`.
pub fn http_port(settings: &Settings) -> u16 {
    std::fs::read_to_string(settings.path_logs.join("http.ports"))
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.trim().parse::<SocketAddr>().ok()))
        .map_or(settings.http.port, |a| a.port())
}

/// `bulwark doctor`'s `enrollment` finding: whether enrollment is on and whether a token's
/// addresses would reach this node from other hosts (never a warning: it is a choice).
pub fn doctor_finding(
    home: &Home,
    settings: &Settings,
    keystore: Option<&Keystore>,
) -> crate::doctor::Finding {
    use crate::doctor::{Finding, Severity};
    let finding = |severity, message: String, fix: &str| Finding {
        severity,
        check: "enrollment",
        message,
        fix: fix.to_owned(),
    };
    if !settings.security.enrollment_enabled() {
        return finding(
            Severity::Info,
            "enrollment is off (xpack.security.enrollment.enabled is not true): the console and other nodes cannot enroll with tokens".into(),
            "set xpack.security.enrollment.enabled: true in bulwark.yml and restart to allow enrollment tokens",
        );
    }
    let identity = match http_identity(home, settings, keystore) {
        Ok(i) => i,
        Err(e) => {
            return finding(
                Severity::Warning,
                format!("enrollment is on, but no enrollment token can be made: {e}"),
                "enable HTTPS with a certificate chain that includes its CA (xpack.security.http.ssl.*)",
            );
        }
    };
    let bound = match http_bind_address(settings, http_port(settings))
        .and_then(|b| http_publish_address(settings, b))
    {
        Ok(b) => b,
        Err(e) => return finding(Severity::Warning, format!("enrollment is on, but {e}"), "fix http.host"),
    };
    let addresses = token_addresses(bound, &identity.ip_sans, &crate::host::interface_addresses());
    let transport_local = transport_loopback_only(settings).unwrap_or(true);
    let transport_note = if transport_local {
        "; the transport layer is bound to loopback only, so nodes on other hosts cannot join yet"
    } else {
        ""
    };
    if addresses.external.is_empty() {
        finding(
            Severity::Info,
            format!(
                "enrollment is on, but HTTP is bound to loopback only ([{bound}]): enrollment tokens reach a console on this host only{transport_note}"
            ),
            "set http.host (and transport.host for nodes) to an address other hosts can reach, and restart; or pass --url to `bulwark create-enrollment-token`",
        )
    } else {
        finding(
            Severity::Info,
            format!(
                "enrollment is on; tokens carry [{}], reachable from other hosts{transport_note}",
                addresses.external.join(", ")
            ),
            if transport_local {
                "uncomment transport.host in bulwark.yml (or set it) and restart before enrolling nodes from other hosts"
            } else {
                ""
            },
        )
    }
}

/// Maps a CSR problem to 400 and anything else to "cannot sign".
fn sign_error(what: &str) -> impl Fn(PkiError) -> SignError + '_ {
    move |e| match e {
        PkiError::CsrParse(_) | PkiError::CsrSignature(_) | PkiError::CsrRefused(_) | PkiError::Pem(_) => {
            SignError::BadRequest(format!("[{what}]: {e}"))
        }
        other => SignError::Unavailable(format!("signing [{what}] failed: {other}")),
    }
}

impl EnrollmentAuthority for NodeEnrollment {
    fn enrollment_enabled(&self) -> bool {
        self.enabled
    }

    fn http_ca_der(&self) -> Option<Vec<u8>> {
        self.identity().map(|i| i.ca_der)
    }

    fn sign_node(&self, http_csr: &[u8], transport_csr: &[u8]) -> Result<SignedNode, SignError> {
        // Check the requests before any key is unlocked.
        bulwark_pki::inspect_csr(http_csr).map_err(sign_error("http_csr"))?;
        bulwark_pki::inspect_csr(transport_csr).map_err(sign_error("transport_csr"))?;
        let served = self.http_ca_der().ok_or_else(|| {
            SignError::Unavailable("the HTTP certificate chain holds no CA certificate".into())
        })?;
        let ks = self.keystore()?;
        let http_ca = self.load_ca(&ks, HTTP_CA_P12, HTTP_CA_PASSWORD)?;
        if http_ca.cert_der() != served.as_slice() {
            return Err(SignError::Unavailable(format!(
                "[{HTTP_CA_P12}] does not hold the CA of the HTTP certificate this node serves"
            )));
        }
        // Joining nodes hold no CA key: their certificates name this node's revocation lists.
        let crl_urls = |a| crl::distribution_points(&[self.hostname.as_str()], self.http_port, a);
        let http_cert = bulwark_pki::sign_csr(
            &http_ca,
            http_csr,
            SIGNED_DAYS,
            CertUsage::Server,
            &crl_urls(Authority::HttpCa),
        )
        .map_err(sign_error("http_csr"))?;
        drop(http_ca);
        let transport_ca = self.load_ca(&ks, TRANSPORT_CA_P12, TRANSPORT_CA_PASSWORD)?;
        drop(ks);
        let transport_cert = bulwark_pki::sign_csr(
            &transport_ca,
            transport_csr,
            SIGNED_DAYS,
            CertUsage::ServerAndClient,
            &crl_urls(Authority::TransportCa),
        )
        .map_err(sign_error("transport_csr"))?;
        Ok(SignedNode {
            http_ca_cert: served,
            transport_ca_cert: transport_ca.cert_der().to_vec(),
            http_cert,
            transport_cert,
        })
    }

    fn node_addresses(&self) -> Vec<String> {
        self.store.members().into_iter().map(|m| m.address).collect()
    }

    fn crl(&self, authority: Authority, revoked: &[Revocation]) -> Result<Option<Vec<u8>>, SignError> {
        let (file, password_entry) = match authority {
            Authority::HttpCa => (HTTP_CA_P12, HTTP_CA_PASSWORD),
            Authority::TransportCa => (TRANSPORT_CA_P12, TRANSPORT_CA_PASSWORD),
        };
        if !self.home.certs_dir().join(file).exists() {
            return Ok(None);
        }
        let der =
            self.crls.get(authority, revoked, || self.load_ca(&self.keystore()?, file, password_entry))?;
        Ok(Some(der))
    }
}

/// How long a first-start token stays valid, for the banner.
pub fn default_ttl_minutes() -> u64 {
    DEFAULT_TTL.as_secs() / 60
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn address_rule() {
        let cert = ips(&["10.1.2.3", "192.168.1.5", "fd00::5", "fe80::1", "127.0.0.1", "::1"]);
        let ifaces = ips(&["192.168.1.5", "10.1.2.3", "172.17.0.9", "fd00::5", "fe80::1"]);
        let any4: SocketAddr = "0.0.0.0:9200".parse().unwrap();
        let a = token_addresses(any4, &cert, &ifaces);
        // Only interface addresses the certificate covers; IPv4 only for 0.0.0.0; sorted.
        assert_eq!(a.external, ["10.1.2.3:9200", "192.168.1.5:9200"]);
        assert_eq!(a.loopback, ["127.0.0.1:9200"]);
        assert_eq!(a.for_token(), a.external.as_slice());
        let any6: SocketAddr = "[::]:9200".parse().unwrap();
        let a = token_addresses(any6, &cert, &ifaces);
        assert_eq!(a.external, ["10.1.2.3:9200", "192.168.1.5:9200", "[fd00::5]:9200"]);
        assert_eq!(a.loopback, ["127.0.0.1:9200", "[::1]:9200"]);
        // Bound to one address.
        let one: SocketAddr = "192.168.1.5:9201".parse().unwrap();
        assert_eq!(token_addresses(one, &cert, &ifaces).external, ["192.168.1.5:9201"]);
        let uncovered: SocketAddr = "172.17.0.9:9200".parse().unwrap();
        assert_eq!(token_addresses(uncovered, &cert, &ifaces), TokenAddresses::default());
        // Loopback only: a local token.
        let lo: SocketAddr = "127.0.0.1:9200".parse().unwrap();
        let a = token_addresses(lo, &cert, &ifaces);
        assert!(a.external.is_empty());
        assert_eq!(a.for_token(), ["127.0.0.1:9200"]);
        // No interfaces: only loopback.
        let a = token_addresses(any4, &cert, &[]);
        assert_eq!((a.external.len(), a.loopback.as_slice()), (0, &["127.0.0.1:9200".to_owned()][..]));
    }

    #[test]
    fn identity_is_the_ca_that_signed_the_leaf() {
        use bulwark_pki::{CertRequest, KeyAlgorithm, issue, new_ca};
        let ca = new_ca("CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let other = new_ca("Other CA", 10, KeyAlgorithm::EcdsaP256).unwrap();
        let mut req = CertRequest::new("n1");
        req.ips = ips(&["10.0.0.1"]);
        let leaf = issue(&ca, &req, CertUsage::Server).unwrap();
        let certs = vec![
            (other.cert_der().to_vec(), false),
            (leaf.cert_der().to_vec(), true),
            (ca.cert_der().to_vec(), false),
        ];
        let id = HttpIdentity::from_certificates(&certs).unwrap();
        assert_eq!(id.ca_der, ca.cert_der());
        assert_eq!(id.ip_sans, ips(&["10.0.0.1"]));
        assert_eq!(id.fingerprint(), ca.fingerprint());
        assert!(HttpIdentity::from_certificates(&certs[..2]).is_none());
    }
}
