use std::path::Path;

use crate::raw::RawSettings;
use crate::values::*;
use crate::*;

fn settings(yaml: &str) -> Result<Settings, SettingsError> {
    let raw = RawSettings::from_yaml(yaml, Path::new("/h/config/bulwark.yml"))?;
    Settings::from_raw(raw, &Home::resolve_with(Some(Path::new("/h")), None, None), "host-a")
}

#[test]
fn defaults() {
    let s = settings("").unwrap();
    assert_eq!(s.cluster_name, "bulwark");
    assert_eq!(s.node_name, "host-a");
    assert_eq!(s.http.port, 9200);
    assert_eq!(s.transport.port, 9300);
    assert_eq!(s.http.max_content_length, 100 << 20);
    assert_eq!(s.http.header_read_timeout, Some(std::time::Duration::from_secs(10)));
    assert_eq!(s.http.body_read_timeout, Some(std::time::Duration::from_secs(30)));
    assert_eq!(s.http.idle_timeout, Some(std::time::Duration::from_secs(60)));
    assert_eq!(s.http.max_open_connections, None);
    assert!(s.security.is_enabled());
    assert!(s.security.autoconfiguration_enabled);
    assert!(s.security.http_ssl.first_setting.is_none());
    assert_eq!(s.security.transport_ssl.client_authentication, ClientAuthentication::Required);
    assert_eq!(s.security.http_ssl.client_authentication, ClientAuthentication::None);
    assert_eq!(s.security.lockout.max_failures, 20);
    assert_eq!(s.security.password_policy.min_length, 12);
    assert_eq!(s.path_data, Path::new("/h/data"));
}

#[test]
fn the_auto_configuration_block_parses() {
    let s = settings(
        "xpack.security.enabled: true\nxpack.security.enrollment.enabled: true\n\
         xpack.security.http.ssl:\n  enabled: true\n  keystore.path: certs/http.p12\n\
         xpack.security.transport.ssl:\n  enabled: true\n  verification_mode: full\n  client_authentication: required\n  keystore.path: certs/transport.p12\n  truststore.path: certs/transport.p12\n\
         http.host: 0.0.0.0\n",
    )
    .unwrap();
    assert_eq!(s.security.enabled, Some(true));
    assert!(s.security.http_ssl.enabled);
    assert_eq!(s.security.http_ssl.keystore_path.as_deref(), Some(Path::new("certs/http.p12")));
    let (k, origin) = s.security.http_ssl.first_setting.clone().unwrap();
    assert!(k.starts_with("xpack.security.http.ssl."));
    assert_eq!(origin.to_string(), "/h/config/bulwark.yml:4");
    assert_eq!(s.http.host.as_deref(), Some("0.0.0.0"));
}

#[test]
fn unknown_security_setting_names_file_line_and_suggests() {
    let e = settings("cluster.name: c\nxpack.security.enabeld: true\n").unwrap_err().to_string();
    assert!(e.contains("[xpack.security.enabeld]"), "{e}");
    assert!(e.contains("bulwark.yml:2"), "{e}");
    assert!(e.contains("did you mean [xpack.security.enabled]"), "{e}");
}

#[test]
fn wrong_types_name_the_setting() {
    for (yaml, key, line) in [
        ("xpack.security.enabled: yes-please\n", "xpack.security.enabled", 1),
        ("a.b: 1\nhttp.port: 70000\n", "http.port", 2),
        (
            "xpack.security.http.ssl.verification_mode: sometimes\n",
            "xpack.security.http.ssl.verification_mode",
            1,
        ),
        (
            "xpack.security.authc.password_policy.min_length: 4\n",
            "xpack.security.authc.password_policy.min_length",
            1,
        ),
        ("xpack.security.authc.lockout.duration: soon\n", "xpack.security.authc.lockout.duration", 1),
    ] {
        let e = settings(yaml).unwrap_err();
        let msg = e.to_string();
        if key == "http.port" {
            // a.b is unknown and reported first or http.port invalid: either names its line.
            assert!(msg.contains("bulwark.yml:"), "{msg}");
            continue;
        }
        assert!(matches!(e, SettingsError::Invalid { .. }), "{msg}");
        assert!(msg.contains(key) && msg.contains(&format!("bulwark.yml:{line}")), "{msg}");
    }
}

#[test]
fn node_roles_and_lists() {
    let s = settings("node.roles: [master, data]\ndiscovery.seed_hosts: a:9300, b:9300\n").unwrap();
    assert_eq!(s.node_roles, Some(vec![NodeRole::Master, NodeRole::Data]));
    assert_eq!(s.discovery.seed_hosts, vec!["a:9300", "b:9300"]);
    assert!(settings("node.roles: [wizard]\n").is_err());
}

#[test]
fn default_file_is_all_comments_and_parses_to_defaults() {
    assert!(settings(DEFAULT_SETTINGS_FILE).is_ok());
    assert!(DEFAULT_SETTINGS_FILE.lines().all(|l| l.is_empty() || l.starts_with('#')));
}

#[test]
fn pki_realms_are_configured_explicitly_and_unsupported_options_are_refused() {
    assert!(settings("").unwrap().security.pki_realms.is_empty(), "no implicit PKI realm");
    let s = settings(
        "xpack.security.authc.realms.pki.second:\n  order: 2\n  username_pattern: 'OU=(.*?),'\n\
         xpack.security.authc.realms.pki.first.order: 1\n\
         xpack.security.authc.realms.pki.first.certificate_authorities: [certs/client_ca.crt]\n\
         xpack.security.authc.realms.pki.first.delegation.enabled: false\n",
    )
    .unwrap();
    let r = &s.security.pki_realms;
    assert_eq!(r.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["first", "second"]);
    assert_eq!(r[0].username_pattern, DEFAULT_PKI_USERNAME_PATTERN);
    assert_eq!(r[0].certificate_authorities, [Path::new("/h/config/certs/client_ca.crt")]);
    assert_eq!(r[0].role_mapping_file, Path::new("/h/config/role_mapping.yml"));
    assert_eq!(r[1].username_pattern, "OU=(.*?),");
    assert!(r[1].enabled && r[1].certificate_authorities.is_empty());
    for (yaml, key) in [
        ("xpack.security.authc.realms.pki.p.enabled: true\n", "xpack.security.authc.realms.pki.p.order"),
        (
            "xpack.security.authc.realms.pki.p.order: 0\nxpack.security.authc.realms.pki.p.truststore.path: t.p12\n",
            "xpack.security.authc.realms.pki.p.truststore.path",
        ),
        (
            "xpack.security.authc.realms.pki.p.order: 0\nxpack.security.authc.realms.pki.p.delegation.enabled: true\n",
            "xpack.security.authc.realms.pki.p.delegation.enabled",
        ),
        (
            "xpack.security.authc.realms.pki.p.order: 0\nxpack.security.authc.realms.pki.q.order: 0\n",
            "xpack.security.authc.realms.pki.q.order",
        ),
        (
            "xpack.security.authc.realms.pki.p.order: 0\nxpack.security.authc.realms.pki.p.cache.ttl: 1h\n",
            "xpack.security.authc.realms.pki.p.cache.ttl",
        ),
        ("xpack.security.authc.realms.ldap.l.order: 0\n", "xpack.security.authc.realms.ldap.l.order"),
    ] {
        let e = settings(yaml).unwrap_err().to_string();
        assert!(e.contains(&format!("[{key}]")), "{yaml}: {e}");
    }
}

#[test]
fn http_limits() {
    let s = settings(
        "http.header_read_timeout: 500ms\nhttp.body_read_timeout: 0\nhttp.idle_timeout: -1\nhttp.max_open_connections: 7\n",
    )
    .unwrap();
    assert_eq!(s.http.header_read_timeout, Some(std::time::Duration::from_millis(500)));
    assert_eq!(s.http.body_read_timeout, None);
    assert_eq!(s.http.idle_timeout, None);
    assert_eq!(s.http.max_open_connections, Some(7));
    let e = settings("http.max_open_connections: 0\n").unwrap_err().to_string();
    assert!(e.contains("http.max_open_connections"), "{e}");
    let e = settings("http.idle_timeout: 5 minutes\n").unwrap_err().to_string();
    assert!(e.contains("http.idle_timeout"), "{e}");
}

#[test]
fn log_rotation_and_audit_event_settings() {
    let s = settings("").unwrap();
    assert_eq!(s.log_rotation, logs::RotationSettings::default());
    assert_eq!(s.log_rotation.max_files, 10);
    assert!(s.security.audit_events.includes("anonymous_access_denied"));
    assert!(!s.security.audit_events.includes("connection_granted"), "not in Elasticsearch's default");

    let s = settings(
        "logger.rotation:\n  max_size: 64kb\n  max_age: 2h\n  max_files: 3\n\
         xpack.security.audit.logfile.events:\n  include: _all\n  exclude: [access_granted]\n\
         \x20 ignore_filters:\n    kibana:\n      users: [kibana_system]\n      indices: ['.kibana*']\n",
    )
    .unwrap();
    assert_eq!(s.log_rotation.max_size, 64 << 10);
    assert_eq!(s.log_rotation.max_age, std::time::Duration::from_secs(7200));
    assert_eq!(s.log_rotation.max_files, 3);
    let events = &s.security.audit_events;
    assert!(events.includes("connection_granted") && !events.includes("access_granted"));
    assert_eq!(events.ignore_filters.len(), 1);
    assert_eq!(events.ignore_filters[0].name, "kibana");
    assert_eq!(events.ignore_filters[0].users.as_deref(), Some(&["kibana_system".to_owned()][..]));
    assert_eq!(events.ignore_filters[0].realms, None);

    for (yaml, key) in [
        ("xpack.security.audit.logfile.events.include: [access_granted, acces_denied]", "events.include"),
        ("xpack.security.audit.logfile.events.exclude: nonsense", "events.exclude"),
        ("xpack.security.audit.logfile.events.ignore_filters.p.user: [a]", "ignore_filters.p.user"),
        ("logger.rotation.max_files: 0", "logger.rotation.max_files"),
        ("logger.rotation.max_size: 10b", "logger.rotation.max_size"),
    ] {
        let e = settings(yaml).unwrap_err().to_string();
        assert!(e.contains(key), "{yaml}: {e}");
    }
}

#[test]
fn known_keys_are_every_key_read() {
    let keys = Settings::known_keys();
    for k in ["cluster.name", "xpack.security.enabled", "xpack.security.authc.realms.pki.<name>.order"] {
        assert!(keys.iter().any(|x| x == k), "{k} in {keys:?}");
    }
    // Each key parses when written with a plausible value, and nothing else is read.
    assert!(!keys.iter().any(|k| k == "xpack.security.nonsense"));
}

#[test]
fn indexing_pressure_limit() {
    use crate::values::MemoryLimit;
    assert_eq!(settings("").unwrap().indexing_pressure_memory_limit, MemoryLimit::Percent(10.0));
    let s = settings("indexing_pressure.memory.limit: 25%\n").unwrap();
    assert_eq!(s.indexing_pressure_memory_limit.bytes(1000), 250);
    let s = settings("indexing_pressure.memory:\n  limit: 64mb\n").unwrap();
    assert_eq!(s.indexing_pressure_memory_limit.bytes(1000), 64 << 20);
    for bad in ["0%", "150%", "lots", "-5mb"] {
        let e = settings(&format!("indexing_pressure.memory.limit: \"{bad}\"\n")).unwrap_err().to_string();
        assert!(e.contains("indexing_pressure.memory.limit"), "{bad}: {e}");
    }
}
