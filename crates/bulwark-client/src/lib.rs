//! An HTTPS client that trusts a Bulwark cluster by the fingerprint of its HTTP CA, as an
//! enrollment token pins it, shared by the tools, the console and the tests.
//!
//! [`EnrollmentClient::connect`] tries the token's addresses in order. For each, it first makes a
//! request **without credentials** over a TLS connection whose verifier accepts the server only
//! if the chain it sends contains the CA with the pinned fingerprint, and then validates the
//! server certificate against that CA (path, validity, and that it names the address). A server
//! presenting another CA fails the handshake, so the API key is never sent to it. Only once an
//! address has passed does the client send the key, to that address alone.
//!
//! Errors say which address failed and why: the pin did not match (another cluster, or an altered
//! token), the certificate is not valid for the address, or the address could not be reached.
//! Answers of the enrollment APIs are mapped to what they mean for the token: expired, already
//! used, of the wrong scope, or enrollment switched off.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod node;

pub use node::{Answer, Credentials, NodeClient, NodeError, Reply, segment};

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use bulwark_pki::Fingerprint;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// How long to wait for a TCP connection to one address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take (Elasticsearch's tools use 35 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(35);

/// Why one address could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError {
    /// The server's chain does not contain the pinned CA: nothing was sent.
    FingerprintMismatch,
    /// The pinned CA is there, but the server certificate is not valid (for this address, now).
    CertificateInvalid(String),
    /// No TLS connection could be made (refused, timed out, no route).
    Unreachable(String),
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptError::FingerprintMismatch => {
                f.write_str("its CA certificate does not have the pinned fingerprint (nothing was sent)")
            }
            AttemptError::CertificateInvalid(d) => write!(f, "its certificate is not valid here: {d}"),
            AttemptError::Unreachable(d) => write!(f, "unreachable: {d}"),
        }
    }
}

/// What went wrong, with the address and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The token lists no address.
    #[error("the enrollment token lists no address to connect to")]
    NoAddress,
    /// An address is not `host:port`.
    #[error("[{0}] is not a host:port address")]
    BadAddress(String),
    /// A server presented a CA other than the pinned one; the key was sent nowhere.
    #[error(
        "the server at [{address}] does not present the CA certificate with fingerprint [{expected}] that the enrollment token pins; the API key was not sent (is the token for another cluster, or was it altered?){}",
        others(attempts)
    )]
    FingerprintMismatch {
        /// The address whose server presented another CA.
        address: String,
        /// The fingerprint the token pins.
        expected: Fingerprint,
        /// Every address tried, with why it failed.
        attempts: Vec<(String, AttemptError)>,
    },
    /// No address could be used.
    #[error("could not connect to any address of the enrollment token: {}", list(attempts))]
    Unreachable {
        /// Every address tried, with why it failed.
        attempts: Vec<(String, AttemptError)>,
    },
    /// The token's API key has expired.
    #[error("the enrollment token has expired: {0}")]
    Expired(#[doc = "The server's reason."] String),
    /// A single-use token was used before.
    #[error("the enrollment token was already used: {0}")]
    AlreadyUsed(#[doc = "The server's reason."] String),
    /// The token is for the other kind of enrollment.
    #[error("the enrollment token has the wrong scope: {0}")]
    WrongScope(#[doc = "The server's reason."] String),
    /// Enrollment is switched off on the cluster.
    #[error("enrollment is disabled on the cluster: {0}")]
    Disabled(#[doc = "The server's reason."] String),
    /// Any other refusal or failure the server reported.
    #[error("the server at [{address}] answered {status}: {reason}")]
    Refused {
        /// The address that answered.
        address: String,
        /// The HTTP status.
        status: u16,
        /// The reason in the error body.
        reason: String,
    },
    /// The answer is not what the API returns.
    #[error("unexpected answer from [{address}]: {detail}")]
    BadResponse {
        /// The address that answered.
        address: String,
        /// What is wrong with the answer.
        detail: String,
    },
    /// The request failed after the connection was verified.
    #[error("request to [{address}] failed: {detail}")]
    Request {
        /// The address the request went to.
        address: String,
        /// The innermost cause.
        detail: String,
    },
    /// The TLS client could not be set up.
    #[error("cannot set up the TLS client: {0}")]
    Setup(String),
}

fn list(attempts: &[(String, AttemptError)]) -> String {
    attempts.iter().map(|(a, e)| format!("[{a}]: {e}")).collect::<Vec<_>>().join("; ")
}

fn others(attempts: &[(String, AttemptError)]) -> String {
    if attempts.len() <= 1 { String::new() } else { format!(" (every address tried: {})", list(attempts)) }
}

/// What `GET /_security/enroll/kibana` gives.
pub struct KibanaEnrollment {
    /// The service token's name (`enroll-process-token-<millis>`).
    pub token_name: String,
    /// The `elastic/kibana` bearer token.
    pub token_value: SecretString,
    /// The HTTP CA certificate (DER); its fingerprint is the pinned one.
    pub http_ca_der: Vec<u8>,
}

impl fmt::Debug for KibanaEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KibanaEnrollment")
            .field("token_name", &self.token_name)
            .field("token_value", &"[REDACTED]")
            .field("http_ca", &Fingerprint::of_der(&self.http_ca_der))
            .finish()
    }
}

/// What `POST /_security/enroll/node` gives (certificates as DER).
#[derive(Debug, Clone)]
pub struct NodeEnrollment {
    /// The cluster's HTTP CA certificate.
    pub http_ca_cert: Vec<u8>,
    /// The cluster's transport CA certificate.
    pub transport_ca_cert: Vec<u8>,
    /// The joining node's HTTP certificate, signed by the HTTP CA.
    pub http_cert: Vec<u8>,
    /// The joining node's transport certificate, signed by the transport CA.
    pub transport_cert: Vec<u8>,
    /// Transport addresses of the cluster's nodes.
    pub nodes_addresses: Vec<String>,
}

/// A connection to a cluster verified against the pinned CA, holding the token's API key.
pub struct EnrollmentClient {
    client: reqwest::Client,
    base: reqwest::Url,
    address: String,
    fingerprint: Fingerprint,
    authorization: SecretString,
}

impl fmt::Debug for EnrollmentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentClient")
            .field("address", &self.address)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The rustls error inside a request error, wherever the layers put it.
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    fn find<'a>(e: &'a (dyn std::error::Error + 'static), depth: usize) -> Option<&'a rustls::Error> {
        if depth > 16 {
            return None;
        }
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        // `io::Error::source` skips the error it wraps: look inside explicitly.
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = find(inner, depth + 1)
        {
            return Some(r);
        }
        e.source().and_then(|s| find(s, depth + 1))
    }
    find(e, 0)
}

/// The innermost message of an error chain (the outer layers repeat the URL).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut detail = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        detail = s.to_string();
        cur = s.source();
    }
    detail
}

fn classify(e: &reqwest::Error) -> AttemptError {
    match tls_error(e) {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            AttemptError::FingerprintMismatch
        }
        Some(rustls::Error::InvalidCertificate(other)) => {
            AttemptError::CertificateInvalid(format!("{other:?}"))
        }
        Some(other) => AttemptError::Unreachable(format!("TLS failed: {other}")),
        None => AttemptError::Unreachable(innermost(e)),
    }
}

/// Base64 DER fields: standard alphabet, padding optional.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl EnrollmentClient {
    /// Connects to the first of `addresses` (`host:port`, IPv6 in brackets) that presents the CA
    /// with `fingerprint` and a certificate valid for that address. `api_key` is the token's
    /// `<id>:<secret>`; it is sent only after the connection is verified, and only there.
    pub async fn connect(
        addresses: &[String],
        fingerprint: Fingerprint,
        api_key: &SecretString,
    ) -> Result<EnrollmentClient, ClientError> {
        if addresses.is_empty() {
            return Err(ClientError::NoAddress);
        }
        let mut attempts = Vec::new();
        for address in addresses {
            let base = reqwest::Url::parse(&format!("https://{address}/"))
                .ok()
                .filter(|u| u.host().is_some() && u.port().is_some() && u.path() == "/")
                .ok_or_else(|| ClientError::BadAddress(address.clone()))?;
            let client = pinned_client(fingerprint)?;
            // No credentials: any HTTP answer proves the pin and the certificate.
            match client.get(base.clone()).send().await {
                Ok(_) => {
                    let authorization = SecretString::from(format!(
                        "ApiKey {}",
                        STANDARD.encode(api_key.expose_secret().as_bytes())
                    ));
                    return Ok(EnrollmentClient {
                        client,
                        base,
                        address: address.clone(),
                        fingerprint,
                        authorization,
                    });
                }
                Err(e) => attempts.push((address.clone(), classify(&e))),
            }
        }
        match attempts.iter().find(|(_, e)| *e == AttemptError::FingerprintMismatch) {
            Some((address, _)) => Err(ClientError::FingerprintMismatch {
                address: address.clone(),
                expected: fingerprint,
                attempts,
            }),
            None => Err(ClientError::Unreachable { attempts }),
        }
    }

    /// The address this client talks to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The pinned fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        let failed =
            |e: reqwest::Error| ClientError::Request { address: self.address.clone(), detail: innermost(&e) };
        let resp = request
            .header("Authorization", self.authorization.expose_secret())
            .send()
            .await
            .map_err(failed)?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(failed)?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status == 200 {
            return Ok(body);
        }
        let e = &body["error"];
        let reason = [&e["reason"], &e["root_cause"][0]["reason"], &e["type"], e]
            .into_iter()
            .find_map(Value::as_str)
            .map_or_else(|| format!("HTTP status {status}"), str::to_owned);
        Err(match status {
            401 if reason.contains("has expired") => ClientError::Expired(reason),
            401 if reason.contains("already used") => ClientError::AlreadyUsed(reason),
            403 if reason.contains("cannot be used for") => ClientError::WrongScope(reason),
            403 if reason.contains("xpack.security.enrollment.enabled") => ClientError::Disabled(reason),
            _ => ClientError::Refused { address: self.address.clone(), status, reason },
        })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    fn der(&self, body: &Value, field: &str) -> Result<Vec<u8>, ClientError> {
        let bad = |detail: String| ClientError::BadResponse { address: self.address.clone(), detail };
        let text = body[field].as_str().ok_or_else(|| bad(format!("[{field}] is missing")))?;
        LENIENT.decode(text.trim()).map_err(|e| bad(format!("[{field}] is not base64: {e}")))
    }

    /// The HTTP CA of an answer must be the pinned one.
    fn check_ca(&self, der: &[u8], field: &str) -> Result<(), ClientError> {
        if Fingerprint::of_der(der) == self.fingerprint {
            Ok(())
        } else {
            Err(ClientError::BadResponse {
                address: self.address.clone(),
                detail: format!(
                    "[{field}] is not the CA certificate with the pinned fingerprint [{}]",
                    self.fingerprint
                ),
            })
        }
    }

    /// `GET /_security/enroll/kibana`: a service-account token for the console and the HTTP CA.
    pub async fn enroll_kibana(&self) -> Result<KibanaEnrollment, ClientError> {
        let body = self.call(self.client.get(self.url("_security/enroll/kibana"))).await?;
        let bad = |detail: &str| ClientError::BadResponse {
            address: self.address.clone(),
            detail: detail.to_owned(),
        };
        let token_name =
            body["token"]["name"].as_str().ok_or_else(|| bad("[token.name] is missing"))?.to_owned();
        let token_value = SecretString::from(
            body["token"]["value"].as_str().ok_or_else(|| bad("[token.value] is missing"))?.to_owned(),
        );
        let http_ca_der = self.der(&body, "http_ca")?;
        self.check_ca(&http_ca_der, "http_ca")?;
        Ok(KibanaEnrollment { token_name, token_value, http_ca_der })
    }

    /// `POST /_security/enroll/node` with the joining node's CSRs (PEM): its certificates signed
    /// by the cluster's CAs, the CA certificates, and the nodes' transport addresses.
    pub async fn enroll_node(
        &self,
        http_csr_pem: &str,
        transport_csr_pem: &str,
    ) -> Result<NodeEnrollment, ClientError> {
        let request = self
            .client
            .post(self.url("_security/enroll/node"))
            .header("Content-Type", "application/json")
            .body(
                serde_json::json!({ "http_csr": http_csr_pem, "transport_csr": transport_csr_pem })
                    .to_string(),
            );
        let body = self.call(request).await?;
        let http_ca_cert = self.der(&body, "http_ca_cert")?;
        self.check_ca(&http_ca_cert, "http_ca_cert")?;
        let nodes_addresses = body["nodes_addresses"]
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| ClientError::BadResponse {
                address: self.address.clone(),
                detail: "[nodes_addresses] is not a list of addresses".into(),
            })?;
        Ok(NodeEnrollment {
            http_ca_cert,
            transport_ca_cert: self.der(&body, "transport_ca_cert")?,
            http_cert: self.der(&body, "http_cert")?,
            transport_cert: self.der(&body, "transport_cert")?,
            nodes_addresses,
        })
    }
}

/// A reqwest client whose TLS trusts only a server whose chain holds the pinned CA.
fn pinned_client(fingerprint: Fingerprint) -> Result<reqwest::Client, ClientError> {
    let tls =
        bulwark_pki::client_config_pinned(fingerprint).map_err(|e| ClientError::Setup(e.to_string()))?;
    https_client(tls).map_err(|e| ClientError::Setup(innermost(&e)))
}

/// A reqwest client over `tls` (HTTP/1.1, HTTPS only, no proxy, the tools' timeouts): the one
/// way every HTTPS client of this crate is built.
pub(crate) fn https_client(mut tls: rustls::ClientConfig) -> Result<reqwest::Client, reqwest::Error> {
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    client_builder().tls_backend_preconfigured(tls).https_only(true).build()
}

/// What every client of this crate shares: no proxy, the tools' timeouts.
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().no_proxy().connect_timeout(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT)
}

#[cfg(test)]
mod tests;
