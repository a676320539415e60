//! `config/roles.yml`: role descriptors by name, in Elasticsearch's YAML layout.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Role, RoleDescriptor};

/// Parses `roles.yml`; errors name the file and the role.
pub fn parse_roles_yml(text: &str, path: &Path) -> Result<BTreeMap<String, RoleDescriptor>, String> {
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Ok(BTreeMap::new());
    }
    let raw: BTreeMap<String, serde_json::Value> =
        serde_saphyr::from_str(text).map_err(|e| format!("cannot parse [{}]: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for (name, v) in raw {
        let d: RoleDescriptor = serde_json::from_value(v).map_err(|e| {
            format!("[{}]: role [{name}] is not a valid role descriptor: {e}", path.display())
        })?;
        Role::compile(&name, &d).map_err(|e| format!("[{}]: {e}", path.display()))?;
        out.insert(name, d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_elasticsearch_layout() {
        let text = "# roles\nclick_admins:\n  run_as: [ 'clicks_watcher_1' ]\n  cluster: [ 'monitor' ]\n  indices:\n    - names: [ 'events-*' ]\n      privileges: [ 'read' ]\n      field_security:\n        grant: ['category', '@timestamp', 'message' ]\n      query: '{\"match\": {\"category\": \"click\"}}'\n";
        let roles = parse_roles_yml(text, Path::new("roles.yml")).unwrap();
        let r = &roles["click_admins"];
        assert_eq!(r.cluster, vec!["monitor"]);
        assert_eq!(r.indices[0].names, vec!["events-*"]);
        assert!(r.indices[0].field_security.is_some());
        assert!(
            parse_roles_yml("bad:\n  cluster: [nope]\n", Path::new("roles.yml"))
                .unwrap_err()
                .contains("roles.yml")
        );
        assert!(parse_roles_yml("# empty\n", Path::new("roles.yml")).unwrap().is_empty());
    }
}
