//! The router without a socket: authentication, error shapes, media types, product header.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use bulwark_rest::{RestState, router::router};
use serde_json::Value;
use tower::ServiceExt;

mod common;
use common::{PW, state_with};

async fn state(security_enabled: bool) -> RestState {
    state_with(security_enabled).await
}

fn basic(user: &str, pw: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}")))
}

async fn call(state: RestState, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let resp = router(state).oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::builder().uri(path)
}

#[tokio::test]
async fn no_credentials_is_401_with_challenges_and_product_header() {
    let (status, headers, body) = call(state(true).await, get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["x-elastic-product"], "Elasticsearch");
    let challenges: Vec<_> =
        headers.get_all(header::WWW_AUTHENTICATE).iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(
        challenges,
        ["Basic realm=\"security\", charset=\"UTF-8\"", "Bearer realm=\"security\"", "ApiKey"]
    );
    assert_eq!(body["status"], 401);
    assert_eq!(body["error"]["type"], "security_exception");
    assert_eq!(body["error"]["reason"], "missing authentication credentials for REST request [/]");
    assert_eq!(body["error"]["root_cause"][0]["type"], "security_exception");
}

#[tokio::test]
async fn wrong_password_is_401_without_hint() {
    let req = get("/").header(header::AUTHORIZATION, basic("elastic", "nope")).body(Body::empty()).unwrap();
    let (status, headers, body) = call(state(true).await, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(body["error"]["reason"], "unable to authenticate user [elastic] for REST request [/]");
    let req = get("/").header(header::AUTHORIZATION, basic("nobody", "nope")).body(Body::empty()).unwrap();
    let (_, _, body2) = call(state(true).await, req).await;
    assert_eq!(body2["error"]["reason"], "unable to authenticate user [nobody] for REST request [/]");
}

#[tokio::test]
async fn elastic_gets_info_health_and_authenticate() {
    let s = state(true).await;
    let req = get("/").header(header::AUTHORIZATION, basic("elastic", PW)).body(Body::empty()).unwrap();
    let (status, headers, body) = call(s.clone(), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-elastic-product"], "Elasticsearch");
    assert_eq!(body["version"]["number"], "8.19.0");
    assert_eq!(body["version"]["build_flavor"], "default");
    assert_eq!(body["version"]["distribution"], "bulwark");
    assert_eq!(body["tagline"], "You Know, for Search");
    assert_eq!(body["cluster_name"], "c1");
    let req = get("/_cluster/health?wait_for_status=green")
        .header(header::AUTHORIZATION, basic("elastic", PW))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = call(s.clone(), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "green");
    assert_eq!(body["number_of_nodes"], 1);
    let req = get("/_security/_authenticate")
        .header(header::AUTHORIZATION, basic("elastic", PW))
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = call(s, req).await;
    assert_eq!(body["username"], "elastic");
    assert_eq!(body["roles"][0], "superuser");
    assert_eq!(body["authentication_realm"]["type"], "reserved");
}

#[tokio::test]
async fn compatible_media_types() {
    for v in ["7", "8", "9"] {
        let req = get("/")
            .header(header::AUTHORIZATION, basic("elastic", PW))
            .header(header::ACCEPT, format!("application/vnd.elasticsearch+json; compatible-with={v}"))
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = call(state(true).await, req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            format!("application/vnd.elasticsearch+json;compatible-with={v}")
        );
    }
    let req = get("/")
        .header(header::AUTHORIZATION, basic("elastic", PW))
        .header(header::ACCEPT, "application/vnd.elasticsearch+json; compatible-with=6")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = call(state(true).await, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["x-elastic-product"], "Elasticsearch");
    assert_eq!(body["error"]["type"], "media_type_header_exception");
}

#[tokio::test]
async fn unknown_path_and_pretty_and_disabled_security() {
    let req = get("/nope/x").header(header::AUTHORIZATION, basic("elastic", PW)).body(Body::empty()).unwrap();
    let (status, _, body) = call(state(true).await, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "no handler found for uri [/nope/x] and method [GET]");
    let resp =
        router(state(false).await).oneshot(get("/?pretty").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec())
        .unwrap();
    assert!(text.contains("\n  \"cluster_name\""), "{text}");
}

#[tokio::test]
async fn cat_tables_in_text_and_json() {
    let auth = basic("elastic", PW);
    let resp = router(state(true).await)
        .oneshot(
            get("/_cat/nodes?v&h=ip,master,name")
                .header(header::AUTHORIZATION, &auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec())
        .unwrap();
    assert_eq!(text, "ip        master name\n127.0.0.1 *      n1\n");
    let req =
        get("/_cat/health?format=json").header(header::AUTHORIZATION, &auth).body(Body::empty()).unwrap();
    let (status, _, body) = call(state(true).await, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["status"], "green");
    assert_eq!(body[0]["node.total"], "1");
    let req = get("/_cat/nodes?h=nope").header(header::AUTHORIZATION, &auth).body(Body::empty()).unwrap();
    let (status, _, _) = call(state(true).await, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
