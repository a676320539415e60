//! API key and service account APIs through the router, without a socket, over a real store.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use bulwark_rest::{RestState, router::router};
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

async fn call(
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
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn api_key_lifecycle() {
    let s = state().await;
    let (status, key) =
        call(&s, "POST", "/_security/api_key", &basic(), Some(json!({ "name": "k1", "expiration": "1h" })))
            .await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let auth = format!("ApiKey {}", key["encoded"].as_str().unwrap());
    let (status, me) = call(&s, "GET", "/_security/_authenticate", &auth, None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["api_key"], json!({ "id": key["id"], "name": "k1" }));
    assert_eq!(me["authentication_type"], "api_key");

    let id = key["id"].as_str().unwrap();
    let (status, got) = call(&s, "GET", &format!("/_security/api_key?id={id}"), &basic(), None).await;
    assert_eq!(status, StatusCode::OK);
    let k = &got["api_keys"][0];
    assert_eq!((k["username"].as_str(), k["realm"].as_str()), (Some("elastic"), Some("reserved")));
    assert_eq!(k["expiration"], key["expiration"]);
    assert!(!got.to_string().contains(key["api_key"].as_str().unwrap()));
    let (status, none) = call(&s, "GET", "/_security/api_key?id=nope", &basic(), None).await;
    assert_eq!((status, none), (StatusCode::NOT_FOUND, json!({ "api_keys": [] })));

    let (status, e) = call(&s, "DELETE", "/_security/api_key", &basic(), Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["type"], "action_request_validation_exception");
    let (status, out) =
        call(&s, "DELETE", "/_security/api_key", &basic(), Some(json!({ "ids": [id] }))).await;
    assert_eq!((status, &out["invalidated_api_keys"]), (StatusCode::OK, &json!([id])));
    let (status, e) = call(&s, "GET", "/_security/_authenticate", &auth, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(e["error"]["reason"].as_str().unwrap().contains("invalidated"), "{e}");

    let (status, cleared) =
        call(&s, "POST", &format!("/_security/api_key/{id}/_clear_cache"), &basic(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared["_nodes"], json!({ "total": 1, "successful": 1, "failed": 0 }));
    assert_eq!(cleared["cluster_name"], "c1");
    assert_eq!(cleared["nodes"].as_object().unwrap().values().next().unwrap()["name"], "n1");
}

#[tokio::test]
async fn service_tokens_and_accounts() {
    let s = state().await;
    let path = "/_security/service/elastic/fleet-server/credential/token/t1";
    let (status, created) = call(&s, "POST", path, &basic(), None).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["token"]["name"], "t1");
    let bearer = format!("Bearer {}", created["token"]["value"].as_str().unwrap());
    let (status, me) = call(&s, "GET", "/_security/_authenticate", &bearer, None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "elastic/fleet-server");
    assert_eq!(me["token"], json!({ "name": "t1", "type": "_service_account_index" }));

    let (status, dup) = call(&s, "PUT", path, &basic(), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(dup["error"]["type"], "version_conflict_engine_exception");
    let (_, creds) =
        call(&s, "GET", "/_security/service/elastic/fleet-server/credential", &basic(), None).await;
    assert_eq!(creds["tokens"], json!({ "t1": {} }));
    assert_eq!(creds["count"], 1);

    let (status, found) = call(&s, "DELETE", path, &basic(), None).await;
    assert_eq!((status, found), (StatusCode::OK, json!({ "found": true })));
    let (status, found) = call(&s, "DELETE", path, &basic(), None).await;
    assert_eq!((status, found), (StatusCode::NOT_FOUND, json!({ "found": false })));
    let (status, _) = call(&s, "GET", "/_security/_authenticate", &bearer, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, all) = call(&s, "GET", "/_security/service", &basic(), None).await;
    assert!(all.get("elastic/kibana").is_some() && all.get("elastic/fleet-server").is_some());
    let (status, none) = call(&s, "GET", "/_security/service/elastic/nobody", &basic(), None).await;
    assert_eq!((status, none), (StatusCode::OK, json!({})));
    let (status, realm) =
        call(&s, "POST", "/_security/realm/*/_clear_cache?usernames=elastic", &basic(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(realm["_nodes"]["successful"], 1);
}
