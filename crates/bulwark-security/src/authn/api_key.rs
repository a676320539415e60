//! API keys: `Authorization: ApiKey base64(id:secret)`. The secret is 22 characters of
//! URL-safe base64 from 16 random bytes; being high-entropy, it is stored as a salted SHA-256
//! (not a slow password hash) and compared in constant time. It is shown once, at creation.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bulwark_random::RandomError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{Authentication, RealmRef, User};

impl RealmRef {
    /// The API key realm.
    pub const API_KEY: RealmRef = RealmRef { name: "_es_api_key", realm_type: "_es_api_key" };
}

/// An API key as stored (the store entry's value; the id is the entry id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// The key's name.
    pub name: String,
    /// `base64(salt)$base64(sha256(salt || secret))`.
    pub secret_hash: String,
    /// Epoch milliseconds.
    pub creation: i64,
    /// When it expires (epoch milliseconds), if it does.
    pub expiration: Option<i64>,
    /// Invalidated (it authenticates nobody).
    #[serde(default)]
    pub invalidated: bool,
    /// When it was invalidated (epoch milliseconds).
    #[serde(default)]
    pub invalidation: Option<i64>,
    /// The owner.
    pub username: String,
    /// The owner's realm.
    pub realm: String,
    /// The owner's realm type.
    pub realm_type: String,
    /// `metadata` as given.
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The key's own role descriptors, as given.
    #[serde(default)]
    pub role_descriptors: serde_json::Map<String, serde_json::Value>,
    /// The owner's role names when the key was created or last updated.
    #[serde(default)]
    pub limited_by_roles: Vec<String>,
    /// The owner's role descriptors, copied when the key was created or last updated
    /// (Elasticsearch's `limited_by_role_descriptors`): widening the owner's roles later does not
    /// widen the key. `None` only for keys stored before the copy was kept; those are limited by
    /// the named roles as they are now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited_by: Option<serde_json::Map<String, serde_json::Value>>,
    /// `rest` or `cross_cluster`.
    #[serde(default = "rest_type")]
    pub key_type: String,
}

fn rest_type() -> String {
    "rest".into()
}

/// What an API-key authentication carries, for `_authenticate` and authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The key's id.
    pub id: String,
    /// The key's name.
    pub name: String,
    /// The owner's role names when the key was made.
    pub roles: Vec<String>,
    /// The owner's role descriptors when the key was made (see [`ApiKeyRecord::limited_by`]).
    pub limited_by: Option<serde_json::Map<String, serde_json::Value>>,
    /// The key's own role descriptors (empty: no further limit).
    pub descriptors: serde_json::Map<String, serde_json::Value>,
}

fn random_b64(n: usize) -> Result<Zeroizing<String>, RandomError> {
    let mut b = Zeroizing::new(vec![0u8; n]);
    bulwark_random::fill(&mut b)?;
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(&*b)))
}

/// A new key id (20 characters).
pub fn new_api_key_id() -> Result<String, RandomError> {
    random_b64(15).map(|s| s.to_string())
}

/// A new secret (22 characters).
pub fn new_api_key_secret() -> Result<SecretString, RandomError> {
    random_b64(16).map(|s| SecretString::from(s.as_str()))
}

fn sha(salt: &[u8], secret: &SecretString) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(salt);
    ctx.update(secret.expose_secret().as_bytes());
    ctx.finish().as_ref().to_vec()
}

/// Hashes a secret for storage.
pub fn hash_api_key_secret(secret: &SecretString) -> Result<String, RandomError> {
    let salt = bulwark_random::bytes::<16>()?;
    Ok(format!("{}${}", STANDARD.encode(salt), STANDARD.encode(sha(&salt, secret))))
}

/// Whether `secret` matches a stored hash (constant time).
pub fn verify_api_key_secret(stored: &str, secret: &SecretString) -> bool {
    let Some((salt, hash)) = stored.split_once('$') else { return false };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else { return false };
    sha(&salt, secret).ct_eq(&hash).into()
}

/// The `encoded` form clients send: `base64(id:secret)`.
pub fn encode_api_key(id: &str, secret: &SecretString) -> SecretString {
    SecretString::from(STANDARD.encode(format!("{id}:{}", secret.expose_secret())))
}

/// Splits the value of an `ApiKey` header into (id, secret).
pub fn decode_api_key(value: &SecretString) -> Option<(String, SecretString)> {
    let raw = Zeroizing::new(STANDARD.decode(value.expose_secret().trim()).ok()?);
    let text = std::str::from_utf8(&raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    if id.is_empty() || secret.is_empty() {
        return None;
    }
    Some((id.to_owned(), SecretString::from(secret)))
}

impl ApiKeyRecord {
    /// Whether the key is usable at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        !self.invalidated && self.expiration.is_none_or(|e| e > now_ms)
    }

    /// The authentication a valid key gives.
    pub fn authentication(&self, id: &str) -> Authentication {
        let mut a = Authentication::realm(
            User {
                username: self.username.clone(),
                roles: Vec::new(),
                full_name: None,
                email: None,
                enabled: true,
            },
            RealmRef::API_KEY,
        );
        a.authentication_type = "api_key";
        a.api_key = Some(ApiKeyInfo {
            id: id.to_owned(),
            name: self.name.clone(),
            roles: self.limited_by_roles.clone(),
            limited_by: self.limited_by.clone(),
            descriptors: self.role_descriptors.clone(),
        });
        a
    }
}

/// Now, in epoch milliseconds.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_verify_and_encode() {
        let id = new_api_key_id().unwrap();
        let secret = new_api_key_secret().unwrap();
        assert_eq!(id.len(), 20);
        assert_eq!(secret.expose_secret().len(), 22);
        let h = hash_api_key_secret(&secret).unwrap();
        assert_ne!(h, hash_api_key_secret(&secret).unwrap());
        bulwark_random::testing::failing(|| {
            assert_eq!(new_api_key_id(), Err(RandomError));
            assert!(new_api_key_secret().is_err());
            assert_eq!(hash_api_key_secret(&secret), Err(RandomError));
        });
        assert!(verify_api_key_secret(&h, &secret));
        assert!(!verify_api_key_secret(&h, &SecretString::from("nope")));
        assert!(!verify_api_key_secret("garbage", &secret));
        let (i, s) = decode_api_key(&encode_api_key(&id, &secret)).unwrap();
        assert_eq!(i, id);
        assert_eq!(s.expose_secret(), secret.expose_secret());
        assert!(decode_api_key(&SecretString::from("!!!")).is_none());
        assert!(decode_api_key(&SecretString::from(STANDARD.encode("noseparator"))).is_none());
    }

    #[test]
    fn expiry_and_invalidation() {
        let mut r = ApiKeyRecord {
            name: "k".into(),
            secret_hash: String::new(),
            creation: 0,
            expiration: Some(1000),
            invalidated: false,
            invalidation: None,
            username: "u".into(),
            realm: "reserved".into(),
            realm_type: "reserved".into(),
            metadata: Default::default(),
            role_descriptors: Default::default(),
            limited_by_roles: vec!["superuser".into()],
            limited_by: None,
            key_type: "rest".into(),
        };
        assert!(r.is_active(999));
        assert!(!r.is_active(1000));
        r.expiration = None;
        assert!(r.is_active(i64::MAX));
        r.invalidated = true;
        assert!(!r.is_active(0));
        let a = r.authentication("id1");
        assert_eq!(a.authentication_type, "api_key");
        assert_eq!(a.api_key.unwrap().roles, vec!["superuser"]);
    }
}
