//! The PKI realm: a client certificate, already verified against the configured CAs during the
//! TLS handshake, names the user. As Elasticsearch's default `username_pattern`
//! (`CN=(.*?)(?:,|$)`), the user name is the subject's common name.

use super::{Authentication, RealmRef, User};

impl RealmRef {
    /// The PKI realm.
    pub const PKI: RealmRef = RealmRef { name: "pki1", realm_type: "pki" };
}

/// The first `CN=` value of a distinguished name.
pub fn common_name(dn: &str) -> Option<String> {
    dn.split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("CN="))
        .map(str::to_owned)
        .filter(|cn| !cn.is_empty())
}

/// The authentication a verified client certificate gives (`chain[0]` is the client's).
pub fn pki_authentication(chain: &[Vec<u8>]) -> Option<Authentication> {
    let info = bulwark_pki::inspect(chain.first()?).ok()?;
    let username = common_name(&info.subject_dn)?;
    Some(Authentication::realm(
        User { username, roles: Vec::new(), full_name: None, email: None, enabled: true },
        RealmRef::PKI,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names() {
        assert_eq!(common_name("CN=client, O=Example").as_deref(), Some("client"));
        assert_eq!(common_name("O=Example, CN=svc").as_deref(), Some("svc"));
        assert_eq!(common_name("O=Example"), None);
        assert_eq!(common_name("CN="), None);
    }
}
