//! The token service's APIs: `POST /_security/oauth2/token` (grant types `password`,
//! `client_credentials`, `refresh_token`) and `DELETE /_security/oauth2/token` (by token, refresh
//! token, realm or user name), answered as Elasticsearch answers them — including its OAuth2-style
//! error bodies (`{"error": "invalid_grant", "error_description": ...}`) for refused grants.
//!
//! The token pairs are store entries (kind `token`) holding only salted hashes; the security
//! crate's `access_token` module owns their format and rules. A refresh token is single use: a
//! second use is refused (Elasticsearch hands out the same new pair again within 30 seconds; we do
//! not). Refreshes and invalidations on one node are serialised by a lock; two nodes refreshing
//! the same token at the same moment could both succeed.

use std::sync::atomic::{AtomicI64, Ordering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_security::authn::{
    Authentication, Credentials, NewTokenPair, ParsedAccessToken, RealmRef, RefreshRefusal, TokenClient,
    TokenKind, TokenRecord, TokenSubject, now_millis,
};
use bulwark_store::{Command, EntryKind};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::body::{self, known_fields, opt_string};
use crate::caller::Caller;
use crate::{ApiError, ErrorType, RestState};

/// The fields of a token request.
pub const TOKEN_FIELDS: &[&str] =
    &["grant_type", "username", "password", "kerberos_ticket", "scope", "refresh_token"];

/// The fields of an invalidation request.
pub const INVALIDATE_FIELDS: &[&str] = &["token", "refresh_token", "realm_name", "username"];

/// The grant types Elasticsearch lists in its validation message, in its order.
const GRANT_TYPES: &str = "password, _kerberos, refresh_token, client_credentials";

/// Serialises the read-check-write of refreshes and invalidations on this node.
static PAIRS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// When spent pairs were last removed (epoch ms).
static LAST_SWEEP: AtomicI64 = AtomicI64::new(0);
/// How often creating tokens also removes spent pairs.
const SWEEP_EVERY_MS: i64 = 10 * 60 * 1000;

/// An OAuth2 error answer (RFC 6749 §5.2), as Elasticsearch sends for refused grants.
fn oauth_error(error: &str, description: impl Into<String>) -> Response {
    let body = json!({ "error": error, "error_description": description.into() });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// The answer when `xpack.security.authc.token.enabled` is false (Elasticsearch's words).
fn not_enabled() -> ApiError {
    ApiError::new(ErrorType::FeatureNotEnabled, "security tokens are not enabled")
}

/// The service's token lifetime and the caller, or why the API cannot run.
fn service(state: &RestState, who: Caller) -> Result<(i64, Authentication), ApiError> {
    let timeout = state.token_timeout.ok_or_else(not_enabled)?;
    let a = who.authn.ok_or_else(|| {
        ApiError::illegal_argument("security tokens are not enabled: security is disabled on this node")
    })?;
    Ok((i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX), a))
}

/// Who a token stands for.
fn subject_of(a: &Authentication) -> TokenSubject {
    TokenSubject {
        username: a.user.username.clone(),
        roles: a.user.roles.clone(),
        full_name: a.user.full_name.clone(),
        email: a.user.email.clone(),
        realm: a.lookup_realm.name.to_owned(),
        realm_type: a.lookup_realm.realm_type.to_owned(),
    }
}

/// The client asking: only it may refresh the pair.
fn client_of(a: &Authentication) -> TokenClient {
    TokenClient { username: a.user.username.clone(), realm: a.authentication_realm.name.to_owned() }
}

/// A token request, checked as Elasticsearch's `CreateTokenRequest` checks it.
struct TokenRequest {
    grant_type: String,
    username: Option<String>,
    password: Option<SecretString>,
    scope: Option<String>,
    refresh_token: Option<SecretString>,
}

fn parse_request(m: &Map<String, Value>) -> Result<Result<TokenRequest, Response>, ApiError> {
    known_fields(m, "token_request", TOKEN_FIELDS)?;
    let grant_type = opt_string(m, "grant_type")?;
    let username = opt_string(m, "username")?;
    let password = opt_string(m, "password")?.map(SecretString::from);
    let kerberos = opt_string(m, "kerberos_ticket")?.map(SecretString::from);
    let scope = opt_string(m, "scope")?;
    let refresh_token = opt_string(m, "refresh_token")?.map(SecretString::from);
    let mut errors = Vec::new();
    let unsupported = |errors: &mut Vec<String>, field: &str, present: bool, grant: &str| {
        if present {
            errors.push(format!("{field} is not supported with the {grant} grant_type"));
        }
    };
    let required = |errors: &mut Vec<String>, field: &str, value: Option<&str>| {
        if value.is_none_or(str::is_empty) {
            errors.push(format!("{field} is missing"));
        }
    };
    let g = grant_type.as_deref().unwrap_or("");
    match g {
        "password" => {
            unsupported(&mut errors, "kerberos_ticket", kerberos.is_some(), g);
            unsupported(&mut errors, "refresh_token", refresh_token.is_some(), g);
            required(&mut errors, "username", username.as_deref());
            required(&mut errors, "password", password.as_ref().map(|p| p.expose_secret()));
        }
        "_kerberos" => {
            unsupported(&mut errors, "username", username.is_some(), g);
            unsupported(&mut errors, "password", password.is_some(), g);
            unsupported(&mut errors, "refresh_token", refresh_token.is_some(), g);
            required(&mut errors, "kerberos_ticket", kerberos.as_ref().map(|k| k.expose_secret()));
        }
        "refresh_token" => {
            unsupported(&mut errors, "username", username.is_some(), g);
            unsupported(&mut errors, "password", password.is_some(), g);
            unsupported(&mut errors, "kerberos_ticket", kerberos.is_some(), g);
            required(&mut errors, "refresh_token", refresh_token.as_ref().map(|r| r.expose_secret()));
        }
        "client_credentials" => {
            unsupported(&mut errors, "username", username.is_some(), g);
            unsupported(&mut errors, "password", password.is_some(), g);
            unsupported(&mut errors, "kerberos_ticket", kerberos.is_some(), g);
            unsupported(&mut errors, "refresh_token", refresh_token.is_some(), g);
        }
        _ => errors.push(format!("grant_type only supports the values: [{GRANT_TYPES}]")),
    }
    if !errors.is_empty() {
        let listed: String = errors.iter().enumerate().map(|(i, e)| format!("{}: {e};", i + 1)).collect();
        let kind = if errors.iter().any(|e| e.contains("grant_type")) {
            "unsupported_grant_type"
        } else {
            "invalid_request"
        };
        return Ok(Err(oauth_error(kind, format!("Validation Failed: {listed}"))));
    }
    if g == "_kerberos" {
        return Ok(Err(oauth_error(
            "unsupported_grant_type",
            "grant_type [_kerberos] is not supported: this node has no kerberos realm",
        )));
    }
    Ok(Ok(TokenRequest { grant_type: g.to_owned(), username, password, scope, refresh_token }))
}

/// `POST /_security/oauth2/token`.
pub async fn create(State(state): State<RestState>, who: Caller, bytes: Bytes) -> Result<Response, ApiError> {
    let origin = who.origin().clone();
    let (timeout_ms, caller) = service(&state, who)?;
    let m = body::object(&bytes, true)?;
    let req = match parse_request(&m)? {
        Ok(r) => r,
        Err(answer) => return Ok(answer),
    };
    let now = now_millis();
    let (pair, authn, stored) = match req.grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) = (req.username, req.password) else {
                return Err(body::validation("username is missing"));
            };
            let credentials = Credentials::Basic { username, password };
            let user = crate::authn::authenticate_body_credentials(&state, credentials, origin).await?;
            (NewTokenPair::create(subject_of(&user), client_of(&caller), now, timeout_ms, true)?, user, false)
        }
        "client_credentials" => {
            if caller.authentication_realm == RealmRef::SERVICE_ACCOUNT {
                return Err(ApiError::illegal_argument(
                    "OAuth2 token creation is not supported for service accounts",
                ));
            }
            if caller.api_key.is_some() || caller.authentication_type == "token" {
                return Err(ApiError::illegal_argument(format!(
                    "OAuth2 token creation with grant_type [client_credentials] is not supported when authenticated by {}",
                    if caller.api_key.is_some() { "an api key" } else { "a token" }
                )));
            }
            (
                NewTokenPair::create(subject_of(&caller), client_of(&caller), now, timeout_ms, false)?,
                caller,
                false,
            )
        }
        _ => {
            let Some(refresh) = req.refresh_token else {
                return Err(body::validation("refresh_token is missing"));
            };
            match refresh_pair(&state, &refresh, &caller, now, timeout_ms).await? {
                Ok((pair, authn)) => (pair, authn, true),
                Err(refusal) => return Ok(oauth_error("invalid_grant", refusal.to_string())),
            }
        }
    };
    if !stored {
        state.store.write(put(&pair.id, &pair.record)?).await.map_err(ApiError::from)?;
    }
    sweep(&state, now).await;
    let mut out = Map::new();
    out.insert("access_token".into(), json!(pair.access_token.expose_secret()));
    out.insert("type".into(), json!("Bearer"));
    out.insert("expires_in".into(), json!(timeout_ms / 1000));
    if req.scope.is_some() {
        // The only scope Elasticsearch issues tokens for; named when one was asked for.
        out.insert("scope".into(), json!("full"));
    }
    if let Some(r) = &pair.refresh_token {
        out.insert("refresh_token".into(), json!(r.expose_secret()));
    }
    out.insert("authentication".into(), super::security::render_authentication(&authn));
    Ok(Json(Value::Object(out)).into_response())
}

/// The command storing a pair.
fn put(id: &str, r: &TokenRecord) -> Result<Command, ApiError> {
    let value =
        serde_json::to_value(r).map_err(|e| ApiError::internal(format!("cannot encode a token: {e}")))?;
    Ok(Command::PutEntry { kind: EntryKind::Token, id: id.to_owned(), value })
}

fn load(state: &RestState, id: &str) -> Result<Option<TokenRecord>, ApiError> {
    let v = state.store.get_entry(EntryKind::Token, id).map_err(ApiError::from)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

/// Uses a refresh token: the old pair is marked refreshed and a new pair is made for the same
/// user, both in one store write. `Ok(Err(_))` is a refused grant.
async fn refresh_pair(
    state: &RestState,
    refresh: &SecretString,
    caller: &Authentication,
    now: i64,
    timeout_ms: i64,
) -> Result<Result<(NewTokenPair, Authentication), RefreshRefusal>, ApiError> {
    let Some(token) = ParsedAccessToken::parse(refresh).filter(|t| t.kind == TokenKind::Refresh) else {
        return Ok(Err(RefreshRefusal::Unknown));
    };
    let _guard = PAIRS.lock().await;
    let Some(mut record) = load(state, &token.id)?.filter(|r| r.matches(&token)) else {
        return Ok(Err(RefreshRefusal::Unknown));
    };
    if let Err(refusal) = record.check_refresh(&client_of(caller), now) {
        return Ok(Err(refusal));
    }
    let Some(authn) = state.authenticator.token_subject(&record.subject) else {
        return Ok(Err(RefreshRefusal::Unknown));
    };
    let pair = NewTokenPair::create(record.subject.clone(), record.client.clone(), now, timeout_ms, true)?;
    record.refreshed = true;
    let batch = Command::Batch(vec![put(&token.id, &record)?, put(&pair.id, &pair.record)?]);
    state.store.write(batch).await.map_err(ApiError::from)?;
    Ok(Ok((pair, authn)))
}

/// Removes pairs nothing can use any more, at most every ten minutes (best effort: a failure is
/// logged and retried next time).
async fn sweep(state: &RestState, now: i64) {
    let last = LAST_SWEEP.load(Ordering::Relaxed);
    if now - last < SWEEP_EVERY_MS
        || LAST_SWEEP.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
    {
        return;
    }
    let Ok(entries) = state.store.entries(EntryKind::Token) else { return };
    let spent: Vec<Command> = entries
        .into_iter()
        .filter(|(_, v)| serde_json::from_value::<TokenRecord>(v.clone()).is_ok_and(|r| r.is_spent(now)))
        .map(|(id, _)| Command::DeleteEntry { kind: EntryKind::Token, id })
        .collect();
    if spent.is_empty() {
        return;
    }
    if let Err(e) = state.store.write(Command::Batch(spent)).await {
        tracing::warn!("cannot remove spent security tokens: {e}");
    }
}

/// What an invalidation request names.
enum Target {
    Token(ParsedAccessToken),
    /// A token string that is not one of ours: nothing to invalidate.
    Nothing,
    Owners {
        realm: Option<String>,
        username: Option<String>,
    },
}

fn parse_invalidate(m: &Map<String, Value>) -> Result<Target, ApiError> {
    known_fields(m, "invalidate_token", INVALIDATE_FIELDS)?;
    let nonempty =
        |k: &str| -> Result<Option<String>, ApiError> { Ok(opt_string(m, k)?.filter(|s| !s.is_empty())) };
    let (token, refresh) = (nonempty("token")?, nonempty("refresh_token")?);
    let (realm, username) = (nonempty("realm_name")?, nonempty("username")?);
    if token.is_some() && refresh.is_some() {
        return Err(ApiError::illegal_argument("only one of [token, refresh_token] may be sent per request"));
    }
    let string =
        token.as_ref().map(|t| (t, TokenKind::Access)).or(refresh.as_ref().map(|r| (r, TokenKind::Refresh)));
    if realm.is_some() || username.is_some() {
        if string.is_some() {
            return Err(body::validation(
                "token string must not be provided when realm name or username is specified",
            ));
        }
        return Ok(Target::Owners { realm, username });
    }
    let Some((s, kind)) = string else {
        return Err(body::validation(
            "token string must be provided when not specifying a realm name or a username",
        ));
    };
    Ok(match ParsedAccessToken::parse(&SecretString::from(s.as_str())).filter(|t| t.kind == kind) {
        Some(t) => Target::Token(t),
        None => Target::Nothing,
    })
}

/// Counts of an invalidation.
#[derive(Default)]
struct Tally {
    invalidated: u64,
    previously: u64,
}

impl Tally {
    /// Invalidates one token of a pair (`flag`), counting it; `usable` says whether it could still
    /// be used (an expired or spent token is neither counted nor changed).
    fn one(&mut self, flag: &mut bool, usable: bool) -> bool {
        if *flag {
            self.previously += 1;
            false
        } else if usable {
            *flag = true;
            self.invalidated += 1;
            true
        } else {
            false
        }
    }
}

/// `DELETE /_security/oauth2/token`.
pub async fn invalidate(
    State(state): State<RestState>,
    who: Caller,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    service(&state, who)?;
    let m = body::object(&bytes, true)?;
    let target = parse_invalidate(&m)?;
    let now = now_millis();
    let _guard = PAIRS.lock().await;
    let mut tally = Tally::default();
    let mut writes = Vec::new();
    let found = match target {
        Target::Nothing => false,
        Target::Token(t) => match load(&state, &t.id)?.filter(|r| r.matches(&t)) {
            None => false,
            Some(mut r) => {
                let changed = match t.kind {
                    TokenKind::Access => tally.one(&mut r.access_invalidated, true),
                    TokenKind::Refresh => tally.one(&mut r.refresh_invalidated, true),
                };
                if changed {
                    writes.push((t.id, r));
                }
                true
            }
        },
        Target::Owners { realm, username } => {
            for (id, v) in state.store.entries(EntryKind::Token).map_err(ApiError::from)? {
                let Ok(mut r) = serde_json::from_value::<TokenRecord>(v) else { continue };
                if realm.as_ref().is_some_and(|x| *x != r.subject.realm)
                    || username.as_ref().is_some_and(|x| *x != r.subject.username)
                {
                    continue;
                }
                let access_live = r.expiration > now;
                let refresh_live = r.refresh_hash.is_some() && !r.refreshed && r.refresh_expiration() > now;
                let a = tally.one(&mut r.access_invalidated, access_live);
                let b = r.refresh_hash.is_some() && tally.one(&mut r.refresh_invalidated, refresh_live);
                if a || b {
                    writes.push((id, r));
                }
            }
            true
        }
    };
    if !writes.is_empty() {
        let commands = writes.iter().map(|(id, r)| put(id, r)).collect::<Result<Vec<_>, ApiError>>()?;
        state.store.write(Command::Batch(commands)).await.map_err(ApiError::from)?;
    }
    let body = json!({
        "invalidated_tokens": tally.invalidated,
        "previously_invalidated_tokens": tally.previously,
        "error_count": 0,
    });
    // Elasticsearch answers 404 (with the counts) when the token named is not known.
    let status = if found { StatusCode::OK } else { StatusCode::NOT_FOUND };
    Ok((status, Json(body)).into_response())
}
