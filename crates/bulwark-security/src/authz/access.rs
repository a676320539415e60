//! What a request may see of one index once it is allowed there: the visible fields and the
//! document filter, combined from every group that grants the action (a union), and for an
//! API key with role descriptors, from both the key and its owner (an intersection).

use serde_json::{Map, Value};

use super::document_query::{DocumentAccess, TemplateUser, render_query};
use super::field_security::FieldAccess;
use super::{Action, Authorizer, IndexGroup, Role};
use crate::authn::Authentication;

/// Field- and document-level security on one index for one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexAccess {
    /// Which fields it may see.
    pub fields: FieldAccess,
    /// Which documents it may see.
    pub documents: DocumentAccess,
}

impl IndexAccess {
    /// Everything: no field or document is hidden.
    pub fn unrestricted() -> IndexAccess {
        IndexAccess::default()
    }

    /// Whether anything is hidden (writes such as `update` are refused then).
    pub fn is_restricted(&self) -> bool {
        self.fields.is_restricted() || self.documents.is_restricted()
    }
}

impl TemplateUser {
    /// The user of an authentication (an API key's owner), with the metadata the caller
    /// looked up.
    pub fn of(authn: &Authentication, metadata: Map<String, Value>) -> TemplateUser {
        TemplateUser {
            username: authn.user.username.clone(),
            full_name: authn.user.full_name.clone(),
            email: authn.user.email.clone(),
            roles: super::effective_role_names(authn),
            metadata,
        }
    }
}

/// The groups of `roles` granting `action` on `index`, or else on one of `aliases` (names
/// pointing at the index).
fn granting<'r>(
    roles: &'r [&'r Role],
    action: Action,
    index: &str,
    aliases: &[String],
) -> Vec<&'r IndexGroup> {
    let of = |name: &str| -> Vec<&'r IndexGroup> {
        roles
            .iter()
            .flat_map(|r| r.indices.iter())
            .filter(|g| g.covers(name) && g.grants(action.name()))
            .collect()
    };
    let direct = of(index);
    if !direct.is_empty() {
        return direct;
    }
    aliases.iter().flat_map(|a| of(a)).collect()
}

fn combine(groups: &[&IndexGroup], user: &TemplateUser) -> Result<IndexAccess, String> {
    let fields = FieldAccess::union(groups.iter().map(|g| g.fields.clone()).collect());
    let queries = groups
        .iter()
        .map(|g| g.query.as_ref().map(|q| render_query(q, user)).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IndexAccess { fields, documents: DocumentAccess::union(queries) })
}

impl Authorizer {
    /// The fields and documents of `index` the caller sees through `action` (call once the
    /// action is authorized). `aliases` are the aliases of the index, consulted when no role
    /// names the index itself. An error is a role query that cannot be rendered.
    pub fn index_access(
        &self,
        authn: &Authentication,
        action: Action,
        index: &str,
        aliases: &[String],
        user: &TemplateUser,
    ) -> Result<IndexAccess, String> {
        let (owner, own) = self.bounds(authn);
        let owner: Vec<&Role> = owner.iter().map(|r| &**r).collect();
        let mut access = combine(&granting(&owner, action, index, aliases), user)?;
        if let Some(own) = own {
            let key: Vec<&Role> = own.iter().map(|r| &**r).collect();
            let limit = combine(&granting(&key, action, index, aliases), user)?;
            access.fields = access.fields.intersect(limit.fields);
            access.documents = access.documents.intersect(limit.documents);
        }
        Ok(access)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::authn::{ApiKeyInfo, RealmRef, User};
    use crate::authz::{RoleDescriptor, RoleSource};

    struct Native(BTreeMap<String, RoleDescriptor>);
    impl RoleSource for Native {
        fn role(&self, name: &str) -> Option<RoleDescriptor> {
            self.0.get(name).cloned()
        }
    }

    fn authorizer() -> Authorizer {
        let roles = json!({
            "eng": {"indices": [{"names": ["hr"], "privileges": ["read"], "field_security": {"grant": ["name", "dept"]}, "query": {"term": {"dept": "eng"}}}]},
            "ops": {"indices": [{"names": ["hr"], "privileges": ["read"], "field_security": {"grant": ["name", "salary"]}, "query": "{\"term\": {\"dept\": \"ops\"}}"}]},
            "all": {"indices": [{"names": ["hr*"], "privileges": ["read", "write"]}]},
            "own": {"indices": [{"names": ["hr"], "privileges": ["read"], "query": {"template": {"source": "{\"term\": {\"owner\": \"{{_user.username}}\"}}"}}}]},
        });
        let roles = roles
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), RoleDescriptor::from_json(k, v).unwrap()))
            .collect();
        Authorizer::new(Arc::new(Native(roles)))
    }

    fn user(roles: &[&str]) -> Authentication {
        Authentication::realm(
            User {
                username: "u".into(),
                roles: roles.iter().map(|s| (*s).to_owned()).collect(),
                full_name: None,
                email: None,
                enabled: true,
            },
            RealmRef::NATIVE,
        )
    }

    fn access(a: &Authorizer, who: &Authentication) -> IndexAccess {
        a.index_access(who, Action::Search, "hr", &[], &TemplateUser::of(who, Map::new())).unwrap()
    }

    #[test]
    fn one_role_two_roles_and_an_open_role() {
        let a = authorizer();
        let eng = access(&a, &user(&["eng"]));
        assert!(eng.fields.allows("name") && !eng.fields.allows("salary"));
        assert_eq!(eng.documents.to_query(), Some(json!({"term": {"dept": "eng"}})));
        let both = access(&a, &user(&["eng", "ops"]));
        assert!(both.fields.allows("dept") && both.fields.allows("salary") && !both.fields.allows("x"));
        assert_eq!(
            both.documents.to_query(),
            Some(
                json!({"bool": {"should": [{"term": {"dept": "eng"}}, {"term": {"dept": "ops"}}], "minimum_should_match": 1}})
            )
        );
        assert!(!access(&a, &user(&["eng", "all"])).is_restricted());
        let own = access(&a, &user(&["own"]));
        assert_eq!(own.documents.to_query(), Some(json!({"term": {"owner": "u"}})));
        assert!(!own.fields.is_restricted());
    }

    #[test]
    fn restricted_groups_grant_only_paths_that_enforce() {
        let a = authorizer();
        let eng = user(&["eng"]);
        assert!(a.authorize(&eng, Action::Search, &["hr".into()]).is_ok());
        assert!(a.authorize(&eng, Action::GetMapping, &["hr".into()]).is_err());
        let all = user(&["all"]);
        assert!(a.authorize(&all, Action::GetMapping, &["hr".into()]).is_err(), "read does not grant it");
    }

    #[test]
    fn api_keys_intersect_with_their_owner() {
        let a = authorizer();
        let mut key = user(&[]);
        key.api_key = Some(ApiKeyInfo {
            id: "k".into(),
            name: "k".into(),
            roles: vec!["eng".into(), "ops".into()],
            limited_by: None,
            descriptors: json!({"k": {"indices": [{"names": ["hr"], "privileges": ["read"], "field_security": {"grant": ["dept", "salary"]}, "query": {"term": {"level": 1}}}]}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        });
        let acc = access(&a, &key);
        assert!(acc.fields.allows("dept") && acc.fields.allows("salary") && !acc.fields.allows("name"));
        let q = acc.documents.to_query().unwrap();
        assert_eq!(q["bool"]["filter"][1], json!({"term": {"level": 1}}));
    }
}
