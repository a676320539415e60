//! The typed settings tree, built and validated once at load.

use std::path::PathBuf;
use std::time::Duration;

use crate::logs::{AuditEventSettings, RotationSettings};
use crate::raw::{Origin, RawSettings};
use crate::reader::Reader;
use crate::values::*;
use crate::{Home, SettingsError};

/// Every setting the node and tools understand, in Elasticsearch's names.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `cluster.name` (default `bulwark`).
    pub cluster_name: String,
    /// `node.name` (default: the host name).
    pub node_name: String,
    /// Whether `node.name` was set explicitly.
    pub node_name_explicit: bool,
    /// `node.roles`, when set.
    pub node_roles: Option<Vec<NodeRole>>,
    /// `node.portsfile`: write bound ports to `logs/http.ports` and `logs/transport.ports`.
    pub node_portsfile: bool,
    /// `network.host`.
    pub network_host: Option<String>,
    /// `network.publish_host`: the address other nodes and clients are told to use (default:
    /// the bound address).
    pub network_publish_host: Option<String>,
    /// `http.*`.
    pub http: HttpSettings,
    /// `indexing_pressure.memory.limit`: the most bytes of write requests (documents and bulk
    /// bodies) being indexed at once; more is refused with 429 (default `10%` of physical memory).
    pub indexing_pressure_memory_limit: MemoryLimit,
    /// `transport.*`.
    pub transport: TransportSettings,
    /// `discovery.*` and `cluster.initial_master_nodes`.
    pub discovery: DiscoverySettings,
    /// `path.data` (absolute, or relative to the home).
    pub path_data: PathBuf,
    /// `path.logs`.
    pub path_logs: PathBuf,
    /// `logger.rotation.*`, for the node log and the audit log.
    pub log_rotation: RotationSettings,
    /// `xpack.security.*`.
    pub security: SecuritySettings,
}

/// `http.*`: where the REST API listens and its limits.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `http.host`.
    pub host: Option<String>,
    /// `http.publish_host` (default `network.publish_host`).
    pub publish_host: Option<String>,
    /// `http.port` (default 9200; 0 picks a free port).
    pub port: u16,
    /// `http.max_content_length` in bytes (default 100mb).
    pub max_content_length: u64,
    /// `http.header_read_timeout`: how long a request's line and headers may take to arrive once
    /// its first byte did (default 10s; 0 turns it off).
    pub header_read_timeout: Option<Duration>,
    /// `http.body_read_timeout`: how long a request body may go without a byte arriving, and a
    /// response without the client taking a byte (default 30s; 0 turns it off).
    pub body_read_timeout: Option<Duration>,
    /// `http.idle_timeout`: how long a keep-alive connection may sit without a request
    /// (default 60s; 0 turns it off).
    pub idle_timeout: Option<Duration>,
    /// `http.max_open_connections`: the most HTTP connections open at once (default: half the
    /// process's open-file limit, decided by the node).
    pub max_open_connections: Option<u32>,
}

/// A timeout setting: a time value, where `0` (or `-1`, as Elasticsearch writes "none") means none.
/// An access token's lifetime: Elasticsearch's bounds, 1s to 1h.
fn token_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(1) {
        return Err(format!("[{s}] must be at least 1s"));
    }
    if d > Duration::from_secs(3600) {
        return Err(format!("[{s}] must be at most 1h"));
    }
    Ok(d)
}

fn timeout(r: &mut Reader, key: &str, default: Duration) -> Result<Option<Duration>, SettingsError> {
    let d = r
        .parse_with(key, |s| match s.trim() {
            "0" | "-1" => Ok(Duration::ZERO),
            other => parse_duration(other),
        })?
        .unwrap_or(default);
    Ok(if d.is_zero() { None } else { Some(d) })
}

/// `transport.*`: where other nodes reach this one.
#[derive(Debug, Clone)]
pub struct TransportSettings {
    /// `transport.host`.
    pub host: Option<String>,
    /// `transport.publish_host` (default `network.publish_host`): the address this node
    /// advertises to the other nodes of its cluster.
    pub publish_host: Option<String>,
    /// `transport.port` (default 9300).
    pub port: u16,
}

/// How a node finds its cluster.
#[derive(Debug, Clone)]
pub struct DiscoverySettings {
    /// `discovery.seed_hosts`.
    pub seed_hosts: Vec<String>,
    /// `discovery.type`.
    pub discovery_type: Option<String>,
    /// `cluster.initial_master_nodes`.
    pub initial_master_nodes: Vec<String>,
}

/// `xpack.security.*`.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// `xpack.security.enabled` as written (`None` when not set: security is on).
    pub enabled: Option<bool>,
    /// `xpack.security.autoconfiguration.enabled` (default true).
    pub autoconfiguration_enabled: bool,
    /// `xpack.security.enrollment.enabled` as written (default false; auto-configuration turns it
    /// on unless it was explicitly set to false).
    pub enrollment: Option<bool>,
    /// `xpack.security.http.ssl.*`.
    pub http_ssl: SslSettings,
    /// `xpack.security.transport.ssl.*`.
    pub transport_ssl: SslSettings,
    /// `xpack.security.authc.password_hashing.algorithm` (default bcrypt, cost 10).
    pub password_hashing: PasswordHashing,
    /// `xpack.security.authc.service_token_hashing.algorithm` (default pbkdf2_stretch, 10000
    /// iterations): how new service token secrets are hashed.
    pub service_token_hashing: PasswordHashing,
    /// `xpack.security.authc.api_key.enabled` (default true).
    pub api_key_enabled: bool,
    /// `xpack.security.authc.token.enabled` as written (`None`: on when HTTP has TLS, as in
    /// Elasticsearch).
    pub token_enabled: Option<bool>,
    /// `xpack.security.authc.token.timeout`: how long an access token lives (default 20m, from 1s
    /// to 1h as Elasticsearch allows).
    pub token_timeout: Duration,
    /// `xpack.security.audit.enabled` (default true: audit is not a paid extra here).
    pub audit_enabled: bool,
    /// `xpack.security.audit.logfile.events.*`: which events are written.
    pub audit_events: AuditEventSettings,
    /// `xpack.security.authc.lockout.*`.
    pub lockout: LockoutSettings,
    /// `xpack.security.authc.password_policy.*`.
    pub password_policy: PasswordPolicySettings,
    /// `xpack.security.authc.realms.pki.<name>.*`, sorted by `order`. Empty: no PKI realm, and a
    /// client certificate authenticates nobody.
    pub pki_realms: Vec<PkiRealmSettings>,
}

/// One `xpack.security.authc.realms.pki.<name>` realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiRealmSettings {
    /// The realm's name (`<name>` in the setting keys).
    pub name: String,
    /// `order` (required, as Elasticsearch 8 requires it; unique across realms).
    pub order: i32,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `username_pattern` (default `CN=(.*?)(?:,|$)`), matched case-insensitively against the
    /// subject DN; group 1 is the user name.
    pub username_pattern: String,
    /// `certificate_authorities`: PEM files the client certificate must chain to, in addition to
    /// the TLS handshake's check. Empty: the HTTP layer's trust alone.
    pub certificate_authorities: Vec<PathBuf>,
    /// `files.role_mapping` (default `config/role_mapping.yml`): DN → roles.
    pub role_mapping_file: PathBuf,
}

/// Elasticsearch's default `username_pattern` of the PKI realm.
pub const DEFAULT_PKI_USERNAME_PATTERN: &str = "CN=(.*?)(?:,|$)";

impl SecuritySettings {
    /// Whether security is on (it is unless explicitly disabled).
    pub fn is_enabled(&self) -> bool {
        self.enabled != Some(false)
    }

    /// Whether enrollment tokens are accepted.
    pub fn enrollment_enabled(&self) -> bool {
        self.enrollment == Some(true)
    }
}

/// `xpack.security.{http,transport}.ssl.*`.
#[derive(Debug, Clone)]
pub struct SslSettings {
    /// The first `...ssl.*` setting written, if any (auto-configuration does not run when one is).
    pub first_setting: Option<(String, Origin)>,
    /// `enabled` (HTTP default false, transport default false until configured).
    pub enabled: bool,
    /// `keystore.path`: a PKCS#12 file with the certificate and its key.
    pub keystore_path: Option<PathBuf>,
    /// `truststore.path`: a PKCS#12 file with the CA certificates to trust.
    pub truststore_path: Option<PathBuf>,
    /// `certificate`: a PEM certificate (chain).
    pub certificate: Option<PathBuf>,
    /// `key`: its PEM private key.
    pub key: Option<PathBuf>,
    /// `certificate_authorities`: PEM CA certificates to trust.
    pub certificate_authorities: Vec<PathBuf>,
    /// `verification_mode`: how a peer's certificate is checked (default `full`).
    pub verification_mode: VerificationMode,
    /// `client_authentication`: whether a client certificate is asked for or required.
    pub client_authentication: ClientAuthentication,
    /// `supported_protocols`: the TLS versions offered.
    pub supported_protocols: Vec<TlsProtocol>,
    /// `cipher_suites`: the cipher suites offered (names as Elasticsearch spells them).
    pub cipher_suites: Vec<String>,
}

/// `xpack.security.authc.lockout.*`: brute-force protection.
#[derive(Debug, Clone)]
pub struct LockoutSettings {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `max_failures`: failed attempts for one user from one address before the lock.
    pub max_failures: u32,
    /// `duration`: how long a lock lasts.
    pub duration: Duration,
}

/// `xpack.security.authc.password_policy.*`.
#[derive(Debug, Clone)]
pub struct PasswordPolicySettings {
    /// `min_length` (default 12).
    pub min_length: usize,
    /// `reject_common`: refuse commonly used passwords (default true).
    pub reject_common: bool,
}

fn port(s: &str) -> Result<u16, String> {
    s.parse::<u16>().map_err(|_| format!("[{s}] is not a port number (0-65535)"))
}

impl SslSettings {
    fn read(
        r: &mut Reader,
        raw: &RawSettings,
        prefix: &str,
        default_client_auth: ClientAuthentication,
    ) -> Result<SslSettings, SettingsError> {
        let first_setting = raw.any_with_prefix(prefix).map(|(k, s)| (k.to_owned(), s.origin.clone()));
        let k = |s: &str| format!("{prefix}{s}");
        Ok(SslSettings {
            first_setting,
            enabled: r.bool(&k("enabled"))?.unwrap_or(false),
            keystore_path: r.string(&k("keystore.path"))?.map(PathBuf::from),
            truststore_path: r.string(&k("truststore.path"))?.map(PathBuf::from),
            certificate: r.string(&k("certificate"))?.map(PathBuf::from),
            key: r.string(&k("key"))?.map(PathBuf::from),
            certificate_authorities: r
                .list(&k("certificate_authorities"))?
                .unwrap_or_default()
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            verification_mode: r.parse(&k("verification_mode"))?.unwrap_or(VerificationMode::Full),
            client_authentication: r.parse(&k("client_authentication"))?.unwrap_or(default_client_auth),
            supported_protocols: r
                .list_of(&k("supported_protocols"))?
                .unwrap_or_else(|| vec![TlsProtocol::Tls13, TlsProtocol::Tls12]),
            cipher_suites: r.list(&k("cipher_suites"))?.unwrap_or_default(),
        })
    }
}

/// The realms prefix; only `pki` realms are configurable (file and native are always on).
const REALMS: &str = "xpack.security.authc.realms.";

fn read_pki_realms(
    r: &mut Reader,
    raw: &RawSettings,
    home: &Home,
) -> Result<Vec<PkiRealmSettings>, SettingsError> {
    let prefix = format!("{REALMS}pki.");
    let mut names: Vec<(String, Origin)> = Vec::new();
    for (key, s) in raw.iter() {
        if let Some(name) = key.strip_prefix(&prefix).and_then(|rest| rest.split('.').next())
            && !names.iter().any(|(n, _)| n == name)
        {
            names.push((name.to_owned(), s.origin.clone()));
        }
    }
    let mut realms = Vec::new();
    for (name, origin) in names {
        let k = |s: &str| format!("{prefix}{name}.{s}");
        // Refused rather than ignored: these would change who is trusted.
        for unsupported in [
            "truststore.path",
            "truststore.password",
            "truststore.secure_password",
            "truststore.type",
            "truststore.algorithm",
        ] {
            if let Some(s) = raw.get(&k(unsupported)) {
                return Err(SettingsError::Invalid {
                    key: k(unsupported),
                    origin: s.origin.clone(),
                    message: format!(
                        "a truststore for the PKI realm is not supported; list PEM CA files in [{}] instead",
                        k("certificate_authorities")
                    ),
                });
            }
        }
        if r.bool(&k("delegation.enabled"))? == Some(true) {
            return Err(SettingsError::Invalid {
                key: k("delegation.enabled"),
                origin: raw.get(&k("delegation.enabled")).map_or(Origin::Default, |s| s.origin.clone()),
                message: "PKI delegation (`_security/delegate_pki`) is not supported; remove the setting or set it to false".into(),
            });
        }
        let order = r
            .parse_with(&k("order"), |s| {
                s.parse::<i32>().map_err(|_| format!("[{s}] is not a whole number"))
            })?
            .ok_or_else(|| SettingsError::Invalid {
                key: k("order"),
                origin: origin.clone(),
                message: format!(
                    "realm [pki.{name}] has no order; every configured realm needs [{}]",
                    k("order")
                ),
            })?;
        let username_pattern =
            r.string(&k("username_pattern"))?.unwrap_or_else(|| DEFAULT_PKI_USERNAME_PATTERN.to_owned());
        let resolve = |p: String| {
            let p = PathBuf::from(p);
            if p.is_absolute() { p } else { home.config_dir().join(p) }
        };
        realms.push(PkiRealmSettings {
            order,
            enabled: r.bool(&k("enabled"))?.unwrap_or(true),
            username_pattern,
            certificate_authorities: r
                .list(&k("certificate_authorities"))?
                .unwrap_or_default()
                .into_iter()
                .map(resolve)
                .collect(),
            role_mapping_file: r
                .string(&k("files.role_mapping"))?
                .map_or_else(|| home.config_dir().join("role_mapping.yml"), resolve),
            name,
        });
    }
    realms.sort_by_key(|r| r.order);
    if let Some(w) = realms.windows(2).find(|w| w[0].order == w[1].order) {
        return Err(SettingsError::Invalid {
            key: format!("{prefix}{}.order", w[1].name),
            origin: raw
                .get(&format!("{prefix}{}.order", w[1].name))
                .map_or(Origin::Default, |s| s.origin.clone()),
            message: format!(
                "realms [pki.{}] and [pki.{}] have the same order [{}]; orders must be unique",
                w[0].name, w[1].name, w[0].order
            ),
        });
    }
    Ok(realms)
}

impl Settings {
    /// Every setting key the node reads, with one PKI realm named `<name>` (the keys a realm
    /// reads are under `xpack.security.authc.realms.pki.<name>.`). A key not listed here stops
    /// the node as unknown.
    #[allow(clippy::expect_used, reason = "a fixed YAML literal and the defaults: tested to parse")]
    pub fn known_keys() -> Vec<String> {
        let raw = RawSettings::from_yaml(
            "xpack.security.authc.realms.pki.<name>.order: 0\n",
            std::path::Path::new("bulwark.yml"),
        )
        .expect("static YAML");
        let home = Home::resolve_with(Some(std::path::Path::new("/")), None, None);
        let mut r = Reader::new(raw.clone());
        Settings::read(&mut r, raw, &home, "host").expect("the defaults and one realm parse");
        r.asked_keys()
    }

    /// Builds the typed tree from raw settings. `home` resolves relative paths; `hostname` is the
    /// default `node.name`.
    pub fn from_raw(raw: RawSettings, home: &Home, hostname: &str) -> Result<Settings, SettingsError> {
        let mut r = Reader::new(raw.clone());
        let settings = Settings::read(&mut r, raw, home, hostname)?;
        r.finish()?;
        Ok(settings)
    }

    fn read(
        r: &mut Reader,
        raw: RawSettings,
        home: &Home,
        hostname: &str,
    ) -> Result<Settings, SettingsError> {
        let node_name = r.string("node.name")?;
        let path = |p: Option<String>, default: PathBuf| match p {
            Some(p) => home.root().join(p),
            None => default,
        };
        let security = SecuritySettings {
            enabled: r.bool("xpack.security.enabled")?,
            autoconfiguration_enabled: r.bool("xpack.security.autoconfiguration.enabled")?.unwrap_or(true),
            enrollment: r.bool("xpack.security.enrollment.enabled")?,
            http_ssl: SslSettings::read(r, &raw, "xpack.security.http.ssl.", ClientAuthentication::None)?,
            transport_ssl: SslSettings::read(
                r,
                &raw,
                "xpack.security.transport.ssl.",
                ClientAuthentication::Required,
            )?,
            password_hashing: r
                .parse("xpack.security.authc.password_hashing.algorithm")?
                .unwrap_or(PasswordHashing::Bcrypt { cost: 10 }),
            service_token_hashing: r
                .parse("xpack.security.authc.service_token_hashing.algorithm")?
                .unwrap_or(PasswordHashing::Pbkdf2Stretch { iterations: 10_000 }),
            api_key_enabled: r.bool("xpack.security.authc.api_key.enabled")?.unwrap_or(true),
            token_enabled: r.bool("xpack.security.authc.token.enabled")?,
            token_timeout: r
                .parse_with("xpack.security.authc.token.timeout", token_timeout)?
                .unwrap_or(Duration::from_secs(20 * 60)),
            audit_enabled: r.bool("xpack.security.audit.enabled")?.unwrap_or(true),
            audit_events: crate::logs::read_audit_events(r, &raw)?,
            lockout: LockoutSettings {
                enabled: r.bool("xpack.security.authc.lockout.enabled")?.unwrap_or(true),
                max_failures: r.parse("xpack.security.authc.lockout.max_failures")?.unwrap_or(20),
                duration: r
                    .parse_with("xpack.security.authc.lockout.duration", parse_duration)?
                    .unwrap_or(Duration::from_secs(15 * 60)),
            },
            password_policy: PasswordPolicySettings {
                min_length: r
                    .parse_with("xpack.security.authc.password_policy.min_length", |s| {
                        match s.parse::<usize>() {
                            Ok(n) if n >= 6 => Ok(n),
                            _ => Err(format!("[{s}] must be a whole number of at least 6")),
                        }
                    })?
                    .unwrap_or(12),
                reject_common: r.bool("xpack.security.authc.password_policy.reject_common")?.unwrap_or(true),
            },
            pki_realms: read_pki_realms(r, &raw, home)?,
        };
        let settings = Settings {
            cluster_name: r.string("cluster.name")?.unwrap_or_else(|| "bulwark".into()),
            node_name_explicit: node_name.is_some(),
            node_name: node_name.unwrap_or_else(|| hostname.to_owned()),
            node_roles: r.list_of("node.roles")?,
            node_portsfile: r.bool("node.portsfile")?.unwrap_or(false),
            network_host: r.string("network.host")?,
            network_publish_host: r.string("network.publish_host")?,
            http: HttpSettings {
                host: r.string("http.host")?,
                publish_host: r.string("http.publish_host")?,
                port: r.parse_with("http.port", port)?.unwrap_or(9200),
                max_content_length: r
                    .parse_with("http.max_content_length", parse_byte_size)?
                    .unwrap_or(100 << 20),
                header_read_timeout: timeout(r, "http.header_read_timeout", Duration::from_secs(10))?,
                body_read_timeout: timeout(r, "http.body_read_timeout", Duration::from_secs(30))?,
                idle_timeout: timeout(r, "http.idle_timeout", Duration::from_secs(60))?,
                max_open_connections: r.parse_with("http.max_open_connections", |s| {
                    match s.parse::<u32>() {
                        Ok(n) if n >= 1 => Ok(n),
                        _ => Err(format!("[{s}] must be a whole number of at least 1")),
                    }
                })?,
            },
            indexing_pressure_memory_limit: r
                .parse_with("indexing_pressure.memory.limit", parse_memory_limit)?
                .unwrap_or(MemoryLimit::Percent(10.0)),
            transport: TransportSettings {
                host: r.string("transport.host")?,
                publish_host: r.string("transport.publish_host")?,
                port: r.parse_with("transport.port", port)?.unwrap_or(9300),
            },
            discovery: DiscoverySettings {
                seed_hosts: r.list("discovery.seed_hosts")?.unwrap_or_default(),
                discovery_type: r.string("discovery.type")?,
                initial_master_nodes: r.list("cluster.initial_master_nodes")?.unwrap_or_default(),
            },
            path_data: path(r.string("path.data")?, home.default_data_dir()),
            path_logs: path(r.string("path.logs")?, home.default_logs_dir()),
            log_rotation: crate::logs::read_rotation(r)?,
            security,
        };
        Ok(settings)
    }
}
