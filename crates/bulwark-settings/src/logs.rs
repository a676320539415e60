//! Log settings: rotation of `logs/bulwark.json` and `logs/audit.json` (`logger.rotation.*`), and
//! which audit events are written (`xpack.security.audit.logfile.events.*`, Elasticsearch's names).

use std::time::Duration;

use crate::SettingsError;
use crate::raw::{Origin, RawSettings};
use crate::reader::Reader;
use crate::values::{parse_byte_size, parse_duration};

/// The audit event types, as Elasticsearch names them, then Bulwark's own (`lockout`,
/// `certificate_reload`). `events.include`/`exclude` accept these and `_all`.
pub const AUDIT_EVENT_TYPES: &[&str] = &[
    "access_denied",
    "access_granted",
    "anonymous_access_denied",
    "authentication_failed",
    "authentication_success",
    "connection_denied",
    "connection_granted",
    "realm_authentication_failed",
    "run_as_denied",
    "run_as_granted",
    "security_config_change",
    "tampered_request",
    "lockout",
    "certificate_reload",
];

/// The default of `events.include`: Elasticsearch 8's list, plus `authentication_success`
/// (SPEC §6 audits successful logins) and Bulwark's `lockout` and `certificate_reload`.
pub const DEFAULT_AUDIT_INCLUDE: &[&str] = &[
    "access_denied",
    "access_granted",
    "anonymous_access_denied",
    "authentication_failed",
    "authentication_success",
    "connection_denied",
    "tampered_request",
    "run_as_denied",
    "run_as_granted",
    "security_config_change",
    "lockout",
    "certificate_reload",
];

/// `logger.rotation.*`: when a log file is rotated and how many rotated files are kept. Applies to
/// the node log and the audit log alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationSettings {
    /// `logger.rotation.max_size` (default 128mb): a file this large is rotated before the next line.
    pub max_size: u64,
    /// `logger.rotation.max_age` (default 1d): a file opened this long ago is rotated.
    pub max_age: Duration,
    /// `logger.rotation.max_files` (default 10): rotated files kept per log; older ones are deleted.
    pub max_files: usize,
}

impl Default for RotationSettings {
    fn default() -> Self {
        RotationSettings { max_size: 128 << 20, max_age: Duration::from_secs(86_400), max_files: 10 }
    }
}

/// One `xpack.security.audit.logfile.events.ignore_filters.<policy>` policy: an event matching
/// every list given (each value against any wildcard of its list) is not written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditIgnorePolicy {
    /// `<policy>`.
    pub name: String,
    /// `users`: user-name wildcards.
    pub users: Option<Vec<String>>,
    /// `realms`: realm-name wildcards.
    pub realms: Option<Vec<String>>,
    /// `roles`: role-name wildcards.
    pub roles: Option<Vec<String>>,
    /// `indices`: index-name wildcards.
    pub indices: Option<Vec<String>>,
    /// `actions`: action-name wildcards.
    pub actions: Option<Vec<String>>,
}

/// `xpack.security.audit.logfile.events.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEventSettings {
    /// `include` (default [`DEFAULT_AUDIT_INCLUDE`]), `_all` expanded.
    pub include: Vec<String>,
    /// `exclude` (default none).
    pub exclude: Vec<String>,
    /// `ignore_filters.<policy>.*`, sorted by policy name.
    pub ignore_filters: Vec<AuditIgnorePolicy>,
}

impl Default for AuditEventSettings {
    fn default() -> Self {
        AuditEventSettings {
            include: DEFAULT_AUDIT_INCLUDE.iter().map(|s| (*s).to_owned()).collect(),
            exclude: Vec::new(),
            ignore_filters: Vec::new(),
        }
    }
}

impl AuditEventSettings {
    /// Whether events of type `name` are written (before the ignore filters).
    pub fn includes(&self, name: &str) -> bool {
        self.include.iter().any(|i| i == name) && !self.exclude.iter().any(|e| e == name)
    }
}

pub(crate) fn read_rotation(r: &mut Reader) -> Result<RotationSettings, SettingsError> {
    let d = RotationSettings::default();
    Ok(RotationSettings {
        max_size: r
            .parse_with("logger.rotation.max_size", |s| match parse_byte_size(s)? {
                n if n >= 1024 => Ok(n),
                _ => Err(format!("[{s}] is too small; use at least 1kb")),
            })?
            .unwrap_or(d.max_size),
        max_age: r
            .parse_with("logger.rotation.max_age", |s| match parse_duration(s)? {
                a if a >= Duration::from_secs(1) => Ok(a),
                _ => Err(format!("[{s}] is too short; use at least 1s")),
            })?
            .unwrap_or(d.max_age),
        max_files: r
            .parse_with("logger.rotation.max_files", |s| match s.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!("[{s}] must be a whole number of at least 1")),
            })?
            .unwrap_or(d.max_files),
    })
}

const EVENTS: &str = "xpack.security.audit.logfile.events.";

fn event_list(r: &mut Reader, raw: &RawSettings, key: &str) -> Result<Option<Vec<String>>, SettingsError> {
    let origin = raw.get(key).map_or(Origin::Default, |s| s.origin.clone());
    let Some(items) = r.list(key)? else { return Ok(None) };
    let mut out = Vec::new();
    for item in items {
        if item == "_all" {
            out.extend(AUDIT_EVENT_TYPES.iter().map(|s| (*s).to_owned()));
        } else if AUDIT_EVENT_TYPES.contains(&item.as_str()) {
            out.push(item);
        } else {
            return Err(SettingsError::Invalid {
                key: key.to_owned(),
                origin,
                message: format!(
                    "[{item}] is not an audit event type; use _all or any of [{}]",
                    AUDIT_EVENT_TYPES.join(", ")
                ),
            });
        }
    }
    Ok(Some(out))
}

pub(crate) fn read_audit_events(
    r: &mut Reader,
    raw: &RawSettings,
) -> Result<AuditEventSettings, SettingsError> {
    let d = AuditEventSettings::default();
    let include = event_list(r, raw, &format!("{EVENTS}include"))?.unwrap_or(d.include);
    let exclude = event_list(r, raw, &format!("{EVENTS}exclude"))?.unwrap_or_default();
    let prefix = format!("{EVENTS}ignore_filters.");
    let mut names: Vec<String> = raw
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(&prefix).and_then(|rest| rest.split('.').next()))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    let mut ignore_filters = Vec::new();
    for name in names {
        let mut list = |field: &str| r.list(&format!("{prefix}{name}.{field}"));
        ignore_filters.push(AuditIgnorePolicy {
            users: list("users")?,
            realms: list("realms")?,
            roles: list("roles")?,
            indices: list("indices")?,
            actions: list("actions")?,
            name,
        });
    }
    Ok(AuditEventSettings { include, exclude, ignore_filters })
}
