//! Enrollment APIs through the router, without a socket, over a real store: console and node
//! enrollment with real certificate signing, scope, expiry and single use.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use bulwark_pki::{CertUsage, CertifiedKey, KeyAlgorithm, new_ca, new_csr, sign_csr, verify_chain};
use bulwark_rest::{Enrollment, EnrollmentAuthority, RestState, SignError, SignedNode, router::router};
use bulwark_security::authn::{ApiKeyRecord, now_millis};
use bulwark_security::enrollment::{self, EnrollmentScope};
use bulwark_store::{Command, EntryKind};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::{PW, state_with};

async fn state() -> RestState {
    state_with(true).await
}

fn basic() -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("elastic:{PW}")))
}

async fn call_with(
    enrollment: Option<Enrollment>,
    state: &RestState,
    method: &str,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, auth)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let app = match enrollment {
        Some(e) => router(state.clone()).layer(axum::Extension(e)),
        None => router(state.clone()),
    };
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A node's authority with real CAs.
struct Authority {
    enabled: bool,
    http_ca: CertifiedKey,
    transport_ca: CertifiedKey,
}

impl EnrollmentAuthority for Authority {
    fn enrollment_enabled(&self) -> bool {
        self.enabled
    }
    fn http_ca_der(&self) -> Option<Vec<u8>> {
        Some(self.http_ca.cert_der().to_vec())
    }
    fn sign_node(&self, http_csr: &[u8], transport_csr: &[u8]) -> Result<SignedNode, SignError> {
        let bad = |e: bulwark_pki::PkiError| SignError::BadRequest(e.to_string());
        Ok(SignedNode {
            http_ca_cert: self.http_ca.cert_der().to_vec(),
            transport_ca_cert: self.transport_ca.cert_der().to_vec(),
            http_cert: sign_csr(&self.http_ca, http_csr, 30, CertUsage::Server, &[]).map_err(bad)?,
            transport_cert: sign_csr(&self.transport_ca, transport_csr, 30, CertUsage::ServerAndClient, &[])
                .map_err(bad)?,
        })
    }
    fn node_addresses(&self) -> Vec<String> {
        vec!["10.0.0.1:9300".into()]
    }
}

fn authority(enabled: bool) -> Enrollment {
    Enrollment(Arc::new(Authority {
        enabled,
        http_ca: new_ca("Test HTTP CA", 10, KeyAlgorithm::EcdsaP256).unwrap(),
        transport_ca: new_ca("Test transport CA", 10, KeyAlgorithm::EcdsaP256).unwrap(),
    }))
}

/// Stores an enrollment key as the node does at first start; returns its `ApiKey` header.
async fn enrollment_key(s: &RestState, scope: EnrollmentScope, ttl_ms: u64) -> (String, String) {
    let (id, secret, rec) =
        enrollment::new_internal_key(scope, std::time::Duration::from_millis(ttl_ms), now_millis()).unwrap();
    let value = serde_json::to_value(&rec).unwrap();
    s.store.write(Command::PutEntry { kind: EntryKind::ApiKey, id: id.clone(), value }).await.unwrap();
    let header = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{}", secret.expose_secret()));
    (id, format!("ApiKey {header}"))
}

fn reason(v: &Value) -> String {
    v["error"]["reason"].as_str().unwrap_or_default().to_owned()
}

fn csrs() -> Value {
    let (http, _) = new_csr(&bulwark_pki::CertRequest::new("node-2")).unwrap();
    let (transport, _) = new_csr(&bulwark_pki::CertRequest::new("node-2")).unwrap();
    // One as PEM, one as base64 DER: both are accepted.
    let body: String = http.lines().filter(|l| !l.starts_with("-----")).collect();
    json!({ "http_csr": body, "transport_csr": transport })
}

#[tokio::test]
async fn kibana_enrollment_gives_a_service_token_and_the_ca() {
    let s = state().await;
    let e = authority(true);
    let ca = e.0.http_ca_der().unwrap();
    let (_, key) = enrollment_key(&s, EnrollmentScope::Kibana, 60_000).await;
    let (status, body) = call_with(Some(e.clone()), &s, "GET", "/_security/enroll/kibana", &key, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let name = body["token"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("enroll-process-token-"), "{name}");
    assert_eq!(body["http_ca"], base64::engine::general_purpose::STANDARD.encode(&ca));
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["token", "http_ca"]);
    let bearer = format!("Bearer {}", body["token"]["value"].as_str().unwrap());
    let (status, me) = call_with(None, &s, "GET", "/_security/_authenticate", &bearer, None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "elastic/kibana");
    assert_eq!(me["token"]["name"], name.as_str());

    // The key does nothing else.
    for path in ["/", "/_security/user", "/_cluster/health", "/_security/api_key"] {
        let (status, body) = call_with(Some(e.clone()), &s, "GET", path, &key, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let (status, body) =
        call_with(Some(e.clone()), &s, "POST", "/_security/enroll/node", &key, Some(csrs())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(reason(&body).contains("is for [kibana] enrollment and cannot be used for [node]"), "{body}");
    // Several enrollments: several tokens.
    let (status, again) = call_with(Some(e.clone()), &s, "GET", "/_security/enroll/kibana", &key, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(again["token"]["name"].as_str(), Some(name.as_str()));
    // A superuser may call it too.
    let (status, _) = call_with(Some(e), &s, "GET", "/_security/enroll/kibana", &basic(), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn disabled_or_unavailable_enrollment_is_refused() {
    let s = state().await;
    let (_, key) = enrollment_key(&s, EnrollmentScope::Kibana, 60_000).await;
    for e in [Some(authority(false)), None] {
        let (status, body) = call_with(e, &s, "GET", "/_security/enroll/kibana", &key, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(reason(&body).contains("[xpack.security.enrollment.enabled]"), "{body}");
    }
}

#[tokio::test]
async fn node_enrollment_signs_csrs_once() {
    let s = state().await;
    let e = authority(true);
    let (id, key) = enrollment_key(&s, EnrollmentScope::Node, 60_000).await;
    let (status, body) = call_with(Some(e.clone()), &s, "GET", "/_security/enroll/kibana", &key, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(reason(&body).contains("is for [node] enrollment and cannot be used for [kibana]"), "{body}");
    let (status, body) = call_with(Some(e.clone()), &s, "GET", "/_security/enroll/node", &key, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(reason(&body).contains("POST /_security/enroll/node"), "{body}");
    let (status, body) = call_with(
        Some(e.clone()),
        &s,
        "POST",
        "/_security/enroll/node",
        &key,
        Some(json!({"http_csr": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call_with(
        Some(e.clone()),
        &s,
        "POST",
        "/_security/enroll/node",
        &key,
        Some(json!({"http_csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", "transport_csr": "AAAA"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a bad CSR does not use the token up: {body}");

    let (status, body) =
        call_with(Some(e.clone()), &s, "POST", "/_security/enroll/node", &key, Some(csrs())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let der = |k: &str| base64::engine::general_purpose::STANDARD.decode(body[k].as_str().unwrap()).unwrap();
    verify_chain(&der("http_cert"), &der("http_ca_cert")).unwrap();
    verify_chain(&der("transport_cert"), &der("transport_ca_cert")).unwrap();
    assert_eq!(body["nodes_addresses"], json!(["10.0.0.1:9300"]));
    assert!(!body.to_string().contains("key"), "no private key is ever sent: {body}");

    let (status, body) =
        call_with(Some(e.clone()), &s, "POST", "/_security/enroll/node", &key, Some(csrs())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(reason(&body).contains("already used"), "{body}");
    let rec: ApiKeyRecord =
        serde_json::from_value(s.store.get_entry(EntryKind::ApiKey, &id).unwrap().unwrap()).unwrap();
    assert!(rec.invalidated && rec.metadata[enrollment::USED_METADATA] == json!(true));
}

#[tokio::test]
async fn an_expired_token_says_so() {
    let s = state().await;
    let (_, key) = enrollment_key(&s, EnrollmentScope::Kibana, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, body) =
        call_with(Some(authority(true)), &s, "GET", "/_security/enroll/kibana", &key, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(reason(&body).contains("the enrollment token has expired"), "{body}");
}
