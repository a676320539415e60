//! A JSON client bound to one user, and Elasticsearch's error shape, for the tests of the Beats
//! setup APIs (templates, data streams, ingest pipelines).

#![allow(dead_code, reason = "each test file uses part of it")]

use bulwark_testkit::Client;
use serde_json::Value;

/// JSON over HTTPS as one user.
pub struct Http {
    pub client: Client,
    pub auth: (String, String),
}

impl Http {
    pub fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let text = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let auth = Some((self.auth.0.as_str(), self.auth.1.as_str()));
        let (status, _, body) =
            self.client.send(method, path, auth, Some("application/json"), text).expect("request");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub fn bulk(&self, path: &str, lines: &[Value]) -> (u16, Value) {
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let auth = Some((self.auth.0.as_str(), self.auth.1.as_str()));
        let (status, _, body) = self
            .client
            .send("POST", path, auth, Some("application/x-ndjson"), body.into_bytes())
            .expect("request");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, v) = self.call(method, path, body.clone());
        assert!((200..300).contains(&status), "{method} {path} {body}: {status} {v}");
        v
    }

    pub fn source(&self, index: &str, id: &str) -> Value {
        self.ok("GET", &format!("/{index}/_doc/{id}"), Value::Null)["_source"].clone()
    }
}

/// Asserts an Elasticsearch error with this status and type whose reason contains `reason`.
pub fn error(resp: (u16, Value), status: u16, ty: &str, reason: &str) {
    assert_eq!(resp.0, status, "{}", resp.1);
    assert_eq!(resp.1["error"]["type"], ty, "{}", resp.1);
    let got = resp.1["error"]["reason"].as_str().unwrap_or_default();
    assert!(got.contains(reason), "reason [{got}] should contain [{reason}]");
}
