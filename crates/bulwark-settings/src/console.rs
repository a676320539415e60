//! The console's settings (`config/console.yml` of the console home), in Kibana's names.
//!
//! Read like the node's: nested or dotted YAML, `-E` overrides, every unknown key refused with
//! its file and line. Secrets (`xpack.security.encryptionKey`, the service-account token) are
//! never here: they live in the console keystore.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::SettingsError;
use crate::raw::{Origin, RawSettings};
use crate::reader::Reader;
use crate::values::parse_duration;

/// The console's default port, Kibana's.
pub const CONSOLE_DEFAULT_PORT: u16 = 5601;

/// Every console setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// `server.host` (default `localhost`).
    pub host: String,
    /// `server.port` (default 5601; 0 picks a free port).
    pub port: u16,
    /// `server.publicBaseUrl`: the URL browsers use, for the printed setup link (default
    /// `https://<server.host>:<port>`).
    pub public_base_url: Option<String>,
    /// `server.ssl.enabled` (default true: HTTPS with a generated certificate when none is given).
    pub ssl_enabled: bool,
    /// `server.ssl.certificate` and `server.ssl.key` (PEM, relative to the console home's
    /// `config/`); both or neither.
    pub ssl_certificate: Option<(PathBuf, PathBuf)>,
    /// `server.portsfile`: write the bound address to `logs/console.ports` (Bulwark's own, as
    /// `node.portsfile` is for the node).
    pub portsfile: bool,
    /// `elasticsearch.hosts`: the node's HTTPS URLs (written by enrollment).
    pub elasticsearch_hosts: Vec<String>,
    /// `elasticsearch.ssl.certificateAuthorities`: PEM files trusted for the node (written by
    /// enrollment; relative to `config/`).
    pub elasticsearch_certificate_authorities: Vec<PathBuf>,
    /// `xpack.security.session.idleTimeout` (default 8h, Kibana's).
    pub session_idle_timeout: Duration,
    /// `xpack.security.session.lifespan` (default 30d, Kibana's).
    pub session_lifespan: Duration,
    /// `interactiveSetup.enabled` (default true): offer enrollment in the browser when unconfigured.
    pub interactive_setup: bool,
}

impl ConsoleSettings {
    /// Reads `file` (absent = defaults), applies `-E` overrides and validates; relative paths are
    /// resolved against `config_dir`.
    pub fn load(
        file: &Path,
        config_dir: &Path,
        overrides: &[String],
    ) -> Result<ConsoleSettings, SettingsError> {
        let mut raw = match std::fs::read_to_string(file) {
            Ok(text) => RawSettings::from_yaml(&text, file)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RawSettings::default(),
            Err(source) => return Err(SettingsError::Io { path: file.to_path_buf(), source }),
        };
        raw.apply_overrides(overrides)?;
        let mut r = Reader::new(raw);
        let s = ConsoleSettings::read(&mut r, config_dir)?;
        r.finish()?;
        Ok(s)
    }

    fn read(r: &mut Reader, config_dir: &Path) -> Result<ConsoleSettings, SettingsError> {
        let duration = |r: &mut Reader, key: &str, default: Duration| -> Result<Duration, SettingsError> {
            let positive = |s: &str| {
                parse_duration(s)
                    .and_then(|d| if d.is_zero() { Err("must be longer than 0".into()) } else { Ok(d) })
            };
            Ok(r.parse_with(key, positive)?.unwrap_or(default))
        };
        let cert_origin = r.origin_of("server.ssl.certificate");
        let key_origin = r.origin_of("server.ssl.key");
        let cert = r.string("server.ssl.certificate")?;
        let key = r.string("server.ssl.key")?;
        let ssl_certificate = match (cert, key) {
            (Some(c), Some(k)) => Some((config_dir.join(c), config_dir.join(k))),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                let origin = if matches!(cert_origin, Origin::Default) { key_origin } else { cert_origin };
                return Err(SettingsError::Invalid {
                    key: "server.ssl.certificate".into(),
                    origin,
                    message: "[server.ssl.certificate] and [server.ssl.key] go together: set both or neither"
                        .into(),
                });
            }
        };
        let hosts_origin = r.origin_of("elasticsearch.hosts");
        let hosts = r.list("elasticsearch.hosts")?.unwrap_or_default();
        for h in &hosts {
            if !h.starts_with("https://") {
                return Err(SettingsError::Invalid {
                    key: "elasticsearch.hosts".into(),
                    origin: hosts_origin,
                    message: format!("[{h}] is not an https:// URL (the node is only reached over TLS)"),
                });
            }
        }
        Ok(ConsoleSettings {
            host: r.string("server.host")?.unwrap_or_else(|| "localhost".into()),
            port: r.parse("server.port")?.unwrap_or(CONSOLE_DEFAULT_PORT),
            public_base_url: r.string("server.publicBaseUrl")?,
            ssl_enabled: r.bool("server.ssl.enabled")?.unwrap_or(true),
            ssl_certificate,
            portsfile: r.bool("server.portsfile")?.unwrap_or(false),
            elasticsearch_hosts: hosts,
            elasticsearch_certificate_authorities: r
                .list("elasticsearch.ssl.certificateAuthorities")?
                .unwrap_or_default()
                .into_iter()
                .map(|p| config_dir.join(p))
                .collect(),
            session_idle_timeout: duration(
                r,
                "xpack.security.session.idleTimeout",
                Duration::from_secs(8 * 3600),
            )?,
            session_lifespan: duration(
                r,
                "xpack.security.session.lifespan",
                Duration::from_secs(30 * 86400),
            )?,
            interactive_setup: r.bool("interactiveSetup.enabled")?.unwrap_or(true),
        })
    }

    /// Whether the console knows its node (hosts and CA configured): enrollment is then refused.
    pub fn has_node(&self) -> bool {
        !self.elasticsearch_hosts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str, overrides: &[&str]) -> Result<ConsoleSettings, SettingsError> {
        let dir = std::env::temp_dir().join(format!("bulwark-console-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("console-{}.yml", yaml.len()));
        std::fs::write(&file, yaml).unwrap();
        let o: Vec<String> = overrides.iter().map(|s| (*s).to_owned()).collect();
        let r = ConsoleSettings::load(&file, &dir, &o);
        let _ = std::fs::remove_file(&file);
        r
    }

    #[test]
    fn defaults_and_overrides() {
        let s = load("", &["server.port=0"]).unwrap();
        assert_eq!((s.host.as_str(), s.port, s.ssl_enabled), ("localhost", 0, true));
        assert_eq!(s.session_idle_timeout, Duration::from_secs(8 * 3600));
        assert!(!s.has_node());
        let s = load("elasticsearch:\n  hosts: [\"https://127.0.0.1:9200\"]\n", &[]).unwrap();
        assert!(s.has_node());
    }

    #[test]
    fn refusals_name_the_setting() {
        let e = load("server.prot: 1\n", &[]).unwrap_err().to_string();
        assert!(e.contains("[server.prot]") && e.contains("server.port"), "{e}");
        let e = load("elasticsearch.hosts: http://x:9200\n", &[]).unwrap_err().to_string();
        assert!(e.contains("elasticsearch.hosts"), "{e}");
        let e = load("server.ssl.certificate: a.crt\n", &[]).unwrap_err().to_string();
        assert!(e.contains("server.ssl.key"), "{e}");
        let e = load("xpack.security.session.idleTimeout: 0s\n", &[]).unwrap_err().to_string();
        assert!(e.contains("idleTimeout"), "{e}");
    }
}
