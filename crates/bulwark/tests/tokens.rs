//! The token service against the real node: `POST /_security/oauth2/token` with each grant type,
//! `Authorization: Bearer` with the access token, refresh, invalidation, the refusals in
//! Elasticsearch's words, the lifetime setting, and tokens surviving a restart without being
//! stored.

use std::time::{Duration, Instant};

use bulwark_testkit::{Node, Started, TestHome, start_fresh};
use serde_json::{Value, json};

const PW: &str = "a-long-enough-password";
const TOKEN: &str = "/_security/oauth2/token";

fn elastic(s: &Started) -> (&str, &str) {
    ("elastic", s.password.as_str())
}

fn call(s: &Started, user: (&str, &str), method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = (!body.is_null()).then_some(body);
    s.client.call(method, path, user, body.as_ref()).expect("request")
}

fn bearer(s: &Started, token: &str, method: &str, path: &str) -> (u16, bulwark_testkit::HeaderMap, Value) {
    s.client.call_with(method, path, &format!("Bearer {token}"), &[], None).expect("request")
}

fn ok(s: &Started, user: (&str, &str), method: &str, path: &str, body: Value) -> Value {
    let (status, v) = call(s, user, method, path, body);
    assert_eq!(status, 200, "{method} {path}: {v}");
    v
}

/// A token pair for `user` asked for by `client` (password grant); registers both tokens as
/// secrets the node must never log.
fn password_grant(s: &mut Started, client: (&str, &str), user: &str) -> (String, String) {
    let client = (client.0.to_owned(), client.1.to_owned());
    let v = ok(
        s,
        (&client.0, &client.1),
        "POST",
        TOKEN,
        json!({"grant_type": "password", "username": user, "password": PW}),
    );
    let access = v["access_token"].as_str().expect("access_token").to_owned();
    let refresh = v["refresh_token"].as_str().expect("refresh_token").to_owned();
    s.node.secret(&access).secret(&refresh);
    (access, refresh)
}

fn challenges(h: &reqwest::header::HeaderMap) -> Vec<String> {
    h.get_all("www-authenticate").iter().map(|v| v.to_str().unwrap_or("").to_owned()).collect()
}

const EXPIRED: &str =
    r#"Bearer realm="security", error="invalid_token", error_description="The access token expired""#;

#[test]
fn tokens_are_created_used_refreshed_and_invalidated_as_in_elasticsearch() {
    let home = TestHome::new();
    let mut s = start_fresh(&home, &[]);
    let e = ("elastic".to_owned(), s.password.clone());
    let e = (e.0.as_str(), e.1.as_str());
    ok(&s, e, "PUT", "/_security/role/watcher", json!({"cluster": ["monitor"]}));
    ok(
        &s,
        e,
        "PUT",
        "/_security/user/alice",
        json!({"password": PW, "roles": ["watcher"], "full_name": "Alice"}),
    );
    ok(&s, e, "PUT", "/_security/role/tokens", json!({"cluster": ["manage_token"]}));
    ok(&s, e, "PUT", "/_security/user/minter", json!({"password": PW, "roles": ["tokens"]}));

    // Password grant: a pair for alice, asked for by elastic.
    let v = ok(
        &s,
        e,
        "POST",
        TOKEN,
        json!({"grant_type": "password", "username": "alice", "password": PW, "scope": "x"}),
    );
    assert_eq!(v["type"], "Bearer", "{v}");
    assert_eq!(v["expires_in"], 1200, "the 20-minute default: {v}");
    assert_eq!(v["scope"], "full", "{v}");
    assert_eq!(v["authentication"]["username"], "alice", "{v}");
    let access = v["access_token"].as_str().unwrap().to_owned();
    let refresh = v["refresh_token"].as_str().unwrap().to_owned();
    s.node.secret(&access).secret(&refresh);

    // The access token authenticates alice, as a token.
    let (status, _, me) = bearer(&s, &access, "GET", "/_security/_authenticate");
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["authentication_type"], "token");
    assert_eq!(me["authentication_realm"]["type"], "native");
    assert_eq!(me["roles"], json!(["watcher"]));
    assert!(me.get("token").is_none(), "only service tokens carry a token name: {me}");
    // With alice's privileges: monitor, not user management.
    assert_eq!(bearer(&s, &access, "GET", "/_cluster/health").0, 200);
    let (status, _, denied) = bearer(&s, &access, "GET", "/_security/user");
    assert_eq!(status, 403, "{denied}");
    // A token cannot change its user's password (Elasticsearch refuses it too).
    let (status, _, pw) = s
        .client
        .call_with(
            "POST",
            "/_security/user/_password",
            &format!("Bearer {access}"),
            &[],
            Some(&json!({"password": "another-long-password"})),
        )
        .unwrap();
    assert_eq!(status, 403, "{pw}");

    // client_credentials: a token for the caller itself, without a refresh token.
    let v = ok(&s, e, "POST", TOKEN, json!({"grant_type": "client_credentials"}));
    assert!(v.get("refresh_token").is_none(), "{v}");
    assert_eq!(v["authentication"]["username"], "elastic");
    let own = v["access_token"].as_str().unwrap().to_owned();
    s.node.secret(&own);
    assert_eq!(bearer(&s, &own, "GET", "/_security/_authenticate").2["username"], "elastic");

    // Refresh: only by the creating client, only once.
    let (status, v) = call(
        &s,
        ("minter", PW),
        "POST",
        TOKEN,
        json!({"grant_type": "refresh_token", "refresh_token": refresh}),
    );
    assert_eq!(
        (status, &v),
        (
            400,
            &json!({"error": "invalid_grant", "error_description": "tokens must be refreshed by the creating client"})
        )
    );
    let v = ok(&s, e, "POST", TOKEN, json!({"grant_type": "refresh_token", "refresh_token": refresh}));
    let access2 = v["access_token"].as_str().unwrap().to_owned();
    let refresh2 = v["refresh_token"].as_str().unwrap().to_owned();
    s.node.secret(&access2).secret(&refresh2);
    assert_ne!(access2, access);
    assert_eq!(bearer(&s, &access2, "GET", "/_security/_authenticate").2["username"], "alice");
    let (status, v) =
        call(&s, e, "POST", TOKEN, json!({"grant_type": "refresh_token", "refresh_token": refresh}));
    assert_eq!((status, &v["error_description"]), (400, &json!("token has already been refreshed")), "{v}");
    let (status, v) =
        call(&s, e, "POST", TOKEN, json!({"grant_type": "refresh_token", "refresh_token": "bm9wZQ"}));
    assert_eq!(
        (status, &v["error_description"]),
        (400, &json!("could not refresh the requested token")),
        "{v}"
    );

    // Validation in Elasticsearch's words, as OAuth2 errors.
    let (status, v) = call(&s, e, "POST", TOKEN, json!({"username": "alice"}));
    assert_eq!(status, 400);
    assert_eq!(
        v,
        json!({"error": "unsupported_grant_type", "error_description": "Validation Failed: 1: grant_type only supports the values: [password, _kerberos, refresh_token, client_credentials];"})
    );
    // Elasticsearch calls every failure that mentions "grant_type" an unsupported grant type.
    let (status, v) = call(
        &s,
        e,
        "POST",
        TOKEN,
        json!({"grant_type": "password", "username": "alice", "refresh_token": "x"}),
    );
    assert_eq!((status, v["error"].as_str()), (400, Some("unsupported_grant_type")), "{v}");
    assert_eq!(
        v["error_description"],
        "Validation Failed: 1: refresh_token is not supported with the password grant_type;2: password is missing;"
    );
    let (status, v) = call(&s, e, "POST", TOKEN, json!({"grant_type": "password", "username": "alice"}));
    assert_eq!(
        (status, &v),
        (
            400,
            &json!({"error": "invalid_request", "error_description": "Validation Failed: 1: password is missing;"})
        )
    );
    let (status, v) =
        call(&s, e, "POST", TOKEN, json!({"grant_type": "_kerberos", "kerberos_ticket": "YQ=="}));
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error_description"].as_str().unwrap().contains("grant_type [_kerberos] is not supported"),
        "{v}"
    );
    let (status, v) = call(
        &s,
        e,
        "POST",
        TOKEN,
        json!({"grant_type": "password", "username": "alice", "password": PW, "color": "red"}),
    );
    assert_eq!(
        (status, v["error"]["reason"].as_str()),
        (400, Some("[token_request] unknown field [color]")),
        "{v}"
    );
    // A wrong password: a 401, audited as a failed authentication of alice.
    let (status, v) = call(
        &s,
        e,
        "POST",
        TOKEN,
        json!({"grant_type": "password", "username": "alice", "password": "wrong-password-1"}),
    );
    assert_eq!(status, 401, "{v}");
    // Creating tokens needs manage_token: alice has only monitor.
    let (status, v) = call(&s, ("alice", PW), "POST", TOKEN, json!({"grant_type": "client_credentials"}));
    assert_eq!(status, 403, "{v}");
    assert!(
        v["error"]["reason"].as_str().unwrap().contains("cluster:admin/xpack/security/token/create"),
        "{v}"
    );

    // Invalidation by access token: once, then "previously".
    let v = ok(&s, e, "DELETE", TOKEN, json!({"token": access}));
    assert_eq!(v, json!({"invalidated_tokens": 1, "previously_invalidated_tokens": 0, "error_count": 0}));
    let v = ok(&s, e, "DELETE", TOKEN, json!({"token": access}));
    assert_eq!(v, json!({"invalidated_tokens": 0, "previously_invalidated_tokens": 1, "error_count": 0}));
    let (status, h, v) = bearer(&s, &access, "GET", "/_security/_authenticate");
    assert_eq!((status, v["error"]["reason"].as_str()), (401, Some("token expired")), "{v}");
    assert_eq!(challenges(&h), vec![EXPIRED.to_owned()]);
    // A known pair's id with a wrong secret: the usual 401 and its three challenges.
    let flip = if &access2[30..31] == "A" { "B" } else { "A" };
    let forged = format!("{}{flip}{}", &access2[..30], &access2[31..]);
    let (status, h, v) = bearer(&s, &forged, "GET", "/_security/_authenticate");
    assert_eq!(status, 401, "{v}");
    assert_eq!(challenges(&h).len(), 3, "{h:?}");
    let (status, v) = call(&s, e, "DELETE", TOKEN, json!({"token": "bm9wZQ"}));
    assert_eq!((status, &v["invalidated_tokens"]), (404, &json!(0)), "{v}");
    let (status, v) = call(&s, e, "DELETE", TOKEN, json!({"token": "a", "refresh_token": "b"}));
    assert_eq!(
        (status, v["error"]["reason"].as_str()),
        (400, Some("only one of [token, refresh_token] may be sent per request"))
    );
    let (status, v) = call(&s, e, "DELETE", TOKEN, json!({}));
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        v["error"]["reason"],
        "Validation Failed: 1: token string must be provided when not specifying a realm name or a username;"
    );

    // Deleting or disabling the user stops their tokens; enabling brings them back.
    ok(&s, e, "PUT", "/_security/user/alice/_disable", Value::Null);
    let (status, _, v) = bearer(&s, &access2, "GET", "/_security/_authenticate");
    assert_eq!(status, 401, "{v}");
    ok(&s, e, "PUT", "/_security/user/alice/_enable", Value::Null);
    assert_eq!(bearer(&s, &access2, "GET", "/_security/_authenticate").0, 200);
    // Changing the password does not invalidate tokens (as in Elasticsearch); invalidating by
    // user name does: the live access token and refresh token of the refreshed pair.
    ok(&s, e, "POST", "/_security/user/alice/_password", json!({"password": "another-long-password"}));
    assert_eq!(bearer(&s, &access2, "GET", "/_security/_authenticate").0, 200);
    let v = ok(&s, e, "DELETE", TOKEN, json!({"username": "alice"}));
    assert_eq!(v["invalidated_tokens"], 2, "{v}");
    assert_eq!(bearer(&s, &access2, "GET", "/_security/_authenticate").0, 401);
    let (status, v) =
        call(&s, e, "POST", TOKEN, json!({"grant_type": "refresh_token", "refresh_token": refresh2}));
    assert_eq!((status, &v["error_description"]), (400, &json!("token has been invalidated")), "{v}");
    // By realm: elastic's own client_credentials token (reserved realm).
    let v = ok(&s, e, "DELETE", TOKEN, json!({"realm_name": "reserved"}));
    assert_eq!(v["invalidated_tokens"], 1, "{v}");
    assert_eq!(bearer(&s, &own, "GET", "/").0, 401);
    let (access3, _) = password_grant(&mut s, e, "minter");
    ok(&s, e, "DELETE", "/_security/user/minter", Value::Null);
    assert_eq!(bearer(&s, &access3, "GET", "/_security/_authenticate").0, 401);
    s.node.stop();

    // Failed bearer authentications are audited as such.
    let audit = std::fs::read_to_string(home.path().join("logs/audit.json")).expect("audit.json");
    let failed = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["event.action"] == "authentication_failed" && v["url.path"] == "/_security/_authenticate"
        })
        .count();
    assert!(failed >= 3, "expired, unknown and disabled-user tokens: {failed} events");
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_holding(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            out.push(path);
        }
    }
    out
}

#[test]
fn tokens_survive_a_restart_and_are_stored_only_hashed() {
    let home = TestHome::new();
    let mut s = start_fresh(&home, &[]);
    let e = ("elastic".to_owned(), s.password.clone());
    ok(&s, (&e.0, &e.1), "PUT", "/_security/user/bob", json!({"password": PW, "roles": ["viewer"]}));
    let (access, refresh) = password_grant(&mut s, (&e.0, &e.1), "bob");
    s.node.stop();
    for t in [&access, &refresh] {
        // Neither the token nor its secret part (the last 43 characters) is written anywhere.
        assert_eq!(files_holding(&home.path(), t.as_bytes()), Vec::<std::path::PathBuf>::new());
        assert_eq!(
            files_holding(&home.path(), &t.as_bytes()[t.len() - 43..]),
            Vec::<std::path::PathBuf>::new()
        );
    }

    let mut node = Node::spawn(&home, &[], &[]);
    node.secret(&e.1).secret(&access).secret(&refresh);
    let client = node.wait_ready(&s.ca, "elastic", &e.1);
    let s = Started { node, client, password: e.1.clone(), ca: s.ca.clone(), port: s.port };
    let (status, _, me) = bearer(&s, &access, "GET", "/_security/_authenticate");
    assert_eq!((status, me["username"].as_str()), (200, Some("bob")), "{me}");
    let v =
        ok(&s, elastic(&s), "POST", TOKEN, json!({"grant_type": "refresh_token", "refresh_token": refresh}));
    assert!(v["access_token"].is_string(), "{v}");
    s.node.stop();
}

#[test]
fn the_lifetime_setting_the_switch_and_lockout_apply() {
    // An access token lives `xpack.security.authc.token.timeout`; a bad bearer token counts
    // towards the lockout like any other credential.
    let home = TestHome::new();
    let mut s = start_fresh(
        &home,
        &["-E", "xpack.security.authc.token.timeout=1s", "-E", "xpack.security.authc.lockout.max_failures=3"],
    );
    let e = ("elastic".to_owned(), s.password.clone());
    let v = ok(&s, (&e.0, &e.1), "POST", TOKEN, json!({"grant_type": "client_credentials"}));
    assert_eq!(v["expires_in"], 1, "{v}");
    let access = v["access_token"].as_str().unwrap().to_owned();
    s.node.secret(&access);
    assert_eq!(bearer(&s, &access, "GET", "/").0, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, h, body) = loop {
        let r = bearer(&s, &access, "GET", "/");
        if r.0 != 200 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!((status, body["error"]["reason"].as_str()), (401, Some("token expired")), "{body}");
    assert_eq!(challenges(&h), vec![EXPIRED.to_owned()]);
    // Two more failures (three with the expired one): bearer tokens from this address are locked.
    for _ in 0..2 {
        assert_eq!(bearer(&s, "bm9wZQ", "GET", "/").0, 401);
    }
    let v = ok(&s, (&e.0, &e.1), "POST", TOKEN, json!({"grant_type": "client_credentials"}));
    let fresh = v["access_token"].as_str().unwrap().to_owned();
    s.node.secret(&fresh);
    let (status, _, body) = bearer(&s, &fresh, "GET", "/");
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["reason"].as_str().unwrap().contains("too many failed authentication attempts"),
        "{body}"
    );
    s.node.stop();

    // A lifetime beyond Elasticsearch's bounds stops the start, naming the setting.
    let bad = TestHome::new();
    let mut node = Node::spawn(&bad, &["-E", "xpack.security.authc.token.timeout=2h"], &[]);
    let status = node.wait_exit(Duration::from_secs(60)).expect("the node refuses to start");
    assert!(!status.success());
    let out = std::fs::read_to_string(bad.stdout_file()).unwrap_or_default();
    assert!(out.contains("xpack.security.authc.token.timeout") && out.contains("at most 1h"), "{out}");

    // Switched off, the token APIs answer as Elasticsearch's do.
    let off = TestHome::new();
    let s = start_fresh(&off, &["-E", "xpack.security.authc.token.enabled=false"]);
    let (status, v) = call(&s, elastic(&s), "POST", TOKEN, json!({"grant_type": "client_credentials"}));
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["type"], "feature_not_enabled_exception");
    assert_eq!(v["error"]["reason"], "security tokens are not enabled");
    let (status, v) = call(&s, elastic(&s), "DELETE", TOKEN, json!({"username": "x"}));
    assert_eq!((status, v["error"]["reason"].as_str()), (400, Some("security tokens are not enabled")));
    s.node.stop();
}
