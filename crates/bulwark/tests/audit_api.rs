//! `GET /_bulwark/audit`: the node's audit log read back over the REST API — only with
//! `manage_security` (403 for `read_security` and for users without privileges), newest first,
//! filtered by event type and user, paged with `before`, every entry's seal checked (an edited
//! line shows `audit.verified: false`), bad parameters refused naming them, and a 400 when the
//! audit log is off.

use bulwark_testkit::{Started, TestHome, start_fresh};
use serde_json::{Value, json};

const PASSWORD: &str = "audit-test-password";

fn admin(s: &Started, method: &str, path: &str, body: Value) {
    let (status, answer) = s.client.call(method, path, ("elastic", &s.password), Some(&body)).unwrap();
    assert_eq!(status, 200, "{path}: {answer}");
}

fn as_user(s: &Started, user: &str, path: &str) -> (u16, Value) {
    let (status, _, body) = s.client.get(path, Some((user, PASSWORD))).unwrap();
    (status, body)
}

fn sequences(page: &Value) -> Vec<u64> {
    page["events"].as_array().unwrap().iter().map(|e| e["audit.sequence"].as_u64().unwrap()).collect()
}

#[test]
fn only_manage_security_reads_the_audit_log_newest_first_filtered_and_paged() {
    let home = TestHome::new();
    let s = start_fresh(&home, &[]);
    admin(&s, "PUT", "/_security/role/sec_admin", json!({"cluster": ["manage_security"]}));
    admin(&s, "PUT", "/_security/role/sec_reader", json!({"cluster": ["read_security"]}));
    for (user, role) in [("auditor", "sec_admin"), ("reader", "sec_reader"), ("plain", "")] {
        let roles: Vec<&str> = [role].into_iter().filter(|r| !r.is_empty()).collect();
        admin(&s, "PUT", &format!("/_security/user/{user}"), json!({"password": PASSWORD, "roles": roles}));
    }
    // A failed login of `plain`, to filter on.
    let (status, _, _) = s.client.get("/", Some(("plain", "not-the-password"))).unwrap();
    assert_eq!(status, 401);

    // Refused to others, naming the action.
    for user in ["plain", "reader"] {
        let (status, body) = as_user(&s, user, "/_bulwark/audit");
        assert_eq!(status, 403, "{user}: {body}");
        assert_eq!(body["error"]["type"], "security_exception");
        let reason = body["error"]["reason"].as_str().unwrap();
        assert!(reason.contains("cluster:admin/xpack/security/audit/get"), "{reason}");
    }

    // `manage_security`: newest first, every entry sealed.
    let (status, page) = as_user(&s, "auditor", "/_bulwark/audit");
    assert_eq!(status, 200, "{page}");
    assert!(page["node"].is_string(), "{page}");
    assert_eq!(page["unreadable_lines"], 0);
    let seqs = sequences(&page);
    assert!(seqs.len() > 5, "{page}");
    assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1), "newest first, none missing: {seqs:?}");
    let events = page["events"].as_array().unwrap();
    assert!(events.iter().all(|e| e["audit.verified"] == true), "{page}");
    // The newest: this very request, granted.
    assert_eq!(events[0]["event.action"], "access_granted", "{}", events[0]);
    assert_eq!(events[0]["user.name"], "auditor");
    assert_eq!(events[0]["action"], "cluster:admin/xpack/security/audit/get");
    // The refusals of `reader` are there.
    assert!(events.iter().any(|e| e["event.action"] == "access_denied" && e["user.name"] == "reader"));

    // Filters: event type and user.
    let (status, page) = as_user(&s, "auditor", "/_bulwark/audit?event=authentication_failed&user=plain");
    assert_eq!(status, 200, "{page}");
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["url.path"], "/");
    let (_, page) = as_user(&s, "auditor", "/_bulwark/audit?event=access_denied,security_config_change");
    let events = page["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["event.action"] == "security_config_change"), "{page}");
    assert!(
        events
            .iter()
            .all(|e| ["access_denied", "security_config_change"]
                .contains(&e["event.action"].as_str().unwrap())),
        "{page}"
    );
    let (_, page) = as_user(&s, "auditor", "/_bulwark/audit?user=nobody-at-all");
    assert_eq!(page["events"], json!([]));
    assert_eq!(page["next_before"], Value::Null);
    // A small log is read whole within one request's bound.
    assert_eq!(page["partial"], false, "{page}");

    // Paging: `size`, then `before` = the previous page's `next_before`.
    let (_, first) = as_user(&s, "auditor", "/_bulwark/audit?size=3&event=security_config_change");
    let a = sequences(&first);
    assert_eq!(a.len(), 3, "{first}");
    assert_eq!(first["next_before"], a[2]);
    let (_, second) = as_user(
        &s,
        "auditor",
        &format!("/_bulwark/audit?size=3&event=security_config_change&before={}", a[2]),
    );
    let b = sequences(&second);
    assert!(!b.is_empty() && b.iter().all(|x| *x < a[2]), "{a:?} then {b:?}");
    let all: Vec<u64> =
        sequences(&as_user(&s, "auditor", "/_bulwark/audit?event=security_config_change&size=1000").1);
    assert_eq!(&all[..a.len() + b.len()], [a.clone(), b].concat().as_slice());

    // Bad parameters: a 400 that names them.
    for (query, needle) in [
        ("size=0", "[size]"),
        ("size=1001", "[size]"),
        ("before=x", "[before]"),
        ("event=access_granted,nope", "[nope]"),
        ("user=", "[user]"),
        ("usr=plain", "[usr]"),
    ] {
        let (status, body) = as_user(&s, "auditor", &format!("/_bulwark/audit?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"]["reason"].as_str().unwrap().contains(needle), "{query}: {body}");
    }

    // A line edited on disk: still listed, but its seal no longer checks out.
    let path = home.path().join("logs/audit.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("\"authentication_failed\"") && l.contains("\"user.name\":\"plain\""))
        .expect("the failed login's line")
        .to_owned();
    std::fs::write(
        &path,
        text.replace(&line, &line.replace("\"user.name\":\"plain\"", "\"user.name\":\"plaiN\"")),
    )
    .unwrap();
    let (_, page) = as_user(&s, "auditor", "/_bulwark/audit?user=plaiN");
    assert_eq!(page["events"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["events"][0]["audit.verified"], false, "{page}");
}

#[test]
fn audit_log_off_is_a_clear_400() {
    let home = TestHome::new();
    let s = start_fresh(&home, &["-E", "xpack.security.audit.enabled=false"]);
    let (status, _, body) = s.client.get("/_bulwark/audit", Some(("elastic", &s.password))).unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "feature_not_enabled_exception");
    assert!(body["error"]["reason"].as_str().unwrap().contains("xpack.security.audit.enabled"), "{body}");
}
