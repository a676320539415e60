//! Application privileges against the real node: the `/_security/privilege` APIs with
//! Elasticsearch's validation, and `_has_privileges` / `_privileges` answering from roles'
//! `applications` (native roles, `roles.yml`, API key role descriptors) resolved through the
//! stored privileges, with wildcards on application, privilege and resource names.

use std::time::{Duration, Instant};

use bulwark_testkit::{Started, TestHome, start_fresh};
use serde_json::{Value, json};

const PW: &str = "a-long-enough-password";

fn call(s: &Started, user: (&str, &str), method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = (!body.is_null()).then_some(body);
    s.client.call(method, path, user, body.as_ref()).expect("request")
}

fn ok(s: &Started, method: &str, path: &str, body: Value) -> Value {
    let (status, v) = call(s, ("elastic", &s.password), method, path, body);
    assert_eq!(status, 200, "{method} {path}: {v}");
    v
}

/// `_has_privileges` for `myapp`: the answer's `application.myapp`.
fn has(s: &Started, auth: &str, privileges: &[&str], resources: &[&str]) -> Value {
    let body =
        json!({"application": [{"application": "myapp", "privileges": privileges, "resources": resources}]});
    let (status, _, v) = s
        .client
        .call_with("POST", "/_security/user/_has_privileges", auth, &[], Some(&body))
        .expect("request");
    assert_eq!(status, 200, "{v}");
    v["application"]["myapp"].clone()
}

fn basic(user: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{PW}")))
}

/// A native user holding a role (of the same name) with one `applications` entry; its
/// `Authorization`.
fn user_with_grant(s: &Started, user: &str, grant: Value) -> String {
    ok(s, "PUT", &format!("/_security/role/{user}"), json!({ "applications": [grant] }));
    ok(s, "PUT", &format!("/_security/user/{user}"), json!({"password": PW, "roles": [user]}));
    basic(user)
}

#[test]
fn stored_privileges_are_granted_by_roles_files_and_keys() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let privileges = json!({"myapp": {
        "read": {"actions": ["data:read/*"], "metadata": {"d": "reads"}},
        "write": {"actions": ["data:write/*", "action:login"]},
    }});
    let v = ok(&s, "PUT", "/_security/privilege", privileges.clone());
    assert_eq!(v, json!({"myapp": {"read": {"created": true}, "write": {"created": true}}}));
    let v = ok(&s, "POST", "/_security/privilege?refresh=true", privileges);
    assert_eq!(v["myapp"]["read"]["created"], false, "{v}");

    // Read back: all, one application, named (with a list and a wildcard); 404 `{}` for none.
    let read = json!({"application": "myapp", "name": "read", "actions": ["data:read/*"], "metadata": {"d": "reads"}});
    assert_eq!(ok(&s, "GET", "/_security/privilege", Value::Null)["myapp"]["read"], read);
    assert_eq!(
        ok(&s, "GET", "/_security/privilege/myapp", Value::Null)["myapp"].as_object().unwrap().len(),
        2
    );
    assert_eq!(
        ok(&s, "GET", "/_security/privilege/myapp/read", Value::Null),
        json!({"myapp": {"read": read}})
    );
    assert_eq!(
        ok(&s, "GET", "/_security/privilege/myapp/read,write", Value::Null)["myapp"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(ok(&s, "GET", "/_security/privilege/my*/wr*", Value::Null)["myapp"]["write"]["name"], "write");
    let e = ("elastic", s.password.as_str());
    assert_eq!(call(&s, e, "GET", "/_security/privilege/nosuchapp", Value::Null), (404, json!({})));
    assert_eq!(call(&s, e, "GET", "/_security/privilege/myapp/nope", Value::Null), (404, json!({})));

    // Elasticsearch's validation messages.
    let refused = |body: Value| {
        let (status, v) = call(&s, e, "PUT", "/_security/privilege", body);
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["type"], "action_request_validation_exception", "{v}");
        v["error"]["reason"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        refused(json!({"ab": {"read": {"actions": ["a:b"]}}})),
        "Validation Failed: 1: An application name prefix must be at least 3 characters long (found 'ab');"
    );
    assert_eq!(
        refused(json!({"myapp": {"read": {"actions": []}}})),
        "Validation Failed: 1: Application privileges must have at least one action;"
    );
    assert_eq!(
        refused(json!({"myapp": {"Read": {"actions": ["plain"]}}})),
        "Validation Failed: 1: Application privilege names must match the pattern ^[a-z][a-zA-Z0-9_.-]*$ (found 'Read');2: action [plain] must contain one of [ '/' , '*' , ':' ];"
    );
    assert!(
        refused(json!({"app*": {"read": {"actions": ["a:b"]}}}))
            .contains("Application names may not contain '*'")
    );
    let (status, v) = call(
        &s,
        e,
        "PUT",
        "/_security/privilege",
        json!({"myapp": {"read": {"actions": ["a:b"], "colour": 1}}}),
    );
    assert_eq!(
        (status, v["error"]["reason"].as_str()),
        (400, Some("[application privilege] unknown field [colour]")),
        "{v}"
    );
    let (status, v) = call(
        &s,
        e,
        "PUT",
        "/_security/role/bad",
        json!({"applications": [{"application": "a b", "privileges": ["read"], "resources": ["*"]}]}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["reason"].as_str().unwrap().contains("Application names may not contain whitespace"),
        "{v}"
    );

    // A native role: names resolve through the stored privileges; wildcards on resources.
    let reader = user_with_grant(
        &s,
        "reader",
        json!({"application": "myapp", "privileges": ["read"], "resources": ["res/*"]}),
    );
    let v = has(
        &s,
        &reader,
        &["read", "write", "data:read/users", "data:write/users", "nosuch"],
        &["res/1", "other"],
    );
    assert_eq!(
        v["res/1"],
        json!({"read": true, "write": false, "data:read/users": true, "data:write/users": false, "nosuch": false})
    );
    assert_eq!(v["other"]["read"], false);
    // A wildcard application and action pattern in the role.
    let all = user_with_grant(
        &s,
        "all",
        json!({"application": "my*", "privileges": ["data:*"], "resources": ["*"]}),
    );
    let v = has(&s, &all, &["read", "write"], &["anything"]);
    assert_eq!(v["anything"], json!({"read": true, "write": false}), "write also holds action:login");
    // superuser holds every application privilege.
    let elastic = format!("Basic {}", {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("elastic:{}", s.password))
    });
    assert_eq!(has(&s, &elastic, &["read", "write"], &["x"])["x"], json!({"read": true, "write": true}));
    // _privileges lists the applications.
    let (_, _, p) = s.client.call_with("GET", "/_security/user/_privileges", &reader, &[], None).unwrap();
    assert_eq!(
        p["applications"],
        json!([{"application": "myapp", "privileges": ["read"], "resources": ["res/*"]}])
    );

    // An API key's role descriptors limit it further.
    let key = ok(
        &s,
        "POST",
        "/_security/api_key",
        json!({"name": "k", "role_descriptors": {"r": {"applications": [{"application": "myapp", "privileges": ["read"], "resources": ["*"]}]}}}),
    );
    let key = format!("ApiKey {}", key["encoded"].as_str().unwrap());
    assert_eq!(has(&s, &key, &["read", "write"], &["x"])["x"], json!({"read": true, "write": false}));

    // roles.yml: a file role with applications, picked up by the file watcher.
    std::fs::write(
        home.config("roles.yml"),
        "file_app:\n  applications:\n    - application: myapp\n      privileges: [write]\n      resources: ['*']\n",
    )
    .unwrap();
    ok(&s, "PUT", "/_security/user/filer", json!({"password": PW, "roles": ["file_app"]}));
    let deadline = Instant::now() + Duration::from_secs(20);
    while has(&s, &basic("filer"), &["write"], &["x"])["x"]["write"] != true {
        assert!(Instant::now() < deadline, "roles.yml was not picked up");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Deleting a privilege: its name then stands for no action (a role naming exactly the
    // requested name still holds it, as in Elasticsearch).
    let v = ok(&s, "DELETE", "/_security/privilege/myapp/read,nope", Value::Null);
    assert_eq!(v, json!({"myapp": {"read": {"found": true}, "nope": {"found": false}}}));
    assert_eq!(call(&s, e, "DELETE", "/_security/privilege/myapp/read", Value::Null).0, 404);
    assert_eq!(
        has(&s, &reader, &["read", "data:read/users"], &["res/1"])["res/1"],
        json!({"read": true, "data:read/users": false})
    );
    let v = ok(&s, "POST", "/_security/privilege/myapp/_clear_cache", Value::Null);
    assert_eq!(v["_nodes"]["failed"], 0, "{v}");
    s.node.stop();
}

#[test]
fn stored_privileges_and_the_roles_using_them_survive_a_restart() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    ok(&s, "PUT", "/_security/privilege", json!({"myapp": {"read": {"actions": ["data:read/*"]}}}));
    let auth = user_with_grant(
        &s,
        "dora",
        json!({"application": "myapp", "privileges": ["read"], "resources": ["*"]}),
    );
    assert_eq!(has(&s, &auth, &["data:read/x"], &["r1"]), json!({"r1": {"data:read/x": true}}));
    let (ca, port, password) = (s.ca.clone(), s.port, s.password.clone());
    s.node.stop();

    let mut node = bulwark_testkit::Node::spawn(&home, &[], &[]);
    node.secret(&password);
    let client = node.wait_ready(&ca, "elastic", &password);
    let s = Started { node, client, password, ca, port };
    let got = ok(&s, "GET", "/_security/privilege/myapp/read", Value::Null);
    assert_eq!(got["myapp"]["read"]["actions"], json!(["data:read/*"]), "{got}");
    // The role resolves through the stored privilege as before the restart.
    assert_eq!(
        has(&s, &auth, &["data:read/x", "data:write/x"], &["r1"]),
        json!({"r1": {"data:read/x": true, "data:write/x": false}})
    );
    s.node.stop();
}
