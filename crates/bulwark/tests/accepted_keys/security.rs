//! Rows for the security documents: users, roles, API keys, role mappings.

use serde_json::{Value, json};

use super::{Check, Ctx, PW, basic, refused};

/// Hits of a search of `kt` as `auth` (`None` when the search is not allowed).
/// A bcrypt hash (cost 4) of `password`, as a client would send it in `password_hash`.
fn bcrypt_hash(password: &str) -> String {
    bulwark_security::authn::PasswordHash::create(
        &password.to_owned().into(),
        bulwark_settings::values::PasswordHashing::Bcrypt { cost: 4 },
    )
    .expect("hash")
    .as_str()
    .to_owned()
}

fn search(ctx: &Ctx, auth: &str, body: &Value) -> Option<Vec<Value>> {
    let (status, v) = ctx.call(auth, "POST", "/kt/_search", body);
    (status == 200).then(|| v["hits"]["hits"].as_array().cloned().unwrap_or_default())
}

fn reader(names: &[&str]) -> Value {
    json!({"indices": [{"names": names, "privileges": ["read"]}]})
}

/// `GET path` as elastic; `pointer` in the answer must equal `want`.
fn shows(ctx: &Ctx, path: &str, pointer: &str, want: &Value) {
    let v = ctx.admin("GET", path, &Value::Null);
    assert_eq!(v.pointer(pointer), Some(want), "{path}{pointer}: {v}");
}

pub const USER: &[(&str, Check)] = &[
    ("username", |c| {
        refused(
            c.call(
                &c.elastic,
                "PUT",
                "/_security/user/u_name",
                &json!({"username": "other", "password": PW, "roles": []}),
            ),
            "other",
        );
    }),
    ("password", |c| {
        c.admin("PUT", "/_security/user/u_pw", &json!({"password": PW, "roles": []}));
        assert_eq!(c.call(&basic("u_pw", PW), "GET", "/_security/_authenticate", &Value::Null).0, 200);
        assert_eq!(
            c.call(&basic("u_pw", "wrong-password-1"), "GET", "/_security/_authenticate", &Value::Null).0,
            401
        );
    }),
    ("password_hash", |c| {
        let h = bcrypt_hash("hashed-password-1");
        c.admin("PUT", "/_security/user/u_hash", &json!({"password_hash": h, "roles": []}));
        assert_eq!(
            c.call(&basic("u_hash", "hashed-password-1"), "GET", "/_security/_authenticate", &Value::Null).0,
            200
        );
    }),
    ("roles", |c| {
        c.admin("PUT", "/_security/role/kt_reader", &reader(&["kt"]));
        c.admin("PUT", "/_security/user/u_roles", &json!({"password": PW, "roles": ["kt_reader"]}));
        c.admin("PUT", "/_security/user/u_noroles", &json!({"password": PW, "roles": []}));
        assert!(search(c, &basic("u_roles", PW), &json!({})).is_some());
        assert!(search(c, &basic("u_noroles", PW), &json!({})).is_none());
    }),
    ("full_name", |c| {
        c.admin(
            "PUT",
            "/_security/user/u_fn",
            &json!({"password": PW, "roles": [], "full_name": "Ann Example"}),
        );
        let (_, v) = c.call(&basic("u_fn", PW), "GET", "/_security/_authenticate", &Value::Null);
        assert_eq!(v["full_name"], "Ann Example", "{v}");
    }),
    ("email", |c| {
        c.admin(
            "PUT",
            "/_security/user/u_em",
            &json!({"password": PW, "roles": [], "email": "a@example.com"}),
        );
        let (_, v) = c.call(&basic("u_em", PW), "GET", "/_security/_authenticate", &Value::Null);
        assert_eq!(v["email"], "a@example.com", "{v}");
    }),
    ("metadata", |c| {
        c.admin(
            "PUT",
            "/_security/user/u_md",
            &json!({"password": PW, "roles": [], "metadata": {"team": "t"}}),
        );
        shows(c, "/_security/user/u_md", "/u_md/metadata/team", &json!("t"));
        refused(
            c.call(
                &c.elastic,
                "PUT",
                "/_security/user/u_md",
                &json!({"password": PW, "roles": [], "metadata": {"_x": 1}}),
            ),
            "[_]",
        );
    }),
    ("enabled", |c| {
        c.admin("PUT", "/_security/user/u_off", &json!({"password": PW, "roles": [], "enabled": false}));
        assert_eq!(c.call(&basic("u_off", PW), "GET", "/_security/_authenticate", &Value::Null).0, 401);
        refused(
            c.call(
                &c.elastic,
                "PUT",
                "/_security/user/u_off",
                &json!({"password": PW, "roles": [], "enabled": "false"}),
            ),
            "enabled",
        );
    }),
];

pub const PASSWORD: &[(&str, Check)] = &[
    ("password", |c| {
        c.admin("PUT", "/_security/user/u_cp", &json!({"password": PW, "roles": []}));
        c.admin("POST", "/_security/user/u_cp/_password", &json!({"password": "changed-password-1"}));
        assert_eq!(c.call(&basic("u_cp", PW), "GET", "/_security/_authenticate", &Value::Null).0, 401);
        assert_eq!(
            c.call(&basic("u_cp", "changed-password-1"), "GET", "/_security/_authenticate", &Value::Null).0,
            200
        );
    }),
    ("password_hash", |c| {
        let h = bcrypt_hash("changed-hash-1");
        c.admin("PUT", "/_security/user/u_ch", &json!({"password": PW, "roles": []}));
        c.admin("POST", "/_security/user/u_ch/_password", &json!({"password_hash": h}));
        assert_eq!(
            c.call(&basic("u_ch", "changed-hash-1"), "GET", "/_security/_authenticate", &Value::Null).0,
            200
        );
    }),
];

pub const ROLE: &[(&str, Check)] = &[
    ("cluster", |c| {
        let with = c.user_with_role("r_cl", &json!({"cluster": ["monitor"]}));
        let without = c.user_with_role("r_nocl", &json!({}));
        assert_eq!(c.call(&with, "GET", "/_cluster/health", &Value::Null).0, 200);
        assert_eq!(c.call(&without, "GET", "/_cluster/health", &Value::Null).0, 403);
    }),
    ("indices", |c| {
        let with = c.user_with_role("r_ix", &reader(&["kt"]));
        assert_eq!(search(c, &with, &json!({})).map(|h| h.len()), Some(2));
        let without = c.user_with_role("r_noix", &json!({"indices": []}));
        assert!(search(c, &without, &json!({})).is_none());
    }),
    ("index", |c| {
        // Elasticsearch's synonym of `indices`, stored and shown as `indices`.
        let with = c.user_with_role("r_ixs", &json!({"index": [{"names": ["kt"], "privileges": ["read"]}]}));
        assert_eq!(search(c, &with, &json!({})).map(|h| h.len()), Some(2));
        shows(c, "/_security/role/r_ixs", "/r_ixs/indices/0/names/0", &json!("kt"));
    }),
    ("applications", |c| {
        // A privilege name stands for a stored privilege's actions (unknown names grant nothing).
        c.admin("PUT", "/_security/privilege", &json!({"app": {"read": {"actions": ["data:read/*"]}}}));
        let auth = c.user_with_role(
            "r_app",
            &json!({"applications": [{"application": "app", "privileges": ["read"], "resources": ["res"]}]}),
        );
        let (_, v) = c.call(&auth, "POST", "/_security/user/_has_privileges", &json!({"application": [{"application": "app", "privileges": ["read", "write"], "resources": ["res"]}]}));
        assert_eq!(v["application"]["app"]["res"], json!({"read": true, "write": false}), "{v}");
    }),
    ("run_as", |c| {
        c.admin("PUT", "/_security/user/ra_target", &json!({"password": PW, "roles": []}));
        let with = c.user_with_role("r_ra", &json!({"run_as": ["ra_target"]}));
        let without = c.user_with_role("r_nora", &json!({"run_as": ["someone_else"]}));
        let h = Some(("es-security-runas-user", "ra_target"));
        let (status, v) = c.call_h(&with, h, "GET", "/_security/_authenticate", &Value::Null);
        assert_eq!((status, v["username"].clone()), (200, json!("ra_target")), "{v}");
        assert_eq!(c.call_h(&without, h, "GET", "/_security/_authenticate", &Value::Null).0, 403);
    }),
    ("metadata", |c| {
        c.admin("PUT", "/_security/role/r_md", &json!({"metadata": {"k": "v"}}));
        shows(c, "/_security/role/r_md", "/r_md/metadata/k", &json!("v"));
        refused(c.call(&c.elastic, "PUT", "/_security/role/r_md", &json!({"metadata": {"_k": "v"}})), "[_]");
    }),
    ("transient_metadata", |c| {
        let auth = c.user_with_role("r_tm", &json!({"indices": [{"names": ["kt"], "privileges": ["read"]}], "transient_metadata": {"enabled": false}}));
        assert!(search(c, &auth, &json!({})).is_none(), "a disabled role grants nothing");
    }),
    ("description", |c| {
        c.admin("PUT", "/_security/role/r_desc", &json!({"description": "what it is for"}));
        shows(c, "/_security/role/r_desc", "/r_desc/description", &json!("what it is for"));
    }),
    ("remote_indices", |c| {
        let body = json!({"remote_indices": [{"clusters": ["*"], "names": ["*"], "privileges": ["read"]}]});
        refused(c.call(&c.elastic, "PUT", "/_security/role/r_ri", &body), "remote_indices");
    }),
    ("remote_cluster", |c| {
        let body = json!({"remote_cluster": [{"clusters": ["*"], "privileges": ["monitor_enrich"]}]});
        refused(c.call(&c.elastic, "PUT", "/_security/role/r_rc", &body), "remote_cluster");
    }),
    ("global", |c| {
        let body = json!({"global": {"application": {"manage": {"applications": ["*"]}}}});
        refused(c.call(&c.elastic, "PUT", "/_security/role/r_gl", &body), "global");
    }),
];

pub const ROLE_INDICES: &[(&str, Check)] = &[
    ("names", |c| {
        let other = c.user_with_role("r_names", &reader(&["other*"]));
        assert!(search(c, &other, &json!({})).is_none());
    }),
    ("privileges", |c| {
        let auth = c.user_with_role("r_privs", &reader(&["kt"]));
        assert!(search(c, &auth, &json!({})).is_some());
        assert_eq!(c.call(&auth, "PUT", "/kt/_doc/9", &json!({"a": "q"})).0, 403);
    }),
    ("field_security", |c| {
        let auth = c.user_with_role("r_fs", &json!({"indices": [{"names": ["kt"], "privileges": ["read"], "field_security": {"grant": ["a"]}}]}));
        let hits = search(c, &auth, &json!({"query": {"term": {"a": "x"}}})).expect("allowed");
        assert_eq!(hits[0]["_source"], json!({"a": "x"}));
    }),
    ("query", |c| {
        let auth = c.user_with_role(
            "r_q",
            &json!({"indices": [{"names": ["kt"], "privileges": ["read"], "query": {"term": {"a": "x"}}}]}),
        );
        assert_eq!(search(c, &auth, &json!({})).map(|h| h.len()), Some(1));
    }),
    ("allow_restricted_indices", |c| {
        let role = |allow: bool| json!({"indices": [{"names": ["*"], "privileges": ["read"], "allow_restricted_indices": allow}]});
        let with = c.user_with_role("r_ari", &role(true));
        let without = c.user_with_role("r_noari", &role(false));
        let (s_with, _) = c.call(&with, "GET", "/.security/_search", &Value::Null);
        let (s_without, _) = c.call(&without, "GET", "/.security/_search", &Value::Null);
        assert_eq!(s_without, 403);
        assert_ne!(s_with, 403);
    }),
];

pub const ROLE_FIELD_SECURITY: &[(&str, Check)] = &[
    ("grant", |c| {
        let auth = c.user_with_role("r_fsg", &json!({"indices": [{"names": ["kt"], "privileges": ["read"], "field_security": {"grant": ["b"]}}]}));
        assert_eq!(
            search(c, &auth, &json!({"query": {"term": {"b": "y"}}})).expect("allowed")[0]["_source"],
            json!({"b": "y"})
        );
    }),
    ("except", |c| {
        let auth = c.user_with_role("r_fse", &json!({"indices": [{"names": ["kt"], "privileges": ["read"], "field_security": {"grant": ["*"], "except": ["b"]}}]}));
        assert_eq!(
            search(c, &auth, &json!({"query": {"term": {"a": "x"}}})).expect("allowed")[0]["_source"],
            json!({"a": "x", "n": 1})
        );
    }),
];

/// `_has_privileges` of a user holding one application grant, varied in one key.
fn app_check(c: &Ctx, name: &str, grant: Value) {
    let auth = c.user_with_role(name, &json!({"applications": [grant]}));
    let (_, v) = c.call(
        &auth,
        "POST",
        "/_security/user/_has_privileges",
        &json!({"application": [{"application": "app", "privileges": ["read"], "resources": ["res"]}]}),
    );
    assert_eq!(v["application"]["app"]["res"]["read"], false, "{v}");
}

pub const ROLE_APPLICATION: &[(&str, Check)] = &[
    ("application", |c| {
        app_check(c, "r_app_a", json!({"application": "other", "privileges": ["read"], "resources": ["res"]}))
    }),
    ("privileges", |c| {
        app_check(c, "r_app_p", json!({"application": "app", "privileges": ["write"], "resources": ["res"]}))
    }),
    ("resources", |c| {
        app_check(c, "r_app_r", json!({"application": "app", "privileges": ["read"], "resources": ["other"]}))
    }),
];

fn api_key(auth: &str) -> String {
    format!("ApiKey {auth}")
}

/// Creates a key as elastic; (id, `Authorization`).
fn create_key(c: &Ctx, body: &Value) -> (String, String) {
    let v = c.admin("POST", "/_security/api_key", body);
    (v["id"].as_str().expect("id").to_owned(), api_key(v["encoded"].as_str().expect("encoded")))
}

pub const API_KEY_CREATE: &[(&str, Check)] = &[
    ("name", |c| {
        let (id, _) = create_key(c, &json!({"name": "named-key"}));
        shows(c, &format!("/_security/api_key?id={id}"), "/api_keys/0/name", &json!("named-key"));
        refused(c.call(&c.elastic, "POST", "/_security/api_key", &json!({})), "name");
    }),
    ("expiration", |c| {
        let (_, auth) = create_key(c, &json!({"name": "short", "expiration": "1s"}));
        assert_eq!(c.call(&auth, "GET", "/_security/_authenticate", &Value::Null).0, 200);
        std::thread::sleep(std::time::Duration::from_millis(1300));
        assert_eq!(c.call(&auth, "GET", "/_security/_authenticate", &Value::Null).0, 401);
    }),
    ("role_descriptors", |c| {
        let (_, auth) = create_key(c, &json!({"name": "limited", "role_descriptors": {"none": {}}}));
        assert!(search(c, &auth, &json!({})).is_none(), "elastic can search kt, the key cannot");
    }),
    ("metadata", |c| {
        let (id, _) = create_key(c, &json!({"name": "md", "metadata": {"k": "v"}}));
        shows(c, &format!("/_security/api_key?id={id}"), "/api_keys/0/metadata/k", &json!("v"));
    }),
];

fn grant(c: &Ctx, body: &Value) -> (u16, Value) {
    c.call(&c.elastic, "POST", "/_security/api_key/grant", body)
}

pub const API_KEY_GRANT: &[(&str, Check)] = &[
    ("grant_type", |c| {
        refused(
            grant(
                c,
                &json!({"grant_type": "nonsense", "username": "u_pw", "password": PW, "api_key": {"name": "g"}}),
            ),
            "grant_type",
        )
    }),
    ("username", |c| {
        c.admin("PUT", "/_security/user/u_grant", &json!({"password": PW, "roles": []}));
        let (status, v) = grant(
            c,
            &json!({"grant_type": "password", "username": "u_grant", "password": PW, "api_key": {"name": "g"}}),
        );
        assert_eq!(status, 200, "{v}");
        let id = v["id"].as_str().expect("id");
        shows(c, &format!("/_security/api_key?id={id}"), "/api_keys/0/username", &json!("u_grant"));
    }),
    ("password", |c| {
        let (status, v) = grant(
            c,
            &json!({"grant_type": "password", "username": "u_grant", "password": "wrong-password-1", "api_key": {"name": "g"}}),
        );
        assert_ne!(status, 200, "{v}");
    }),
    ("access_token", |c| {
        let (status, v) = grant(
            c,
            &json!({"grant_type": "access_token", "access_token": "bm9wZQ", "api_key": {"name": "g"}}),
        );
        assert_eq!(status, 401, "an unknown access token: {v}");
        let t = c.admin("POST", "/_security/oauth2/token", &json!({"grant_type": "client_credentials"}));
        let (status, v) = grant(
            c,
            &json!({"grant_type": "access_token", "access_token": t["access_token"], "api_key": {"name": "g"}}),
        );
        assert_eq!(status, 200, "{v}");
        let id = v["id"].as_str().expect("id");
        shows(c, &format!("/_security/api_key?id={id}"), "/api_keys/0/username", &json!("elastic"));
    }),
    ("run_as", |c| {
        refused(
            grant(
                c,
                &json!({"grant_type": "password", "username": "u_grant", "password": PW, "run_as": "u_pw", "api_key": {"name": "g"}}),
            ),
            "run_as",
        );
    }),
    ("api_key", |c| {
        let (status, v) = grant(
            c,
            &json!({"grant_type": "password", "username": "u_grant", "password": PW, "api_key": {"name": "granted-name"}}),
        );
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["name"], "granted-name", "{v}");
    }),
];

pub const API_KEY_UPDATE: &[(&str, Check)] = &[
    ("role_descriptors", |c| {
        let (id, auth) = create_key(c, &json!({"name": "upd"}));
        assert!(search(c, &auth, &json!({})).is_some());
        c.admin("PUT", &format!("/_security/api_key/{id}"), &json!({"role_descriptors": {"none": {}}}));
        assert!(search(c, &auth, &json!({})).is_none());
    }),
    ("metadata", |c| {
        let (id, _) = create_key(c, &json!({"name": "upd-md"}));
        c.admin("PUT", &format!("/_security/api_key/{id}"), &json!({"metadata": {"k": "v2"}}));
        shows(c, &format!("/_security/api_key?id={id}"), "/api_keys/0/metadata/k", &json!("v2"));
    }),
    ("expiration", |c| {
        let (id, auth) = create_key(c, &json!({"name": "upd-exp"}));
        c.admin("PUT", &format!("/_security/api_key/{id}"), &json!({"expiration": "1s"}));
        std::thread::sleep(std::time::Duration::from_millis(1300));
        assert_eq!(c.call(&auth, "GET", "/_security/_authenticate", &Value::Null).0, 401);
    }),
];

/// Role mappings apply to PKI users only; their enforcement is tested with real client
/// certificates in `tls.rs`. Here: each field is validated (a wrong value is refused naming it)
/// and kept.
fn mapping(c: &Ctx, name: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({"roles": ["r"], "rules": {"field": {"username": "*"}}, "enabled": true});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    if body["role_templates"].is_object() || body.get("role_templates").is_some() {
        body.as_object_mut().expect("object").remove("roles");
    }
    c.call(&c.elastic, "PUT", &format!("/_security/role_mapping/{name}"), &body)
}

pub const ROLE_MAPPING: &[(&str, Check)] = &[
    ("roles", |c| refused(mapping(c, "m1", json!({"roles": "r"})), "roles")),
    ("role_templates", |c| refused(mapping(c, "m2", json!({"role_templates": "x"})), "role_templates")),
    ("rules", |c| {
        let (status, _) = mapping(c, "m3", json!({"rules": {"nonsense": {}}}));
        assert_eq!(status, 400);
    }),
    ("enabled", |c| refused(mapping(c, "m4", json!({"enabled": "yes"})), "enabled")),
    ("metadata", |c| {
        assert_eq!(mapping(c, "m5", json!({"metadata": {"k": "v"}})).0, 200);
        shows(c, "/_security/role_mapping/m5", "/m5/metadata/k", &json!("v"));
    }),
];

fn token(c: &Ctx, body: &Value) -> (u16, Value) {
    c.call(&c.elastic, "POST", "/_security/oauth2/token", body)
}

/// An OAuth2 refusal (`{"error", "error_description"}`) naming `key`.
fn oauth_refused(answer: (u16, Value), key: &str) {
    let (status, v) = answer;
    assert_eq!(status, 400, "[{key}] should be refused: {v}");
    assert!(
        v["error_description"].as_str().unwrap_or_default().contains(key),
        "the refusal names [{key}]: {v}"
    );
}

pub const TOKEN_REQUEST: &[(&str, Check)] = &[
    ("grant_type", |c| oauth_refused(token(c, &json!({"grant_type": "nonsense"})), "grant_type")),
    ("username", |c| {
        c.admin("PUT", "/_security/user/u_tok", &json!({"password": PW, "roles": []}));
        let (status, v) = token(c, &json!({"grant_type": "password", "username": "u_tok", "password": PW}));
        assert_eq!((status, &v["authentication"]["username"]), (200, &json!("u_tok")), "{v}");
    }),
    ("password", |c| {
        let (status, v) =
            token(c, &json!({"grant_type": "password", "username": "u_tok", "password": "wrong-password-1"}));
        assert_eq!(status, 401, "{v}");
    }),
    ("kerberos_ticket", |c| {
        oauth_refused(token(c, &json!({"grant_type": "_kerberos", "kerberos_ticket": "YQ=="})), "_kerberos")
    }),
    ("scope", |c| {
        let (_, v) = token(c, &json!({"grant_type": "client_credentials", "scope": "anything"}));
        assert_eq!(v["scope"], "full", "{v}");
        let (_, v) = token(c, &json!({"grant_type": "client_credentials"}));
        assert!(v.get("scope").is_none(), "{v}");
    }),
    ("refresh_token", |c| {
        let (_, v) = token(c, &json!({"grant_type": "password", "username": "u_tok", "password": PW}));
        let (status, v) =
            token(c, &json!({"grant_type": "refresh_token", "refresh_token": v["refresh_token"]}));
        assert_eq!((status, &v["authentication"]["username"]), (200, &json!("u_tok")), "{v}");
    }),
];

fn invalidate(c: &Ctx, body: &Value) -> (u16, Value) {
    c.call(&c.elastic, "DELETE", "/_security/oauth2/token", body)
}

pub const TOKEN_INVALIDATE: &[(&str, Check)] = &[
    ("token", |c| {
        let (_, v) = token(c, &json!({"grant_type": "client_credentials"}));
        let (status, v) = invalidate(c, &json!({"token": v["access_token"]}));
        assert_eq!((status, &v["invalidated_tokens"]), (200, &json!(1)), "{v}");
    }),
    ("refresh_token", |c| {
        c.admin("PUT", "/_security/user/u_inv", &json!({"password": PW, "roles": []}));
        let (_, v) = token(c, &json!({"grant_type": "password", "username": "u_inv", "password": PW}));
        let (status, v) = invalidate(c, &json!({"refresh_token": v["refresh_token"]}));
        assert_eq!((status, &v["invalidated_tokens"]), (200, &json!(1)), "{v}");
    }),
    ("realm_name", |c| {
        let (status, v) = invalidate(c, &json!({"realm_name": "no_such_realm"}));
        assert_eq!((status, &v["invalidated_tokens"]), (200, &json!(0)), "{v}");
        c.admin("PUT", "/_security/user/u_realm", &json!({"password": PW, "roles": []}));
        token(c, &json!({"grant_type": "password", "username": "u_realm", "password": PW}));
        let (_, v) = invalidate(c, &json!({"realm_name": "default_native", "username": "u_realm"}));
        assert_eq!(v["invalidated_tokens"], 2, "{v}");
    }),
    ("username", |c| {
        c.admin("PUT", "/_security/user/u_name", &json!({"password": PW, "roles": []}));
        token(c, &json!({"grant_type": "password", "username": "u_name", "password": PW}));
        let (_, v) = invalidate(c, &json!({"username": "u_name"}));
        assert_eq!(v["invalidated_tokens"], 2, "{v}");
    }),
];

fn put_privilege(c: &Ctx, privilege: &Value) -> (u16, Value) {
    c.call(&c.elastic, "PUT", "/_security/privilege", &json!({"keysapp": {"p1": privilege}}))
}

pub const APP_PRIVILEGE: &[(&str, Check)] = &[
    ("application", |c| {
        refused(put_privilege(c, &json!({"application": "otherapp", "actions": ["a:b"]})), "application")
    }),
    ("name", |c| refused(put_privilege(c, &json!({"name": "p2", "actions": ["a:b"]})), "name")),
    ("actions", |c| {
        c.admin("PUT", "/_security/privilege", &json!({"keysapp": {"p1": {"actions": ["data:read/*"]}}}));
        let auth = c.user_with_role(
            "r_keysapp",
            &json!({"applications": [{"application": "keysapp", "privileges": ["p1"], "resources": ["*"]}]}),
        );
        let (_, v) = c.call(
            &auth,
            "POST",
            "/_security/user/_has_privileges",
            &json!({"application": [{"application": "keysapp", "privileges": ["data:read/x", "data:write/x"], "resources": ["r"]}]}),
        );
        assert_eq!(
            v["application"]["keysapp"]["r"],
            json!({"data:read/x": true, "data:write/x": false}),
            "{v}"
        );
    }),
    ("metadata", |c| {
        c.admin(
            "PUT",
            "/_security/privilege",
            &json!({"keysapp": {"p1": {"actions": ["a:b"], "metadata": {"k": "v"}}}}),
        );
        shows(c, "/_security/privilege/keysapp/p1", "/keysapp/p1/metadata/k", &json!("v"));
    }),
];
