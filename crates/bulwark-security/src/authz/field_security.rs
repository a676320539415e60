//! Field-level security: a role's `field_security` (`grant` and `except` field patterns) and
//! the fields a request may see once every role granting it is combined.
//!
//! As Elasticsearch defines it: patterns match full dotted field names (`a.b`; `a.*` covers
//! the subfields of `a`, `a` alone does not); metadata fields (names starting with `_`) are
//! always visible; `except` must be a subset of `grant`; several groups granting access to an
//! index see the union of what each grants, and an API key sees what both the key and its
//! owner may see (the intersection).

use serde::{Deserialize, Serialize};

use super::pattern::IndexPattern;

/// A role's `field_security`, as written (and returned by GET role).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSecurity {
    /// Field patterns granted; absent means every field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Vec<String>>,
    /// Field patterns taken away again; each must be covered by `grant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<Vec<String>>,
}

/// One compiled `field_security`: visible = (grant ∪ `_*`) − except.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRule {
    /// `None`: every field is granted (`grant` absent or containing `*`).
    grant: Option<Vec<IndexPattern>>,
    except: Vec<IndexPattern>,
}

fn compile_patterns(role: &str, what: &str, patterns: &[String]) -> Result<Vec<IndexPattern>, String> {
    patterns
        .iter()
        .map(|p| {
            if p.is_empty() {
                return Err(format!(
                    "role [{role}]: [field_security.{what}] must not hold an empty field name"
                ));
            }
            p.parse::<IndexPattern>().map_err(|e| format!("role [{role}]: [field_security.{what}]: {e}"))
        })
        .collect()
}

/// Whether every name glob `p` matches is also matched by glob `q` (`*` and `?` wildcards).
/// Sound and exact for one pattern against one pattern.
fn glob_subset(p: &[char], q: &[char]) -> bool {
    match (p.split_first(), q.split_first()) {
        (_, Some(('*', q_rest))) => glob_subset(p, q_rest) || (!p.is_empty() && glob_subset(&p[1..], q)),
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(('*', _)), Some(_)) => false,
        (Some(('?', p_rest)), Some((qc, q_rest))) => *qc == '?' && glob_subset(p_rest, q_rest),
        (Some((pc, p_rest)), Some((qc, q_rest))) => (*qc == '?' || pc == qc) && glob_subset(p_rest, q_rest),
    }
}

fn is_regex(p: &str) -> bool {
    p.len() >= 2 && p.starts_with('/') && p.ends_with('/')
}

/// Whether `except` pattern `e` only names fields the granted patterns (or `_*`) cover.
fn covered(e: &str, grants: &[String]) -> bool {
    if grants.iter().any(|g| g == e) {
        return true;
    }
    if is_regex(e) {
        return false;
    }
    let e: Vec<char> = e.chars().collect();
    std::iter::once("_*")
        .chain(grants.iter().map(String::as_str).filter(|g| !is_regex(g)))
        .any(|g| glob_subset(&e, &g.chars().collect::<Vec<_>>()))
}

impl FieldSecurity {
    /// Checks and compiles; errors name the role.
    pub fn compile(&self, role: &str) -> Result<FieldRule, String> {
        let grant_all = self.grant.as_ref().is_none_or(|g| g.iter().any(|p| p == "*"));
        let except = self.except.clone().unwrap_or_default();
        if !grant_all {
            let grants = self.grant.clone().unwrap_or_default();
            if let Some(bad) = except.iter().find(|e| !covered(e, &grants)) {
                return Err(format!(
                    "role [{role}]: Exceptions for field permissions must be a subset of the granted fields but [{bad}] is not a subset of [{}]",
                    grants.join(", ")
                ));
            }
        }
        let grant = match &self.grant {
            Some(g) if !grant_all => Some(compile_patterns(role, "grant", g)?),
            _ => None,
        };
        Ok(FieldRule { grant, except: compile_patterns(role, "except", &except)? })
    }
}

impl FieldRule {
    /// Whether the rule hides nothing (`grant: ["*"]` without `except`).
    pub fn is_total(&self) -> bool {
        self.grant.is_none() && self.except.is_empty()
    }

    /// Whether `field` (a full dotted name) is visible under this rule.
    pub fn allows(&self, field: &str) -> bool {
        let granted = match &self.grant {
            None => true,
            Some(g) => field.starts_with('_') || g.iter().any(|p| p.matches(field)),
        };
        granted && !self.except.iter().any(|p| p.matches(field))
    }
}

/// The fields a request may see on one index: every layer must allow a field, and a layer
/// allows what any of its rules allows. No layers: every field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldAccess {
    layers: Vec<Vec<FieldRule>>,
}

impl FieldAccess {
    /// Every field.
    pub fn all() -> FieldAccess {
        FieldAccess::default()
    }

    /// No field but metadata (for a request no group grants).
    pub fn metadata_only() -> FieldAccess {
        FieldAccess { layers: vec![vec![FieldRule { grant: Some(Vec::new()), except: Vec::new() }]] }
    }

    /// The union of the rules of every group granting access; one group without
    /// `field_security` (`None`) grants every field.
    pub fn union(rules: Vec<Option<FieldRule>>) -> FieldAccess {
        if rules.is_empty() {
            return FieldAccess::metadata_only();
        }
        let mut layer = Vec::new();
        for r in rules {
            match r {
                Some(r) if !r.is_total() => layer.push(r),
                _ => return FieldAccess::all(),
            }
        }
        FieldAccess { layers: vec![layer] }
    }

    /// What both `self` and `other` allow (an API key limited by its owner).
    pub fn intersect(mut self, other: FieldAccess) -> FieldAccess {
        self.layers.extend(other.layers);
        self
    }

    /// Whether some field may be hidden.
    pub fn is_restricted(&self) -> bool {
        !self.layers.is_empty()
    }

    /// Whether `field` (a full dotted name) is visible.
    pub fn allows(&self, field: &str) -> bool {
        self.layers.iter().all(|l| l.iter().any(|r| r.allows(field)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fs(v: serde_json::Value) -> FieldSecurity {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn grant_except_and_metadata() {
        let r = fs(json!({"grant": ["name", "dept", "addr.*"], "except": ["addr.secret*"]}))
            .compile("r")
            .unwrap();
        for (f, want) in [
            ("name", true),
            ("dept", true),
            ("salary", false),
            ("_id", true),
            ("_source", true),
            ("addr.city", true),
            ("addr.secret_code", false),
            ("addr", false),
            ("name.keyword", false),
        ] {
            assert_eq!(r.allows(f), want, "{f}");
        }
        let all_but = fs(json!({"grant": ["*"], "except": ["salary", "pay.*"]})).compile("r").unwrap();
        assert!(all_but.allows("name") && !all_but.allows("salary") && !all_but.allows("pay.base"));
        assert!(fs(json!({"grant": ["*"]})).compile("r").unwrap().is_total());
        assert!(fs(json!({"except": []})).compile("r").unwrap().is_total());
    }

    #[test]
    fn except_must_be_a_subset() {
        let e = fs(json!({"grant": ["a*"], "except": ["b"]})).compile("hr").unwrap_err();
        assert!(e.contains("role [hr]") && e.contains("must be a subset of the granted fields"), "{e}");
        for (grant, except, ok) in [
            (json!(["a*"]), json!(["ab*"]), true),
            (json!(["a.*"]), json!(["a.b"]), true),
            (json!(["a?c"]), json!(["abc"]), true),
            (json!(["abc"]), json!(["a?c"]), false),
            (json!(["a"]), json!(["a*"]), false),
            (json!(["x"]), json!(["_routing"]), true),
            (json!(["*b"]), json!(["a*b"]), true),
        ] {
            let got = fs(json!({"grant": grant, "except": except})).compile("r").is_ok();
            assert_eq!(got, ok, "{grant} {except}");
        }
        assert!(serde_json::from_value::<FieldSecurity>(json!({"grant": ["a"], "nope": 1})).is_err());
        assert!(serde_json::from_value::<FieldSecurity>(json!({"grant": "a"})).is_err());
    }

    #[test]
    fn union_and_intersection() {
        let rule = |v| Some(fs(v).compile("r").unwrap());
        let a = FieldAccess::union(vec![rule(json!({"grant": ["name"]})), rule(json!({"grant": ["dept"]}))]);
        assert!(a.is_restricted() && a.allows("name") && a.allows("dept") && !a.allows("salary"));
        let open = FieldAccess::union(vec![rule(json!({"grant": ["name"]})), None]);
        assert!(!open.is_restricted() && open.allows("salary"));
        let key = FieldAccess::union(vec![rule(json!({"grant": ["dept", "salary"]}))]);
        let both = a.clone().intersect(key);
        assert!(both.allows("dept") && !both.allows("name") && !both.allows("salary") && both.allows("_id"));
        assert!(!FieldAccess::union(Vec::new()).allows("name"));
        assert!(!a.clone().intersect(FieldAccess::all()).allows("salary"));
    }
}
