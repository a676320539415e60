//! Application privileges (`/_security/privilege`): named privileges an application defines as
//! sets of action patterns, granted by roles' `applications` entries. As in Elasticsearch, a
//! string that is a privilege name (`^[a-z][a-zA-Z0-9_.-]*$`) stands for the actions of the stored
//! privilege of that name; any other string (`*`, `data:read/*`, ...) is an action pattern itself.

use bulwark_pattern::{Syntax, matches};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stored application privilege: `application`, `name`, the actions it stands for, metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationPrivilegeDescriptor {
    /// The application (`myapp`, `kibana-.kibana`).
    pub application: String,
    /// The privilege's name.
    pub name: String,
    /// The actions (patterns) it stands for.
    pub actions: Vec<String>,
    /// `metadata` as given.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl ApplicationPrivilegeDescriptor {
    /// The store id: `application:name` (a valid application name holds no `:`).
    pub fn id(application: &str, name: &str) -> String {
        format!("{application}:{name}")
    }

    /// Every problem with this descriptor, in Elasticsearch's words (empty: valid).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = validate_application_name(&self.application, false) {
            out.push(e);
        }
        if let Err(e) = validate_privilege_name(&self.name) {
            out.push(e);
        }
        if self.actions.is_empty() {
            out.push("Application privileges must have at least one action".into());
        }
        for a in &self.actions {
            if !a.contains(['/', '*', ':']) {
                out.push(format!("action [{a}] must contain one of [ '/' , '*' , ':' ]"));
            }
            if let Err(e) = validate_privilege_or_action(a) {
                out.push(e);
            }
        }
        if self.metadata.keys().any(|k| k.starts_with('_')) {
            out.push(format!(
                "metadata keys may not start with [_] (in privilege {} {})",
                self.application, self.name
            ));
        }
        out
    }
}

/// Whether `s` names a privilege (rather than being an action pattern).
pub fn is_privilege_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Elasticsearch's application name rules: a prefix of at least 3 ASCII letters and digits
/// starting with a lowercase letter, optionally `-` or `_` and a suffix without file-name
/// special characters; no whitespace; with `allow_wildcard`, `*` alone or one trailing `*`.
pub fn validate_application_name(application: &str, allow_wildcard: bool) -> Result<(), String> {
    if application.is_empty() {
        return Err("Application names cannot be blank".into());
    }
    let asterisk = application.find('*');
    if let Some(at) = asterisk {
        if !allow_wildcard {
            return Err(format!("Application names may not contain '*' (found '{application}')"));
        }
        if application == "*" {
            return Ok(());
        }
        if at != application.len() - 1 {
            return Err(format!(
                "Application name patterns only support trailing wildcards (found '{application}')"
            ));
        }
    }
    if application.chars().any(char::is_whitespace) {
        return Err(format!("Application names may not contain whitespace (found '{application}')"));
    }
    let (prefix, suffix) = match application.find(['_', '-']) {
        Some(i) => (&application[..i], Some(&application[i + 1..])),
        None => (application, None),
    };
    let prefix = prefix.strip_suffix('*').unwrap_or(prefix);
    let mut chars = prefix.chars();
    let prefix_ok =
        chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric());
    if !prefix_ok {
        return Err(format!(
            "An application name prefix must match the pattern ^[a-z][A-Za-z0-9]*$ (found '{prefix}')"
        ));
    }
    if prefix.len() < 3 && asterisk.is_none() {
        return Err(format!(
            "An application name prefix must be at least 3 characters long (found '{prefix}')"
        ));
    }
    if let Some(suffix) = suffix {
        let suffix = if allow_wildcard { suffix.strip_suffix('*').unwrap_or(suffix) } else { suffix };
        const INVALID: &str = "\\/*?\"<>| ,";
        if suffix.contains(|c| INVALID.contains(c)) {
            return Err(format!(
                "An application name suffix may not contain any of the characters '{INVALID}' (found '{suffix}')"
            ));
        }
    }
    Ok(())
}

/// A stored privilege's name.
pub fn validate_privilege_name(name: &str) -> Result<(), String> {
    if is_privilege_name(name) {
        Ok(())
    } else {
        Err(format!(
            "Application privilege names must match the pattern ^[a-z][a-zA-Z0-9_.-]*$ (found '{name}')"
        ))
    }
}

/// A privilege name or action pattern (printable ASCII, no whitespace).
pub fn validate_privilege_or_action(name: &str) -> Result<(), String> {
    if name.chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(format!(
            "Application privilege names and actions must match the pattern ^\\p{{Graph}}*$ (found '{name}')"
        ))
    }
}

/// Checks a role's `applications` entry (the application may be a pattern).
pub fn validate_grant(application: &str, privileges: &[String], resources: &[String]) -> Result<(), String> {
    validate_application_name(application, true)?;
    for p in privileges {
        validate_privilege_or_action(p)?;
    }
    if privileges.is_empty() {
        return Err(format!("application privileges for [{application}] must name at least one privilege"));
    }
    if resources.is_empty() {
        return Err(format!("application privileges for [{application}] must name at least one resource"));
    }
    Ok(())
}

/// The action patterns `names` stand for in `application`: stored privileges' actions for
/// privilege names (an unknown name stands for nothing), the string itself for an action.
pub fn resolve(
    application: &str,
    names: &[String],
    stored: &[ApplicationPrivilegeDescriptor],
) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        if is_privilege_name(n) {
            if let Some(d) = stored.iter().find(|d| d.application == application && d.name == *n) {
                out.extend(d.actions.iter().cloned());
            }
        } else {
            out.push(n.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether the granted action patterns cover every requested one: each requested pattern must be
/// matched, as text, by a granted pattern (`*` covers everything, `data:*` covers `data:read/x`
/// and `data:*` itself). An empty request is never covered: an unknown privilege grants nothing.
pub fn covers(granted: &[String], requested: &[String]) -> bool {
    !requested.is_empty() && requested.iter().all(|r| granted.iter().any(|g| matches(g, r, Syntax::GLOB)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(app: &str, name: &str, actions: &[&str]) -> ApplicationPrivilegeDescriptor {
        ApplicationPrivilegeDescriptor {
            application: app.into(),
            name: name.into(),
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            metadata: Map::new(),
        }
    }

    #[test]
    fn application_names_follow_elasticsearch() {
        for ok in ["myapp", "kibana-.kibana", "app_1", "abc-x.y"] {
            assert_eq!(validate_application_name(ok, false), Ok(()), "{ok}");
        }
        for (wild, ok) in [("*", true), ("kibana-*", true), ("ki*", true), ("k*a", false)] {
            assert_eq!(validate_application_name(wild, true).is_ok(), ok, "{wild}");
        }
        let err = |a: &str| validate_application_name(a, false).unwrap_err();
        assert_eq!(err(""), "Application names cannot be blank");
        assert_eq!(err("app*"), "Application names may not contain '*' (found 'app*')");
        assert_eq!(err("ab"), "An application name prefix must be at least 3 characters long (found 'ab')");
        assert_eq!(
            err("000"),
            "An application name prefix must match the pattern ^[a-z][A-Za-z0-9]*$ (found '000')"
        );
        assert_eq!(err("my app"), "Application names may not contain whitespace (found 'my app')");
        assert!(err("app-a/b").starts_with("An application name suffix may not contain"));
    }

    #[test]
    fn names_resolve_to_actions_and_patterns_cover_them() {
        let stored = vec![d("app", "read", &["data:read/*"]), d("app", "write", &["data:write/*"])];
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            resolve("app", &s(&["read", "action:login"]), &stored),
            s(&["action:login", "data:read/*"])
        );
        assert!(resolve("app", &s(&["unknown"]), &stored).is_empty());
        assert!(resolve("other", &s(&["read"]), &stored).is_empty());
        let read = resolve("app", &s(&["read"]), &stored);
        assert!(covers(&read, &s(&["data:read/users"])));
        assert!(covers(&read, &read));
        assert!(!covers(&read, &resolve("app", &s(&["write"]), &stored)));
        assert!(covers(&s(&["*"]), &read));
        assert!(!covers(&s(&["*"]), &[]), "an unknown privilege is never covered");
        assert_eq!(
            d("app", "read", &[]).problems(),
            vec!["Application privileges must have at least one action"]
        );
        assert_eq!(
            d("app", "read", &["noslash"]).problems(),
            vec!["action [noslash] must contain one of [ '/' , '*' , ':' ]"]
        );
        assert_eq!(
            d("app", "Read", &["a:b"]).problems(),
            vec!["Application privilege names must match the pattern ^[a-z][a-zA-Z0-9_.-]*$ (found 'Read')"]
        );
    }
}
