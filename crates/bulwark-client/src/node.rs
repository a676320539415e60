//! [`NodeClient`]: a general async client of a node's REST API that trusts only the given CA
//! certificates (the console's, after enrollment), with per-request credentials.
//!
//! Every call names its credentials explicitly ([`Credentials`]), so a caller acting for a user
//! never sends the service account's token by accident. Answers come back as status + JSON; the
//! Elasticsearch error shape is read into [`NodeError::Api`] with its type and reason.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Who a request is made as.
pub enum Credentials<'a> {
    /// `Authorization: Basic` with a user name and password.
    Basic(&'a str, &'a SecretString),
    /// `Authorization: ApiKey` with `<id>:<secret>` (encoded here).
    ApiKey(&'a SecretString),
    /// `Authorization: Bearer` (a service-account token).
    Bearer(&'a SecretString),
    /// No credentials.
    None,
}

/// What went wrong talking to the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// No URL given, or one is not `https://host:port`.
    #[error("[{0}] is not an https:// URL of a node")]
    BadUrl(String),
    /// The TLS client could not be set up.
    #[error("cannot set up the TLS client: {0}")]
    Setup(String),
    /// No node answered.
    #[error("no node could be reached: {0}")]
    Unreachable(String),
    /// The node answered with an error (Elasticsearch's shape).
    #[error("the node answered {status} {kind}: {reason}")]
    Api { status: u16, kind: String, reason: String },
    /// The answer is not JSON.
    #[error("the node's answer is not JSON: {0}")]
    BadResponse(String),
}

impl NodeError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            NodeError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client of one cluster, trusting only its CA.
#[derive(Clone)]
pub struct NodeClient {
    client: reqwest::Client,
    bases: Vec<reqwest::Url>,
}

impl fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeClient")
            .field("hosts", &self.bases.iter().map(|u| u.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl NodeClient {
    /// A client of the nodes at `hosts` (`https://host:port`, tried in order) trusting exactly
    /// the CA certificates `ca_der` (no system roots).
    pub fn new(hosts: &[String], ca_der: &[Vec<u8>]) -> Result<NodeClient, NodeError> {
        if hosts.is_empty() {
            return Err(NodeError::BadUrl(String::new()));
        }
        let bases = hosts
            .iter()
            .map(|h| {
                reqwest::Url::parse(h)
                    .ok()
                    .filter(|u| u.scheme() == "https" && u.host().is_some())
                    .ok_or_else(|| NodeError::BadUrl(h.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let roots: Vec<&[u8]> = ca_der.iter().map(Vec::as_slice).collect();
        let tls = bulwark_pki::client_config_trusting(&roots).map_err(|e| NodeError::Setup(e.to_string()))?;
        let client = crate::https_client(tls).map_err(|e| NodeError::Setup(crate::innermost(&e)))?;
        Ok(NodeClient { client, bases })
    }

    /// `method path` (with its query string) as `who`, with an optional JSON body: the JSON
    /// answer of a 2xx, else [`NodeError::Api`].
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Credentials<'_>,
        body: Option<&Value>,
    ) -> Result<Value, NodeError> {
        let authorization = match who {
            Credentials::Basic(user, password) => Some(SecretString::from(format!(
                "Basic {}",
                STANDARD.encode(format!("{user}:{}", password.expose_secret()))
            ))),
            Credentials::ApiKey(key) => {
                Some(SecretString::from(format!("ApiKey {}", STANDARD.encode(key.expose_secret()))))
            }
            Credentials::Bearer(token) => {
                Some(SecretString::from(format!("Bearer {}", token.expose_secret())))
            }
            Credentials::None => None,
        };
        let mut failures = Vec::new();
        for base in &self.bases {
            let url = base.join(path.trim_start_matches('/')).map_err(|_| NodeError::BadUrl(path.into()))?;
            let mut request = self.client.request(method.clone(), url);
            if let Some(a) = &authorization {
                request = request.header("Authorization", a.expose_secret());
            }
            if let Some(b) = body {
                request = request.header("Content-Type", "application/json").body(b.to_string());
            }
            let resp = match request.send().await {
                Ok(r) => r,
                Err(e) if e.is_connect() => {
                    failures.push(format!("[{base}]: {}", crate::innermost(&e)));
                    continue;
                }
                Err(e) => return Err(NodeError::Unreachable(format!("[{base}]: {}", crate::innermost(&e)))),
            };
            let status = resp.status().as_u16();
            let text = resp.text().await.map_err(|e| NodeError::BadResponse(crate::innermost(&e)))?;
            let value: Value = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).map_err(|e| NodeError::BadResponse(e.to_string()))?
            };
            if (200..300).contains(&status) {
                return Ok(value);
            }
            let e = &value["error"];
            let reason = [&e["reason"], &e["root_cause"][0]["reason"], e]
                .into_iter()
                .find_map(Value::as_str)
                .map_or_else(|| format!("HTTP status {status}"), str::to_owned);
            let kind = e["type"].as_str().unwrap_or("error").to_owned();
            return Err(NodeError::Api { status, kind, reason });
        }
        Err(NodeError::Unreachable(failures.join("; ")))
    }

    /// `GET path` as `who`.
    pub async fn get(&self, path: &str, who: Credentials<'_>) -> Result<Value, NodeError> {
        self.call(reqwest::Method::GET, path, who, None).await
    }

    /// `POST path` as `who` with a JSON body.
    pub async fn post(&self, path: &str, who: Credentials<'_>, body: &Value) -> Result<Value, NodeError> {
        self.call(reqwest::Method::POST, path, who, Some(body)).await
    }

    /// `PUT path` as `who` with a JSON body.
    pub async fn put(&self, path: &str, who: Credentials<'_>, body: &Value) -> Result<Value, NodeError> {
        self.call(reqwest::Method::PUT, path, who, Some(body)).await
    }

    /// `DELETE path` as `who`, with an optional JSON body.
    pub async fn delete(
        &self,
        path: &str,
        who: Credentials<'_>,
        body: Option<&Value>,
    ) -> Result<Value, NodeError> {
        self.call(reqwest::Method::DELETE, path, who, body).await
    }
}

/// Percent-encodes one path segment (user, role and index names go into URLs).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'*') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
