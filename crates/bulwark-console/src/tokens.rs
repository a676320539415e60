//! The session's tokens from the node's token service, as Kibana keeps its sessions.
//!
//! At login the console's service account exchanges the user's name and password for an access
//! token and a refresh token (`POST /_security/oauth2/token`, `grant_type: password`); the node
//! checks the password, and the pair stands for the user. Every page then asks the node with
//! `Authorization: Bearer <access token>`, as the user. An access token lives for the node's
//! `xpack.security.authc.token.timeout` (20 minutes by default): when its `expires_in` is (nearly)
//! over, or the node answers 401 "token expired", the service account refreshes the pair once
//! (`grant_type: refresh_token`; only the client that asked for a pair may refresh it) and the
//! request is made again with the new access token.
//!
//! A refresh token is single use, and two requests of one browser can find the same expired
//! token at once. Refreshes are therefore serialised, and the newest pair of each session that
//! refreshed is kept in memory by session id: the second request takes the pair the first one
//! stored instead of spending the refresh token again, and every response re-issues the cookie
//! with the newest pair (even when the browser keeps the cookie of a request that was slower).
//! The memory holds at most one pair per live session and forgets it at logout, at the end of the
//! session's lifespan, or when its refresh token would have expired (24 hours after the pair was
//! made). Logout invalidates both tokens of the newest pair on the node.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use bulwark_client::{Answer, Credentials, NodeError};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::app::{AppState, NodeLink};
use crate::session::{self, Session, TokenPair};

/// How long a refresh token can be used after its pair was made (the node's rule).
const REFRESH_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;
/// The node's reason for an expired or invalidated access token.
const TOKEN_EXPIRED: &str = "token expired";

/// The newest token pair of each session that refreshed, and the lock refreshes take.
#[derive(Default)]
pub struct Refreshes {
    /// Session id → (newest pair, when to forget it).
    latest: Mutex<HashMap<String, (TokenPair, u64)>>,
    one: tokio::sync::Mutex<()>,
}

impl Refreshes {
    /// The newest pair of session `s`: the cookie's, or a newer one another request stored.
    pub fn newest(&self, s: &Session) -> TokenPair {
        let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        match latest.get(&s.sid) {
            Some((pair, until)) if *until > session::now() && pair.generation > s.tokens().generation => {
                pair.clone()
            }
            _ => s.tokens().clone(),
        }
    }

    /// Keeps `pair` as session `sid`'s newest until `until`; pairs past their time are forgotten
    /// here, on the rare refresh, rather than on every page request.
    fn store(&self, sid: &str, pair: TokenPair, until: u64) {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        let now = session::now();
        latest.retain(|_, (_, until)| *until > now);
        latest.insert(sid.to_owned(), (pair, until));
    }

    /// Forgets an ended session's pair.
    pub fn forget(&self, sid: &str) {
        self.latest.lock().unwrap_or_else(PoisonError::into_inner).remove(sid);
    }
}

/// Reads the token service's answer: a pair, and the authentication it reports. A refused grant
/// (the node's OAuth2-style 400 `{"error", "error_description"}`) becomes a 401, so that a page
/// sends the browser to the login page.
fn pair_of(answer: Answer, generation: u32, issued: u64) -> Result<(TokenPair, Value), NodeError> {
    if !(200..300).contains(&answer.status) {
        if let Some(error) = answer.body["error"].as_str() {
            let reason = answer.body["error_description"].as_str().unwrap_or(error).to_owned();
            return Err(NodeError::Api { status: 401, kind: error.to_owned(), reason });
        }
        let kind = answer.body["error"]["type"].as_str().unwrap_or("error").to_owned();
        return Err(NodeError::Api { status: answer.status, kind, reason: answer.reason() });
    }
    let b = &answer.body;
    let (Some(access), Some(refresh), Some(expires_in)) =
        (b["access_token"].as_str(), b["refresh_token"].as_str(), b["expires_in"].as_u64())
    else {
        return Err(NodeError::BadResponse(
            "the token service's answer lacks [access_token], [refresh_token] or [expires_in]".into(),
        ));
    };
    let pair = TokenPair::new(access.to_owned(), refresh.to_owned(), expires_in, issued, generation);
    Ok((pair, b["authentication"].clone()))
}

/// Login: the user's name and password for a token pair, and the node's authentication of the
/// user (`username`, `roles`, …). The password goes in this one request and is kept nowhere.
pub async fn login(
    node: &NodeLink,
    username: &str,
    password: &SecretString,
) -> Result<(TokenPair, Value), NodeError> {
    let body = json!({"grant_type": "password", "username": username, "password": password.expose_secret()});
    let issued = session::now();
    let answer = node
        .client
        .send(reqwest::Method::POST, "_security/oauth2/token", Credentials::Bearer(&node.token), Some(&body))
        .await?;
    pair_of(answer, 0, issued)
}

/// Refreshes session `s`'s pair `stale` once: under the lock, a pair another request of the same
/// session already got is taken instead of spending the refresh token again.
async fn refresh(
    state: &AppState,
    node: &NodeLink,
    s: &Session,
    stale: &TokenPair,
) -> Result<TokenPair, NodeError> {
    let _one = state.refreshes.one.lock().await;
    let newest = state.refreshes.newest(s);
    if newest.generation > stale.generation {
        return Ok(newest);
    }
    let body = json!({"grant_type": "refresh_token", "refresh_token": stale.refresh_token().expose_secret()});
    let issued = session::now();
    let answer = node
        .client
        .send(reqwest::Method::POST, "_security/oauth2/token", Credentials::Bearer(&node.token), Some(&body))
        .await?;
    let (pair, _) = pair_of(answer, stale.generation.saturating_add(1), issued).inspect_err(|e| {
        tracing::info!(user = %s.user, error = %e, "the session's refresh token was refused: the user logs in again");
    })?;
    let lifespan = u64::try_from(state.settings().session_lifespan.as_millis()).unwrap_or(u64::MAX);
    let until = s.created.saturating_add(lifespan).min(issued.saturating_add(REFRESH_LIFETIME_MS));
    state.refreshes.store(&s.sid, pair.clone(), until);
    Ok(pair)
}

/// Whether the node refused an access token as expired (or invalidated).
fn expired(e: &NodeError) -> bool {
    matches!(e, NodeError::Api { status: 401, reason, .. } if reason == TOKEN_EXPIRED)
}

/// `method path` (with an optional JSON body) as the session's user: the JSON answer of a 2xx,
/// else the node's error. The access token is refreshed once when it has expired.
pub async fn call(
    state: &AppState,
    s: &Session,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, NodeError> {
    let Some(node) = state.node() else {
        return Err(NodeError::Unreachable("the console has no node".into()));
    };
    let mut pair = state.refreshes.newest(s);
    let mut refreshed = false;
    if pair.due(session::now()) {
        pair = refresh(state, &node, s, &pair).await?;
        refreshed = true;
    }
    match node.client.call(method.clone(), path, Credentials::Bearer(&pair.access_token()), body).await {
        Err(e) if expired(&e) && !refreshed => {
            let pair = refresh(state, &node, s, &pair).await?;
            node.client.call(method, path, Credentials::Bearer(&pair.access_token()), body).await
        }
        r => r,
    }
}

/// `GET path` as the session's user.
pub async fn get(state: &AppState, s: &Session, path: &str) -> Result<Value, NodeError> {
    call(state, s, reqwest::Method::GET, path, None).await
}

/// Invalidates both tokens of `pair` on the node (logout). Failures are logged: the access token
/// dies with its timeout anyway, the refresh token 24 hours after it was made.
pub async fn invalidate(node: &NodeLink, user: &str, pair: &TokenPair) {
    for (field, token) in [("token", pair.access_token()), ("refresh_token", pair.refresh_token())] {
        let body = json!({ field: token.expose_secret() });
        let r =
            node.client.delete("_security/oauth2/token", Credentials::Bearer(&node.token), Some(&body)).await;
        if let Err(e) = r {
            tracing::warn!(user = %user, error = %e, "could not invalidate the ended session's [{field}]");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: Value) -> Answer {
        Answer { status, body }
    }

    #[test]
    fn token_answers_and_refusals() {
        let ok = json!({"access_token": "a", "type": "Bearer", "expires_in": 1200, "refresh_token": "r",
            "authentication": {"username": "kim"}});
        let (pair, me) = pair_of(answer(200, ok), 3, 1000).unwrap();
        assert_eq!((pair.generation, pair.issued, pair.expires), (3, 1000, 1_201_000));
        assert_eq!(me["username"], "kim");
        // A refused grant (the node's OAuth2 body) reads as a 401 with the node's words.
        let refused =
            json!({"error": "invalid_grant", "error_description": "token has already been refreshed"});
        match pair_of(answer(400, refused), 1, 0) {
            Err(NodeError::Api { status: 401, kind, reason }) => {
                assert_eq!(
                    (kind.as_str(), reason.as_str()),
                    ("invalid_grant", "token has already been refreshed")
                );
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        // An Elasticsearch error keeps its status; an answer without tokens is not taken.
        let denied =
            json!({"error": {"type": "security_exception", "reason": "action denied"}, "status": 403});
        assert_eq!(pair_of(answer(403, denied), 0, 0).err().and_then(|e| e.status()), Some(403));
        let partial = json!({"access_token": "a", "expires_in": 1});
        assert!(matches!(pair_of(answer(200, partial), 0, 0), Err(NodeError::BadResponse(_))));
        // Only the node's "token expired" 401 asks for a refresh.
        let e = |status, reason: &str| NodeError::Api {
            status,
            kind: "security_exception".into(),
            reason: reason.into(),
        };
        assert!(expired(&e(401, "token expired")));
        assert!(!expired(&e(401, "unable to authenticate user [kim]")) && !expired(&e(403, "token expired")));
    }
}
