//! Settings that switch a security feature off are enforced on every path of the real node
//! (issue 13: nothing accepted is silently ignored).

use bulwark_testkit::{Client, Node, TestHome, start_fresh};
use serde_json::{Value, json};

/// `method path` with a JSON body and an `Authorization` header: (status, JSON body).
fn call(port: u16, ca: &[u8], method: &str, path: &str, auth: &str, body: &Value) -> (u16, Value) {
    let (status, _, body) =
        Client::new(port, Some(ca)).call_with(method, path, auth, &[], Some(body)).expect("request");
    (status, body)
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

#[test]
fn a_disabled_api_key_service_makes_and_accepts_no_keys() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    let elastic = basic("elastic", &s.password);
    let (status, key) =
        call(s.port, &s.ca, "POST", "/_security/api_key", &elastic, &json!({"name": "before"}));
    assert_eq!(status, 200, "{key}");
    let api_key = format!("ApiKey {}", key["encoded"].as_str().expect("encoded"));
    assert_eq!(call(s.port, &s.ca, "GET", "/_security/_authenticate", &api_key, &Value::Null).0, 200);
    s.node.stop();

    let mut node = Node::spawn(&home, &["-E", "xpack.security.authc.api_key.enabled=false"], &[]);
    node.wait_ready(&s.ca, "elastic", &s.password);
    let port = node.port();
    let (status, body) = call(port, &s.ca, "GET", "/_security/_authenticate", &api_key, &Value::Null);
    assert_eq!(status, 401, "a key made before the service was disabled no longer works: {body}");
    for (method, path, body) in [
        ("POST", "/_security/api_key", json!({"name": "after"})),
        ("GET", "/_security/api_key", Value::Null),
        ("POST", "/_security/_query/api_key", json!({})),
        ("DELETE", "/_security/api_key", json!({"name": "before"})),
    ] {
        let (status, answer) = call(port, &s.ca, method, path, &elastic, &body);
        assert_eq!(status, 400, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["type"], "feature_not_enabled_exception", "{answer}");
        assert!(
            answer["error"]["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("xpack.security.authc.api_key.enabled")
        );
    }
    let (status, _) = call(port, &s.ca, "GET", "/_security/enroll/kibana", &elastic, &Value::Null);
    assert_ne!(status, 200, "enrollment rides on API keys and is off with them");
    let (code, _, err) = bulwark_testkit::run(
        bulwark_testkit::command(&home.path())
            .args(["create-enrollment-token", "-s", "kibana"])
            .args(["-E", "xpack.security.authc.api_key.enabled=false"]),
    );
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("xpack.security.authc.api_key.enabled"), "{err}");
}
