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
    /// `Authorization: Bearer` (a service-account token, or an access token of the token service).
    Bearer(&'a SecretString),
    /// No credentials.
    None,
}

/// What went wrong talking to the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// No URL given, or one is not `https://host:port` (`http://` for [`NodeClient::plain_http`]).
    #[error("[{0}] is not a URL of a node (https://HOST:PORT)")]
    BadUrl(String),
    /// The TLS client could not be set up.
    #[error("cannot set up the TLS client: {0}")]
    Setup(String),
    /// No node answered.
    #[error("no node could be reached: {0}")]
    Unreachable(String),
    /// The node answered with an error (Elasticsearch's shape).
    #[error("the node answered {status} {kind}: {reason}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The Elasticsearch error type (`security_exception`, …).
        kind: String,
        /// The reason in the error body.
        reason: String,
    },
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
        let bases = parse_hosts(hosts, "https")?;
        let roots: Vec<&[u8]> = ca_der.iter().map(Vec::as_slice).collect();
        let tls = bulwark_pki::client_config_trusting(&roots).map_err(|e| NodeError::Setup(e.to_string()))?;
        let client = crate::https_client(tls).map_err(|e| NodeError::Setup(crate::innermost(&e)))?;
        Ok(NodeClient { client, bases })
    }

    /// A client of nodes whose HTTP layer has TLS switched off
    /// (`xpack.security.http.ssl.enabled: false`): `http://host:port` only, nothing trusted.
    pub fn plain_http(hosts: &[String]) -> Result<NodeClient, NodeError> {
        let bases = parse_hosts(hosts, "http")?;
        let client = crate::client_builder().build().map_err(|e| NodeError::Setup(crate::innermost(&e)))?;
        Ok(NodeClient { client, bases })
    }

    /// `method path` (with its query string) as `who`, with more `headers` (`Content-Type`, …)
    /// and an optional body: the node's answer whatever its status. Only when no node answers is
    /// it an error.
    pub async fn exchange(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Credentials<'_>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, NodeError> {
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
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(bytes) = &body {
                request = request.body(bytes.clone());
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
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await.map_err(|e| NodeError::BadResponse(crate::innermost(&e)))?;
            return Ok(Reply { status, headers, body: bytes.to_vec() });
        }
        Err(NodeError::Unreachable(failures.join("; ")))
    }

    /// `method path` as `who` with an optional JSON body: the JSON answer whatever its status
    /// (`Null` when the body is empty).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Credentials<'_>,
        body: Option<&Value>,
    ) -> Result<Answer, NodeError> {
        let headers: &[(&str, &str)] =
            if body.is_some() { &[("Content-Type", "application/json")] } else { &[] };
        let reply =
            self.exchange(method, path, who, headers, body.map(|b| b.to_string().into_bytes())).await?;
        let body = if reply.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&reply.body).map_err(|e| NodeError::BadResponse(e.to_string()))?
        };
        Ok(Answer { status: reply.status, body })
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
        let answer = self.send(method, path, who, body).await?;
        if (200..300).contains(&answer.status) {
            return Ok(answer.body);
        }
        let kind = answer.body["error"]["type"].as_str().unwrap_or("error").to_owned();
        Err(NodeError::Api { status: answer.status, kind, reason: answer.reason() })
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

/// A node's answer as it came: status, headers and body.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The raw body.
    pub body: Vec<u8>,
}

/// A node's JSON answer of any status.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body (`Null` when empty).
    pub body: Value,
}

impl Answer {
    /// The reason of an Elasticsearch error body (or the status when there is none).
    pub fn reason(&self) -> String {
        let e = &self.body["error"];
        [&e["reason"], &e["root_cause"][0]["reason"], &e["root_cause"][0]["type"], &e["type"], e]
            .into_iter()
            .find_map(Value::as_str)
            .map_or_else(|| format!("HTTP status {}", self.status), str::to_owned)
    }
}

/// `hosts` as base URLs of `scheme` with a host, or the first that is not.
fn parse_hosts(hosts: &[String], scheme: &str) -> Result<Vec<reqwest::Url>, NodeError> {
    if hosts.is_empty() {
        return Err(NodeError::BadUrl(String::new()));
    }
    hosts
        .iter()
        .map(|h| {
            reqwest::Url::parse(h)
                .ok()
                .filter(|u| u.scheme() == scheme && u.host().is_some())
                .ok_or_else(|| NodeError::BadUrl(h.clone()))
        })
        .collect()
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
