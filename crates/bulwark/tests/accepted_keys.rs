//! Issue 13: nothing accepted is silently ignored. Every key the node's parsers accept is
//! enumerated from the parsers' own lists (or, for serde structs, from the struct's fields), and
//! each one has a row here: a check that it changes an answer of the real node, or that it is
//! refused naming it. A key without a row, and a row without a key, fail the test.

#[path = "accepted_keys/index.rs"]
mod index;
#[path = "accepted_keys/queries.rs"]
mod queries;
#[path = "accepted_keys/security.rs"]
mod security;
#[path = "accepted_keys/templates.rs"]
mod templates;

use bulwark_testkit::{Client, TestHome, start_fresh};
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Value, json};

use index::{INDEX_SETTINGS, LOCKOUT_SETTINGS, MAPPING_LEAF, MAPPING_OBJECT, MAPPING_ROOT, SETTINGS};
use security::{
    API_KEY_CREATE, API_KEY_GRANT, API_KEY_UPDATE, APP_PRIVILEGE, PASSWORD, ROLE, ROLE_APPLICATION,
    ROLE_FIELD_SECURITY, ROLE_INDICES, ROLE_MAPPING, TOKEN_INVALIDATE, TOKEN_REQUEST, USER,
};

/// A password every test user gets.
pub const PW: &str = "accepted-keys-pw-1";

/// The node and an `elastic` client.
pub struct Ctx {
    pub port: u16,
    client: Client,
    pub elastic: String,
}

/// A check: panics when the key is not enforced (or not refused) as its row says.
pub type Check = fn(&Ctx);

impl Ctx {
    /// `method path` with `auth` and optional extra header: (status, JSON body).
    pub fn call_h(
        &self,
        auth: &str,
        header: Option<(&str, &str)>,
        method: &str,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let headers: Vec<(&str, &str)> = header.into_iter().collect();
        let body = (!body.is_null()).then_some(body);
        let (status, _, body) = self.client.call_with(method, path, auth, &headers, body).expect("request");
        (status, body)
    }

    pub fn call(&self, auth: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
        self.call_h(auth, None, method, path, body)
    }

    /// As `elastic`, expecting a 2xx.
    pub fn admin(&self, method: &str, path: &str, body: &Value) -> Value {
        let (status, v) = self.call(&self.elastic, method, path, body);
        assert!((200..300).contains(&status), "{method} {path} {body}: {status} {v}");
        v
    }

    /// Saves role `name` and user `name` (password [`PW`]) holding it; the user's `Authorization`.
    pub fn user_with_role(&self, name: &str, role: &Value) -> String {
        self.admin("PUT", &format!("/_security/role/{name}"), role);
        self.admin("PUT", &format!("/_security/user/{name}"), &json!({"password": PW, "roles": [name]}));
        basic(name, PW)
    }
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// Asserts a 400 whose reason names `key`.
pub fn refused(answer: (u16, Value), key: &str) {
    let (status, v) = answer;
    assert_eq!(status, 400, "[{key}] should be refused: {v}");
    let reason = v["error"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(key), "the refusal names [{key}]: {v}");
    let ty = v["error"]["type"].as_str().unwrap_or_default();
    assert!(
        [
            "x_content_parse_exception",
            "illegal_argument_exception",
            "mapper_parsing_exception",
            "action_request_validation_exception",
            "parse_exception"
        ]
        .contains(&ty),
        "{v}"
    );
}

/// The fields of a serde struct, as its `Deserialize` implementation declares them.
fn fields_of<T: DeserializeOwned>() -> Vec<String> {
    struct Recorder<'a>(&'a mut Vec<String>);
    impl<'de> de::Deserializer<'de> for Recorder<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend(fields.iter().map(|f| (*f).to_owned()));
            Err(de::Error::custom("recorded"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut out = Vec::new();
    let _ = T::deserialize(Recorder(&mut out));
    assert!(!out.is_empty(), "{} declares no fields", std::any::type_name::<T>());
    out
}

fn strs(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

/// A family: its name, the keys its parser accepts, and its rows.
type Family = (&'static str, Vec<String>, Vec<(&'static str, Check)>);

/// Every family.
fn families() -> Vec<Family> {
    use bulwark_index::mapping_params::{LEAF_PARAMS, OBJECT_PARAMS, ROOT_PARAMS};
    use bulwark_security::authz::{ApplicationPrivileges, FieldSecurity, IndicesPrivileges, RoleDescriptor};
    let table = |t: &[(&str, bulwark_index::mapping_params::ParamRule)]| {
        t.iter().map(|(k, _)| (*k).to_owned()).collect()
    };
    let security_settings = bulwark_settings::Settings::known_keys()
        .into_iter()
        .filter(|k| k.starts_with("xpack.security."))
        .collect();
    vec![
        ("user", strs(bulwark_rest::api::user::USER_FIELDS), USER.to_vec()),
        ("user password", strs(bulwark_rest::api::user::PASSWORD_FIELDS), PASSWORD.to_vec()),
        ("role", fields_of::<RoleDescriptor>(), ROLE.to_vec()),
        ("role indices", fields_of::<IndicesPrivileges>(), ROLE_INDICES.to_vec()),
        ("role field_security", fields_of::<FieldSecurity>(), ROLE_FIELD_SECURITY.to_vec()),
        ("role applications", fields_of::<ApplicationPrivileges>(), ROLE_APPLICATION.to_vec()),
        ("api key create", strs(bulwark_rest::api::api_key::CREATE_KEY_FIELDS), API_KEY_CREATE.to_vec()),
        ("api key grant", strs(bulwark_rest::api::api_key::GRANT_KEY_FIELDS), API_KEY_GRANT.to_vec()),
        ("api key update", strs(bulwark_rest::api::api_key::UPDATE_KEY_FIELDS), API_KEY_UPDATE.to_vec()),
        ("role mapping", strs(bulwark_security::authn::RoleMapping::FIELDS), ROLE_MAPPING.to_vec()),
        (
            "security query",
            strs(bulwark_rest::security_query::QUERY_FIELDS),
            queries::SECURITY_QUERY.to_vec(),
        ),
        (
            "api key query",
            strs(bulwark_rest::api::api_key::QUERY_KEY_FIELDS),
            queries::API_KEY_QUERY.to_vec(),
        ),
        (
            "application privilege",
            strs(bulwark_rest::api::privilege::PRIVILEGE_FIELDS),
            APP_PRIVILEGE.to_vec(),
        ),
        ("token request", strs(bulwark_rest::api::token::TOKEN_FIELDS), TOKEN_REQUEST.to_vec()),
        ("token invalidation", strs(bulwark_rest::api::token::INVALIDATE_FIELDS), TOKEN_INVALIDATE.to_vec()),
        (
            "index setting",
            bulwark_rest::api::settings::accepted_settings().map(str::to_owned).collect(),
            INDEX_SETTINGS.to_vec(),
        ),
        ("mapping leaf parameter", table(LEAF_PARAMS), MAPPING_LEAF.to_vec()),
        ("mapping object parameter", table(OBJECT_PARAMS), MAPPING_OBJECT.to_vec()),
        ("mapping root parameter", table(ROOT_PARAMS), MAPPING_ROOT.to_vec()),
        ("security setting", security_settings, [SETTINGS, LOCKOUT_SETTINGS].concat()),
        (
            "index template",
            strs(bulwark_rest::templates::INDEX_TEMPLATE_FIELDS),
            templates::INDEX_TEMPLATE.to_vec(),
        ),
        (
            "component template",
            strs(bulwark_rest::templates::COMPONENT_TEMPLATE_FIELDS),
            templates::COMPONENT_TEMPLATE.to_vec(),
        ),
        (
            "template part",
            strs(bulwark_rest::templates::TEMPLATE_PART_FIELDS),
            templates::TEMPLATE_PART.to_vec(),
        ),
        (
            "data stream template",
            strs(bulwark_rest::templates::DATA_STREAM_TEMPLATE_FIELDS),
            templates::DATA_STREAM_TEMPLATE.to_vec(),
        ),
        (
            "lifecycle request",
            strs(bulwark_rest::api::ilm::REQUEST_FIELDS),
            templates::LIFECYCLE_REQUEST.to_vec(),
        ),
        (
            "lifecycle policy",
            strs(bulwark_rest::api::ilm::POLICY_FIELDS),
            templates::LIFECYCLE_POLICY.to_vec(),
        ),
        ("lifecycle phase", strs(bulwark_rest::api::ilm::PHASE_FIELDS), templates::LIFECYCLE_PHASE.to_vec()),
    ]
}

#[test]
fn every_accepted_key_has_a_row() {
    let mut problems = Vec::new();
    for (family, keys, rows) in families() {
        for k in &keys {
            if !rows.iter().any(|(r, _)| r == k) {
                problems.push(format!("{family} [{k}] is accepted but has no row"));
            }
        }
        for (r, _) in &rows {
            if !keys.iter().any(|k| k == r) {
                problems.push(format!("{family} row [{r}] is not a key the parser accepts"));
            }
            if rows.iter().filter(|(o, _)| o == r).count() > 1 {
                problems.push(format!("{family} row [{r}] is listed twice"));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_accepted_key_is_enforced_or_refused() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let client = Client::new(s.port, Some(&s.ca));
    let ctx = Ctx { port: s.port, client, elastic: basic("elastic", &s.password) };
    ctx.admin("PUT", "/kt", &json!({"mappings": {"properties": {"a": {"type": "keyword"}, "b": {"type": "keyword"}, "n": {"type": "long"}}}}));
    ctx.admin("PUT", "/kt/_doc/1?refresh=true", &json!({"a": "x", "b": "y", "n": 1}));
    ctx.admin("PUT", "/kt/_doc/2?refresh=true", &json!({"a": "z", "b": "w", "n": 2}));
    let mut failed = Vec::new();
    for (family, _, rows) in families() {
        for (key, check) in rows {
            if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&ctx))) {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failed.push(format!("{family} [{key}]: {msg}"));
            }
        }
    }
    s.node.stop();
    assert!(failed.is_empty(), "\n{}", failed.join("\n"));
}
