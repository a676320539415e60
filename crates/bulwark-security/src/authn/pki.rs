//! PKI realms (`xpack.security.authc.realms.pki.<name>`): a client certificate the TLS handshake
//! verified names a user. There is no implicit PKI realm: without one configured, a certificate
//! authenticates nobody. Each realm may add its own trust (`certificate_authorities`, checked on
//! top of the handshake's), extracts the user name with `username_pattern` (default
//! `CN=(.*?)(?:,|$)`, case-insensitive, over the subject as Java writes it) and gets its roles
//! from role mappings: those stored through the API and the realm's `role_mapping.yml`. A PKI
//! user is never a native or reserved user, whatever its name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;

use bulwark_settings::PkiRealmSettings;
use serde_json::{Value, json};

use super::mapping_rule::{UserData, normalize_dn};
use super::role_mapping::{RoleMapping, mapped_roles};
use super::{Authentication, RealmRef, User};

/// `config/role_mapping.yml` as read: role → normalized DNs, and the bytes it was read from.
#[derive(Debug, Default)]
struct DnRoles {
    roles: BTreeMap<String, Vec<String>>,
    seen: Option<Option<Vec<u8>>>,
}

/// One configured PKI realm.
#[derive(Debug)]
pub struct PkiRealm {
    realm: RealmRef,
    order: i32,
    pattern: regex::Regex,
    trust: Vec<Vec<u8>>,
    role_mapping_file: PathBuf,
    dn_roles: RwLock<DnRoles>,
}

/// What a verified certificate chain yields in one realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiIdentity {
    /// The user name (the first group of `username_pattern`).
    pub username: String,
    /// The subject DN (`CN=alice, OU=eng, O=Example`).
    pub dn: String,
}

impl PkiRealm {
    /// Builds a realm from its settings: compiles the pattern and reads its CA files. `Err`
    /// names the setting at fault.
    pub fn new(s: &PkiRealmSettings) -> Result<PkiRealm, String> {
        let key = |k: &str| format!("xpack.security.authc.realms.pki.{}.{k}", s.name);
        let pattern = regex::RegexBuilder::new(&s.username_pattern)
            .case_insensitive(true)
            .build()
            .map_err(|e| format!("invalid [{}]: {e}", key("username_pattern")))?;
        if pattern.captures_len() < 2 {
            return Err(format!("[{}] must have a capture group (the user name)", key("username_pattern")));
        }
        let mut trust = Vec::new();
        for path in &s.certificate_authorities {
            let bytes = std::fs::read(path).map_err(|e| {
                format!("cannot read [{}] of [{}]: {e}", path.display(), key("certificate_authorities"))
            })?;
            let certs = bulwark_pki::certs_from_pem(&bytes).map_err(|e| {
                format!(
                    "[{}] of [{}] is not PEM certificates: {e}",
                    path.display(),
                    key("certificate_authorities")
                )
            })?;
            if certs.is_empty() {
                return Err(format!(
                    "[{}] of [{}] holds no certificate",
                    path.display(),
                    key("certificate_authorities")
                ));
            }
            trust.extend(certs);
        }
        // Realm names come from the settings, read once at start: leaking them gives the
        // `&'static str` every `RealmRef` holds, at a bounded cost.
        let name: &'static str = Box::leak(s.name.clone().into_boxed_str());
        let realm = PkiRealm {
            realm: RealmRef { name, realm_type: "pki" },
            order: s.order,
            pattern,
            trust,
            role_mapping_file: s.role_mapping_file.clone(),
            dn_roles: RwLock::new(DnRoles::default()),
        };
        realm.reload_role_mapping_file()?;
        Ok(realm)
    }

    /// The realm's name and type.
    pub fn realm(&self) -> &RealmRef {
        &self.realm
    }

    /// `order`.
    pub fn order(&self) -> i32 {
        self.order
    }

    /// The identity `chain` (leaf first, verified by the handshake) has in this realm: `None`
    /// when the realm's own CAs do not sign it or the pattern does not match its subject.
    pub fn identify(&self, chain: &[Vec<u8>]) -> Option<PkiIdentity> {
        let leaf = chain.first()?;
        if !self.trust.is_empty() {
            let intermediates: Vec<&[u8]> = chain[1..].iter().map(Vec::as_slice).collect();
            let now = time_now();
            let trusted = self
                .trust
                .iter()
                .any(|ca| bulwark_pki::verify_chain_at(leaf, &intermediates, ca, now).is_ok());
            if !trusted {
                return None;
            }
        }
        let dn = bulwark_pki::subject_principal(leaf).ok()?;
        let username = self.username(&dn)?;
        Some(PkiIdentity { username, dn })
    }

    /// The user name `username_pattern` extracts from a subject DN.
    pub fn username(&self, dn: &str) -> Option<String> {
        let name = self.pattern.captures(dn)?.get(1)?.as_str().to_owned();
        (!name.is_empty()).then_some(name)
    }

    /// The authentication for an identity, with the roles `mappings` (stored) and the realm's
    /// `role_mapping.yml` give it.
    pub fn authentication(&self, id: &PkiIdentity, mappings: &[RoleMapping]) -> Authentication {
        let data = self.user_data(id);
        let mut roles = mapped_roles(mappings, &data);
        if let Ok(file) = self.dn_roles.read() {
            let dn = normalize_dn(&id.dn);
            for (role, dns) in &file.roles {
                if dns.contains(&dn) && !roles.contains(role) {
                    roles.push(role.clone());
                }
            }
        }
        roles.sort();
        let user = User { username: id.username.clone(), roles, full_name: None, email: None, enabled: true };
        let mut a = Authentication::realm(user, self.realm.clone());
        a.pki_dn = Some(id.dn.clone());
        a
    }

    /// What role mapping rules see of this user.
    pub fn user_data(&self, id: &PkiIdentity) -> UserData {
        UserData {
            username: id.username.clone(),
            dn: Some(id.dn.clone()),
            groups: Vec::new(),
            metadata: json!({ "pki_dn": id.dn }).as_object().cloned().unwrap_or_default(),
            realm_name: self.realm.name.to_owned(),
        }
    }

    /// Re-reads `role_mapping.yml` when it changed; `Ok(Some(message))` to log. A broken file
    /// keeps the previous mappings (`Err`, also to log).
    pub fn reload_role_mapping_file(&self) -> Result<Option<String>, String> {
        let now = std::fs::read(&self.role_mapping_file).ok();
        let Ok(mut current) = self.dn_roles.write() else { return Ok(None) };
        if current.seen.as_ref() == Some(&now) {
            return Ok(None);
        }
        let path = self.role_mapping_file.display();
        let parsed = match &now {
            None => BTreeMap::new(),
            Some(bytes) => parse_role_mapping_yml(&String::from_utf8_lossy(bytes))
                .map_err(|e| format!("[{path}] keeps its previous role mappings: {e}"))?,
        };
        let message = now.as_ref().map(|_| {
            format!(
                "realm [{}] loaded role mappings for {} roles from [{path}]",
                self.realm.name,
                parsed.len()
            )
        });
        *current = DnRoles { roles: parsed, seen: Some(now) };
        Ok(message)
    }
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Parses Elasticsearch's `role_mapping.yml`: `role: [DN, ...]` (DNs normalized).
pub fn parse_role_mapping_yml(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let v: BTreeMap<String, Value> = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    v.into_iter()
        .map(|(role, dns)| {
            let dns = match dns {
                Value::String(s) => vec![s],
                Value::Array(a) => a
                    .into_iter()
                    .map(|d| match d {
                        Value::String(s) => Ok(s),
                        other => Err(format!("role [{role}]: [{other}] is not a DN")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Value::Null => Vec::new(),
                other => return Err(format!("role [{role}]: expected a list of DNs, found [{other}]")),
            };
            Ok((role, dns.iter().map(|d| normalize_dn(d)).collect()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm(pattern: &str) -> PkiRealm {
        PkiRealm::new(&PkiRealmSettings {
            name: "pki1".into(),
            order: 0,
            enabled: true,
            username_pattern: pattern.into(),
            certificate_authorities: Vec::new(),
            role_mapping_file: PathBuf::from("/nonexistent/role_mapping.yml"),
        })
        .unwrap()
    }

    #[test]
    fn user_names_come_from_the_pattern() {
        let default = realm(bulwark_settings::DEFAULT_PKI_USERNAME_PATTERN);
        let table: &[(&str, Option<&str>)] = &[
            ("CN=client, O=Example", Some("client")),
            ("cn=lower, O=Example", Some("lower")),
            ("O=Example, CN=svc", Some("svc")),
            ("O=Example", None),
            ("CN=, O=Example", None),
        ];
        for (dn, want) in table {
            assert_eq!(default.username(dn).as_deref(), *want, "{dn}");
        }
        let ou = realm("OU=(.*?),");
        assert_eq!(ou.username("CN=elastic, OU=alice, O=Example").as_deref(), Some("alice"));
        assert_eq!(ou.username("CN=elastic, O=Example"), None);
        let bad = PkiRealmSettings { username_pattern: "CN=.*".into(), ..realm_settings() };
        assert!(PkiRealm::new(&bad).unwrap_err().contains("capture group"));
        let bad = PkiRealmSettings { username_pattern: "CN=(".into(), ..realm_settings() };
        assert!(PkiRealm::new(&bad).unwrap_err().contains("username_pattern"));
    }

    fn realm_settings() -> PkiRealmSettings {
        PkiRealmSettings {
            name: "pki1".into(),
            order: 0,
            enabled: true,
            username_pattern: bulwark_settings::DEFAULT_PKI_USERNAME_PATTERN.into(),
            certificate_authorities: Vec::new(),
            role_mapping_file: PathBuf::from("/nonexistent/role_mapping.yml"),
        }
    }

    #[test]
    fn role_mapping_yml_maps_dns() {
        let m = parse_role_mapping_yml("monitoring:\n  - \"CN=Alice, OU=eng\"\nviewer: cn=bob\n").unwrap();
        assert_eq!(m["monitoring"], ["cn=alice,ou=eng"]);
        assert_eq!(m["viewer"], ["cn=bob"]);
        assert!(parse_role_mapping_yml("viewer: {a: 1}\n").is_err());
    }
}
