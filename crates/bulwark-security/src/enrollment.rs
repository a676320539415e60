//! Enrollment tokens, in Elasticsearch's format: the base64 (URL-safe alphabet, with padding) of
//! compact JSON `{"ver","adr","fgr","key"}` — the version of the node that made it, the HTTPS
//! addresses (`host:port`) to enroll at, the lowercase hex SHA-256 of the HTTP CA certificate, and
//! the credential `<id>:<secret>` of an API key that holds only the enrollment privilege of the
//! token's scope.
//!
//! This module is the one decoder and validator: the node, the tools and the tests all go
//! through [`EnrollmentToken::decode`], and the realm chain words the refusal of an expired or
//! already used enrollment key with [`EnrollmentError`], so every consumer reports the same
//! precise reason (malformed, expired, used, wrong scope, fingerprint mismatch).
//!
//! The token carries no timestamp: its validity is the API key's expiration (30 minutes by
//! default). Node tokens are single-use: the node-enrollment endpoint invalidates the key after a
//! successful enrollment and marks it with [`USED_METADATA`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE};
use base64::engine::{DecodePaddingMode, general_purpose};
use bulwark_pki::Fingerprint;
use bulwark_random::RandomError;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::authn::{ApiKeyRecord, hash_api_key_secret, new_api_key_id, new_api_key_secret};
use crate::authz::Action;

/// Every enrollment API key's name starts with this, followed by a random id.
pub const API_KEY_NAME_PREFIX: &str = "enrollment_token_API_key_";
/// The one role descriptor of an enrollment API key.
pub const ROLE_NAME: &str = "create_enrollment_token";
/// How long a token is valid unless a shorter time is asked for (Elasticsearch's 30 minutes).
pub const DEFAULT_TTL: Duration = Duration::from_secs(30 * 60);
/// Metadata flag set on a node enrollment key once it has been used (the key is invalidated at
/// the same time). The leading `_` keeps it out of reach of the API-key APIs.
pub const USED_METADATA: &str = "_enrollment_used";
/// The owner recorded for enrollment keys the node makes itself (Elasticsearch's internal user).
pub const INTERNAL_OWNER: &str = "_xpack_security";

/// What a token enrolls: the console (Kibana's place) or another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnrollmentScope {
    /// `kibana`: the console.
    Kibana,
    /// `node`: a node joining the cluster.
    Node,
}

impl EnrollmentScope {
    /// Both scopes.
    pub const ALL: [EnrollmentScope; 2] = [EnrollmentScope::Kibana, EnrollmentScope::Node];

    /// `kibana` or `node`, as `-s` spells it.
    pub fn name(self) -> &'static str {
        match self {
            EnrollmentScope::Kibana => "kibana",
            EnrollmentScope::Node => "node",
        }
    }

    /// The action the token's key may perform, and nothing else.
    pub fn action(self) -> Action {
        match self {
            EnrollmentScope::Kibana => Action::EnrollKibana,
            EnrollmentScope::Node => Action::EnrollNode,
        }
    }

    /// Whether a token of this scope works once only.
    pub fn single_use(self) -> bool {
        self == EnrollmentScope::Node
    }

    /// The API key's `role_descriptors`:
    /// `{"create_enrollment_token": {"cluster": ["cluster:admin/xpack/security/enroll/<scope>"]}}`.
    pub fn role_descriptors(self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(ROLE_NAME.to_owned(), json!({ "cluster": [self.action().name()] }));
        m
    }

    /// The scope of an enrollment API key, from its name and role descriptors; `None` for any
    /// other key (including one whose descriptor grants anything more).
    pub fn of_key(name: &str, descriptors: &Map<String, Value>) -> Option<EnrollmentScope> {
        if !name.starts_with(API_KEY_NAME_PREFIX) || descriptors.len() != 1 {
            return None;
        }
        let d = descriptors.get(ROLE_NAME)?.as_object()?;
        let only_cluster = d.iter().all(|(k, v)| {
            k == "cluster" || v.is_null() || v.as_array().is_some_and(Vec::is_empty) || k == "metadata"
        });
        let cluster = d.get("cluster")?.as_array()?;
        match (only_cluster, cluster.as_slice()) {
            (true, [Value::String(action)]) => {
                EnrollmentScope::ALL.into_iter().find(|s| s.action().name() == action.as_str())
            }
            _ => None,
        }
    }
}

impl fmt::Display for EnrollmentScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EnrollmentScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        EnrollmentScope::ALL
            .into_iter()
            .find(|scope| scope.name() == s)
            .ok_or_else(|| format!("invalid scope [{s}]; the scope must be one of [kibana, node]"))
    }
}

/// Why a token was refused. Every consumer reports one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollmentError {
    /// Not a token: empty, not base64, not the JSON object, or a field is missing or wrong.
    #[error("malformed enrollment token: {0}")]
    Malformed(String),
    /// The token's API key has expired.
    #[error(
        "the enrollment token has expired (API key [{key_id}]): create a new one with `bulwark create-enrollment-token`"
    )]
    Expired {
        /// The token's API key id.
        key_id: String,
    },
    /// A single-use node token that already enrolled a node.
    #[error(
        "the enrollment token was already used (API key [{key_id}]): node enrollment tokens are single-use; create a new one with `bulwark create-enrollment-token -s node`"
    )]
    AlreadyUsed {
        /// The token's API key id.
        key_id: String,
    },
    /// A token of the other scope.
    #[error(
        "the enrollment token is for [{actual}] enrollment and cannot be used for [{wanted}] enrollment: create one with `bulwark create-enrollment-token -s {wanted}`"
    )]
    WrongScope {
        /// The enrollment asked for.
        wanted: EnrollmentScope,
        /// The token's scope.
        actual: EnrollmentScope,
    },
    /// The server at an address does not present the CA the token pins.
    #[error(
        "the server at [{address}] does not present the CA certificate with fingerprint [{expected}] that the enrollment token pins; nothing was sent to it (is the token for another cluster, or was it altered?)"
    )]
    FingerprintMismatch {
        /// The address.
        address: String,
        /// The fingerprint the token pins.
        expected: Fingerprint,
    },
}

fn malformed(msg: impl Into<String>) -> EnrollmentError {
    EnrollmentError::Malformed(msg.into())
}

/// A decoded (or newly made) enrollment token.
#[derive(Clone)]
pub struct EnrollmentToken {
    /// The version of the node that made it, e.g. `8.19.0`.
    pub ver: String,
    /// `host:port` HTTPS addresses (IPv6 in brackets), tried in order.
    pub adr: Vec<String>,
    /// The HTTP CA certificate's fingerprint.
    pub fgr: Fingerprint,
    key_id: String,
    key_secret: SecretString,
}

impl fmt::Debug for EnrollmentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentToken")
            .field("ver", &self.ver)
            .field("adr", &self.adr)
            .field("fgr", &self.fgr)
            .field("key", &format_args!("{}:[REDACTED]", self.key_id))
            .finish()
    }
}

/// The JSON, with its keys in Elasticsearch's order.
#[derive(Serialize)]
struct Wire<'a> {
    ver: &'a str,
    adr: &'a [String],
    fgr: String,
    key: &'a str,
}

/// Base64 that accepts input with or without padding.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Checks one `adr` entry: `host:port` with a port number, IPv6 in brackets.
fn check_address(a: &str) -> Result<(), String> {
    let (host, port) = a.rsplit_once(':').ok_or_else(|| format!("[{a}] is not host:port"))?;
    port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| format!("[{a}] has no valid port"))?;
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let ok = match bare {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && !host.contains(':')
                && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        }
    };
    if ok { Ok(()) } else { Err(format!("[{a}] does not name a host")) }
}

impl EnrollmentToken {
    /// A token for an API key `key_id`/`key_secret`; the addresses are checked.
    pub fn new(
        ver: impl Into<String>,
        adr: Vec<String>,
        fgr: Fingerprint,
        key_id: impl Into<String>,
        key_secret: SecretString,
    ) -> Result<EnrollmentToken, EnrollmentError> {
        let t = EnrollmentToken { ver: ver.into(), adr, fgr, key_id: key_id.into(), key_secret };
        t.validate()?;
        Ok(t)
    }

    fn validate(&self) -> Result<(), EnrollmentError> {
        if self.ver.is_empty() {
            return Err(malformed("field [ver] is empty"));
        }
        if self.adr.is_empty() {
            return Err(malformed("field [adr] lists no address"));
        }
        for a in &self.adr {
            check_address(a).map_err(|e| malformed(format!("field [adr]: {e}")))?;
        }
        if self.key_id.is_empty() || self.key_id.contains(':') || self.key_secret.expose_secret().is_empty() {
            return Err(malformed("field [key] is not <api key id>:<api key secret>"));
        }
        Ok(())
    }

    /// The token text: URL-safe base64 with padding of the compact JSON.
    pub fn encode(&self) -> SecretString {
        let key = Zeroizing::new(format!("{}:{}", self.key_id, self.key_secret.expose_secret()));
        let wire = Wire { ver: &self.ver, adr: &self.adr, fgr: self.fgr.to_string(), key: &key };
        // Serializing strings and a list of strings cannot fail.
        let json = Zeroizing::new(serde_json::to_string(&wire).unwrap_or_default());
        SecretString::from(URL_SAFE.encode(json.as_bytes()))
    }

    /// Decodes and checks a token. Both base64 alphabets are accepted, with or without padding,
    /// as are surrounding spaces; unknown fields are refused, as Elasticsearch refuses them.
    pub fn decode(text: &str) -> Result<EnrollmentToken, EnrollmentError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(malformed("cannot decode an enrollment token from an empty string"));
        }
        let bytes = Zeroizing::new(
            LENIENT_URL_SAFE
                .decode(text)
                .or_else(|_| LENIENT_STANDARD.decode(text))
                .map_err(|e| malformed(format!("it is not base64 ({e})")))?,
        );
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| malformed(format!("it does not hold JSON ({e})")))?;
        let Value::Object(m) = value else {
            return Err(malformed("it does not hold a JSON object"));
        };
        if let Some(k) = m.keys().find(|k| !["ver", "adr", "fgr", "key"].contains(&k.as_str())) {
            return Err(malformed(format!("unknown field [{k}]")));
        }
        let string = |field: &str| -> Result<&str, EnrollmentError> {
            match m.get(field) {
                None => Err(malformed(format!("field [{field}] is missing"))),
                Some(Value::String(s)) => Ok(s),
                Some(_) => Err(malformed(format!("field [{field}] is not a string"))),
            }
        };
        let ver = string("ver")?.to_owned();
        let adr = match m.get("adr") {
            None => return Err(malformed("field [adr] is missing")),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed("field [adr] must hold strings"))?,
            Some(_) => return Err(malformed("field [adr] is not a list")),
        };
        let fgr = string("fgr")?
            .parse::<Fingerprint>()
            .map_err(|e| malformed(format!("field [fgr] is not a SHA-256 fingerprint ({e})")))?;
        let key = string("key")?;
        let (id, secret) =
            key.split_once(':').ok_or_else(|| malformed("field [key] is not <id>:<secret>"))?;
        let t = EnrollmentToken {
            ver,
            adr,
            fgr,
            key_id: id.to_owned(),
            key_secret: SecretString::from(secret.to_owned()),
        };
        t.validate()?;
        Ok(t)
    }

    /// The API key's id.
    pub fn api_key_id(&self) -> &str {
        &self.key_id
    }

    /// The API key's secret.
    pub fn api_key_secret(&self) -> &SecretString {
        &self.key_secret
    }

    /// The credential as the token holds it: `<id>:<secret>`.
    pub fn api_key(&self) -> SecretString {
        SecretString::from(format!("{}:{}", self.key_id, self.key_secret.expose_secret()))
    }

    /// The value of `Authorization: ApiKey <value>`: standard base64 of `<id>:<secret>`.
    pub fn api_key_header(&self) -> SecretString {
        let raw = Zeroizing::new(format!("{}:{}", self.key_id, self.key_secret.expose_secret()));
        SecretString::from(STANDARD.encode(raw.as_bytes()))
    }
}

/// A new enrollment API key of `scope`, valid for `ttl` from `now_ms`, owned by the node's
/// internal user (first start) and limited, through its descriptor, to the scope's action.
/// Returns the id, the secret (shown once, in the token) and the record to store.
pub fn new_internal_key(
    scope: EnrollmentScope,
    ttl: Duration,
    now_ms: i64,
) -> Result<(String, SecretString, ApiKeyRecord), RandomError> {
    let id = new_api_key_id()?;
    let secret = new_api_key_secret()?;
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let record = ApiKeyRecord {
        name: new_key_name()?,
        secret_hash: hash_api_key_secret(&secret)?,
        creation: now_ms,
        expiration: Some(now_ms.saturating_add(ttl_ms)),
        invalidated: false,
        invalidation: None,
        username: INTERNAL_OWNER.to_owned(),
        realm: "__attach".to_owned(),
        realm_type: "__attach".to_owned(),
        metadata: Map::new(),
        role_descriptors: scope.role_descriptors(),
        limited_by_roles: vec!["superuser".to_owned()],
        limited_by: crate::authz::reserved_role_descriptor("superuser")
            .and_then(|d| serde_json::to_value(d).ok())
            .map(|d| Map::from_iter([("superuser".to_owned(), d)])),
        key_type: "rest".to_owned(),
    };
    Ok((id, secret, record))
}

/// A fresh enrollment key name: `enrollment_token_API_key_<20 random URL-safe characters>`.
pub fn new_key_name() -> Result<String, RandomError> {
    Ok(format!("{API_KEY_NAME_PREFIX}{}", new_api_key_id()?))
}

/// Marks a node enrollment key as used: invalidated now, with [`USED_METADATA`].
pub fn mark_used(record: &mut ApiKeyRecord, now_ms: i64) {
    record.invalidated = true;
    record.invalidation = Some(now_ms);
    record.metadata.insert(USED_METADATA.to_owned(), Value::Bool(true));
}

/// Why the realm chain refuses an enrollment key whose secret matched, worded for enrollment;
/// `None` for a usable key or a key that is not an enrollment key.
pub fn refusal(key_id: &str, record: &ApiKeyRecord, now_ms: i64) -> Option<EnrollmentError> {
    EnrollmentScope::of_key(&record.name, &record.role_descriptors)?;
    let used = record.metadata.get(USED_METADATA).and_then(Value::as_bool) == Some(true);
    if record.invalidated && used {
        return Some(EnrollmentError::AlreadyUsed { key_id: key_id.to_owned() });
    }
    if !record.invalidated && !record.is_active(now_ms) {
        return Some(EnrollmentError::Expired { key_id: key_id.to_owned() });
    }
    None
}

/// The standard base64 (with padding) used for DER fields of the enrollment responses.
pub fn encode_der(der: &[u8]) -> String {
    general_purpose::STANDARD.encode(der)
}

/// Decodes a base64 DER field of an enrollment response (either alphabet, padding optional).
pub fn decode_der(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    LENIENT_STANDARD.decode(t).or_else(|_| LENIENT_URL_SAFE.decode(t)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FGR: &str = "48034178aa672fe99deb325f6d01d411c9a7b873c75db6df296d7aa09b896ff3";

    fn token() -> EnrollmentToken {
        EnrollmentToken::new(
            "8.13.0",
            vec!["192.168.64.15:9200".into()],
            FGR.parse().unwrap(),
            "oG2bmo4B48D_fts5ckdH",
            SecretString::from("qG2LMlptT72nLPPzh0G8yw"),
        )
        .unwrap()
    }

    fn b64(json: &str) -> String {
        URL_SAFE.encode(json)
    }

    #[test]
    fn exact_layout_of_the_elasticsearch_example() {
        let t = token();
        let encoded = t.encode();
        let json = URL_SAFE.decode(encoded.expose_secret()).unwrap();
        // ES-FACTS §3.1: compact JSON, keys in this order.
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"ver":"8.13.0","adr":["192.168.64.15:9200"],"fgr":"48034178aa672fe99deb325f6d01d411c9a7b873c75db6df296d7aa09b896ff3","key":"oG2bmo4B48D_fts5ckdH:qG2LMlptT72nLPPzh0G8yw"}"#
        );
        // Base64 of that JSON, as Elasticsearch's Base64.getUrlEncoder() prints it.
        assert_eq!(
            encoded.expose_secret(),
            "eyJ2ZXIiOiI4LjEzLjAiLCJhZHIiOlsiMTkyLjE2OC42NC4xNTo5MjAwIl0sImZnciI6IjQ4MDM0MTc4YWE2NzJmZTk5ZGViMzI1ZjZkMDFkNDExYzlhN2I4NzNjNzVkYjZkZjI5NmQ3YWEwOWI4OTZmZjMiLCJrZXkiOiJvRzJibW80QjQ4RF9mdHM1Y2tkSDpxRzJMTWxwdFQ3Mm5MUFB6aDBHOHl3In0="
        );
        let back = EnrollmentToken::decode(encoded.expose_secret()).unwrap();
        assert_eq!(back.ver, "8.13.0");
        assert_eq!(back.adr, vec!["192.168.64.15:9200"]);
        assert_eq!(back.fgr.to_string(), FGR);
        assert_eq!(back.api_key().expose_secret(), "oG2bmo4B48D_fts5ckdH:qG2LMlptT72nLPPzh0G8yw");
        assert_eq!(back.api_key_id(), "oG2bmo4B48D_fts5ckdH");
        assert_eq!(
            back.api_key_header().expose_secret(),
            &STANDARD.encode("oG2bmo4B48D_fts5ckdH:qG2LMlptT72nLPPzh0G8yw")
        );
    }

    #[test]
    fn padding_and_alphabets() {
        // One address of a length that needs padding, with characters that map to '-'/'_'.
        for adr in
            ["10.0.0.1:9200", "10.0.0.12:9200", "10.0.0.123:9200", "[fe80::1]:9200", "node-1.example:9200"]
        {
            let t = EnrollmentToken::new(
                "8.19.0",
                vec![adr.into()],
                FGR.parse().unwrap(),
                "id",
                SecretString::from("s>?~"),
            )
            .unwrap();
            let text = t.encode().expose_secret().to_owned();
            assert_eq!(text.len() % 4, 0, "URL-safe base64 keeps its padding");
            assert!(!text.contains('+') && !text.contains('/'), "{text}");
            let unpadded = text.trim_end_matches('=');
            let standard = STANDARD.encode(URL_SAFE.decode(&text).unwrap());
            for variant in [text.as_str(), unpadded, standard.as_str(), &format!("  {text}\n")] {
                let back = EnrollmentToken::decode(variant).unwrap();
                assert_eq!(back.adr, vec![adr]);
                assert_eq!(back.api_key_secret().expose_secret(), "s>?~");
            }
        }
    }

    #[test]
    fn fingerprint_spellings_are_accepted_and_displayed_canonically() {
        let upper = FGR.to_uppercase();
        let t = EnrollmentToken::decode(&b64(&format!(
            r#"{{"ver":"8.19.0","adr":["10.0.0.1:9200"],"fgr":"{upper}","key":"a:b"}}"#
        )))
        .unwrap();
        assert_eq!(t.fgr.to_string(), FGR);
    }

    #[track_caller]
    fn refused(text: &str, needle: &str) {
        match EnrollmentToken::decode(text) {
            Err(e @ EnrollmentError::Malformed(_)) => {
                assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
                assert!(e.to_string().starts_with("malformed enrollment token: "), "{e}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn every_malformation_has_its_message() {
        let ok =
            r#"{"ver":"8.19.0","adr":["10.0.0.1:9200"],"fgr":"FGR","key":"id:secret"}"#.replace("FGR", FGR);
        assert!(EnrollmentToken::decode(&b64(&ok)).is_ok());
        refused("", "empty string");
        refused("   ", "empty string");
        refused("not base64!", "not base64");
        refused(&b64("{not json"), "does not hold JSON");
        refused(&b64("[1,2]"), "not hold a JSON object");
        refused(&b64(&ok.replace(r#""ver":"8.19.0","#, "")), "field [ver] is missing");
        refused(&b64(&ok.replace(r#""ver":"8.19.0""#, r#""ver":8"#)), "field [ver] is not a string");
        refused(&b64(&ok.replace(r#""ver":"8.19.0""#, r#""ver":"""#)), "field [ver] is empty");
        refused(&b64(&ok.replace(r#""adr":["10.0.0.1:9200"],"#, "")), "field [adr] is missing");
        refused(&b64(&ok.replace(r#"["10.0.0.1:9200"]"#, "[]")), "lists no address");
        refused(&b64(&ok.replace(r#"["10.0.0.1:9200"]"#, "[1]")), "must hold strings");
        refused(&b64(&ok.replace(r#"["10.0.0.1:9200"]"#, r#""10.0.0.1:9200""#)), "not a list");
        refused(&b64(&ok.replace("10.0.0.1:9200", "10.0.0.1")), "not host:port");
        refused(&b64(&ok.replace("10.0.0.1:9200", "10.0.0.1:http")), "no valid port");
        refused(&b64(&ok.replace("10.0.0.1:9200", "fe80::1:9200")), "does not name a host");
        refused(&b64(&ok.replace(FGR, "abcd")), "field [fgr] is not a SHA-256 fingerprint");
        refused(&b64(&ok.replace(r#""key":"id:secret""#, r#""key":"nocolon""#)), "field [key]");
        refused(&b64(&ok.replace(r#""key":"id:secret""#, r#""key":":secret""#)), "field [key]");
        refused(&b64(&ok.replace(r#""key":"id:secret""#, r#""key":"id:""#)), "field [key]");
        refused(&b64(&ok.replace('}', r#","extra":1}"#)), "unknown field [extra]");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let d = format!("{:?}", token());
        assert!(!d.contains("qG2LMlptT72nLPPzh0G8yw"), "{d}");
        assert!(d.contains("oG2bmo4B48D_fts5ckdH:[REDACTED]"), "{d}");
    }

    #[test]
    fn scopes_descriptors_and_key_recognition() {
        assert_eq!("kibana".parse::<EnrollmentScope>(), Ok(EnrollmentScope::Kibana));
        assert_eq!("node".parse::<EnrollmentScope>(), Ok(EnrollmentScope::Node));
        assert!("fleet".parse::<EnrollmentScope>().unwrap_err().contains("[kibana, node]"));
        assert_eq!(
            Value::Object(EnrollmentScope::Node.role_descriptors()),
            json!({"create_enrollment_token": {"cluster": ["cluster:admin/xpack/security/enroll/node"]}})
        );
        for s in EnrollmentScope::ALL {
            let name = new_key_name().unwrap();
            assert!(name.starts_with(API_KEY_NAME_PREFIX) && name.len() == API_KEY_NAME_PREFIX.len() + 20);
            assert_eq!(EnrollmentScope::of_key(&name, &s.role_descriptors()), Some(s));
            assert_eq!(EnrollmentScope::of_key("my-key", &s.role_descriptors()), None);
        }
        let broader = json!({"create_enrollment_token": {"cluster": ["cluster:admin/xpack/security/enroll/node", "all"]}});
        assert_eq!(EnrollmentScope::of_key(&new_key_name().unwrap(), broader.as_object().unwrap()), None);
        let with_indices = json!({"create_enrollment_token": {"cluster": ["cluster:admin/xpack/security/enroll/node"], "indices": [{"names": ["*"], "privileges": ["all"]}]}});
        assert_eq!(
            EnrollmentScope::of_key(&new_key_name().unwrap(), with_indices.as_object().unwrap()),
            None
        );
        // The descriptor compiles to a role granting exactly the scope's action.
        let d: crate::authz::RoleDescriptor =
            serde_json::from_value(EnrollmentScope::Kibana.role_descriptors()[ROLE_NAME].clone()).unwrap();
        let role = crate::authz::Role::compile(ROLE_NAME, &d).unwrap();
        assert!(role.grants_cluster(Action::EnrollKibana.name()));
        assert!(!role.grants_cluster(Action::EnrollNode.name()));
        assert!(!role.grants_cluster(Action::MonitorMain.name()));
    }

    #[test]
    fn internal_keys_expire_and_node_keys_are_used_once() {
        let now = 1_000_000;
        let (id, secret, mut rec) = new_internal_key(EnrollmentScope::Node, DEFAULT_TTL, now).unwrap();
        assert!(crate::authn::verify_api_key_secret(&rec.secret_hash, &secret));
        assert_eq!(rec.expiration, Some(now + 30 * 60 * 1000));
        assert_eq!(rec.username, INTERNAL_OWNER);
        assert!(refusal(&id, &rec, now + 1).is_none());
        assert_eq!(
            refusal(&id, &rec, now + 30 * 60 * 1000),
            Some(EnrollmentError::Expired { key_id: id.clone() })
        );
        mark_used(&mut rec, now + 5);
        assert!(rec.invalidated && rec.invalidation == Some(now + 5));
        let e = refusal(&id, &rec, now + 6).unwrap();
        assert_eq!(e, EnrollmentError::AlreadyUsed { key_id: id.clone() });
        assert!(e.to_string().contains("already used"), "{e}");
        // Invalidated by an administrator (not used): the realm chain's usual wording applies.
        rec.metadata.clear();
        assert!(refusal(&id, &rec, now + 6).is_none());
        // Not an enrollment key: no opinion.
        rec.name = "other".into();
        rec.invalidated = false;
        assert!(refusal(&id, &rec, i64::MAX).is_none());
    }

    #[test]
    fn der_fields_round_trip() {
        let der = [0x30u8, 0x82, 0xfb, 0xff, 0x00];
        let s = encode_der(&der);
        assert_eq!(decode_der(&s).unwrap(), der);
        assert_eq!(decode_der(s.trim_end_matches('=')).unwrap(), der);
        assert_eq!(decode_der(&URL_SAFE.encode(der)).unwrap(), der);
        assert!(decode_der("!!").is_err());
    }
}
