//! Named cluster privileges and the action patterns they grant (Elasticsearch's definitions).

use std::fmt;
use std::str::FromStr;

use super::Action;

/// A named cluster privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterPrivilege {
    None,
    All,
    Monitor,
    Manage,
    ManageSecurity,
}

impl ClusterPrivilege {
    const NAMES: &'static [(&'static str, ClusterPrivilege)] = &[
        ("none", ClusterPrivilege::None),
        ("all", ClusterPrivilege::All),
        ("monitor", ClusterPrivilege::Monitor),
        ("manage", ClusterPrivilege::Manage),
        ("manage_security", ClusterPrivilege::ManageSecurity),
    ];

    /// Action-name patterns (a trailing `*` matches any suffix) granted, and those excluded.
    fn patterns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            ClusterPrivilege::None => (&[], &[]),
            ClusterPrivilege::All => {
                (&["cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"], &[])
            }
            ClusterPrivilege::Monitor => (
                &[
                    "cluster:monitor/*",
                    "indices:admin/template/get",
                    "cluster:admin/component_template/get",
                    "indices:admin/index_template/get",
                ],
                &[],
            ),
            ClusterPrivilege::Manage => (
                &["cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"],
                &["cluster:admin/xpack/security/*"],
            ),
            ClusterPrivilege::ManageSecurity => {
                (&["cluster:admin/xpack/security/*"], &["cluster:admin/xpack/security/delegate_pki"])
            }
        }
    }

    /// Whether this privilege grants `action`.
    pub fn grants(self, action: Action) -> bool {
        let (allow, deny) = self.patterns();
        let name = action.name();
        allow.iter().any(|p| matches(p, name)) && !deny.iter().any(|p| matches(p, name))
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

impl FromStr for ClusterPrivilege {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let l = s.to_ascii_lowercase();
        Self::NAMES.iter().find(|(n, _)| *n == l).map(|(_, p)| *p).ok_or_else(|| {
            format!(
                "unknown cluster privilege [{s}]. a privilege must be either one of the predefined cluster privilege names [{}] or a pattern over one of the available cluster actions",
                Self::NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",")
            )
        })
    }
}

impl fmt::Display for ClusterPrivilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Self::NAMES.iter().find(|(_, p)| p == self).map_or("none", |(n, _)| n);
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterPrivilege::*;
    use super::*;

    #[test]
    fn grants_table() {
        let table = [
            (All, Action::MonitorMain, true),
            (All, Action::MonitorHealth, true),
            (Monitor, Action::MonitorMain, true),
            (Monitor, Action::MonitorHealth, true),
            (Manage, Action::MonitorHealth, true),
            (ManageSecurity, Action::MonitorHealth, false),
            (None, Action::MonitorMain, false),
        ];
        for (p, a, want) in table {
            assert_eq!(p.grants(a), want, "{p} {a}");
        }
    }

    #[test]
    fn names_round_trip() {
        for (n, p) in ClusterPrivilege::NAMES {
            assert_eq!(n.parse::<ClusterPrivilege>().unwrap(), *p);
            assert_eq!(p.to_string(), *n);
        }
        assert!("MONITOR".parse::<ClusterPrivilege>().is_ok());
        assert!("monitr".parse::<ClusterPrivilege>().is_err());
    }
}
