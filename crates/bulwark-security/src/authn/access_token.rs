//! OAuth2-style access and refresh tokens (`POST /_security/oauth2/token`), Elasticsearch's token
//! service. A token is `base64url(kind ‖ id ‖ secret)`: one byte saying access (1) or refresh (2),
//! 16 bytes naming the stored pair, 32 random bytes of secret. The store keeps only salted
//! SHA-256 hashes of the two secrets (high-entropy, so a fast hash is enough, as for API keys),
//! never a token. Service-account tokens start with the byte 0, so the two never collide.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bulwark_random::RandomError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{hash_api_key_secret, verify_api_key_secret};

/// How long an access token lives unless `xpack.security.authc.token.timeout` says otherwise.
pub const DEFAULT_TOKEN_TIMEOUT_MS: i64 = 20 * 60 * 1000;
/// The longest `xpack.security.authc.token.timeout` Elasticsearch accepts (one hour).
pub const MAX_TOKEN_TIMEOUT_MS: i64 = 60 * 60 * 1000;
/// How long a refresh token can be used, counted from the pair's creation (24 hours).
pub const REFRESH_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

const ID_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;
const ACCESS: u8 = 1;
const REFRESH: u8 = 2;

/// Which of a pair's two tokens a string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The access token (`Authorization: Bearer`).
    Access,
    /// The refresh token (single use).
    Refresh,
}

/// A token string taken apart: the stored pair's id and the secret to check.
#[derive(Debug)]
pub struct ParsedAccessToken {
    /// Which token of the pair.
    pub kind: TokenKind,
    /// The store entry id (URL-safe base64 of 16 bytes).
    pub id: String,
    /// The secret part, checked against the stored hash.
    pub secret: SecretString,
}

impl ParsedAccessToken {
    /// Reads a token string; `None` when it is not one of ours.
    pub fn parse(value: &SecretString) -> Option<ParsedAccessToken> {
        let raw = Zeroizing::new(URL_SAFE_NO_PAD.decode(value.expose_secret().trim()).ok()?);
        if raw.len() != 1 + ID_BYTES + SECRET_BYTES {
            return None;
        }
        let kind = match raw[0] {
            ACCESS => TokenKind::Access,
            REFRESH => TokenKind::Refresh,
            _ => return None,
        };
        let id = URL_SAFE_NO_PAD.encode(&raw[1..=ID_BYTES]);
        let secret = SecretString::from(URL_SAFE_NO_PAD.encode(&raw[1 + ID_BYTES..]));
        Some(ParsedAccessToken { kind, id, secret })
    }
}

/// Who a token stands for, as stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSubject {
    /// The user name.
    pub username: String,
    /// The user's roles when the token was made (used for realms whose users cannot be looked
    /// up again, e.g. PKI; the others are looked up at every use).
    pub roles: Vec<String>,
    /// The user's full name.
    pub full_name: Option<String>,
    /// The user's email.
    pub email: Option<String>,
    /// The realm that vouched for the user (its name).
    pub realm: String,
    /// The realm's type.
    pub realm_type: String,
}

/// The client that asked for a pair: only it may refresh it (Elasticsearch's "creating client").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClient {
    /// The user name of the client.
    pub username: String,
    /// Its realm.
    pub realm: String,
}

/// An access token and its refresh token, as stored (the entry id is the pair's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Salted SHA-256 of the access token's secret.
    pub access_hash: String,
    /// Salted SHA-256 of the refresh token's secret (`client_credentials` pairs have none).
    pub refresh_hash: Option<String>,
    /// Epoch milliseconds.
    pub creation: i64,
    /// When the access token expires (epoch milliseconds).
    pub expiration: i64,
    /// The access token was invalidated.
    #[serde(default)]
    pub access_invalidated: bool,
    /// The refresh token was invalidated.
    #[serde(default)]
    pub refresh_invalidated: bool,
    /// The refresh token was used (it is single use).
    #[serde(default)]
    pub refreshed: bool,
    /// Who the tokens stand for.
    pub subject: TokenSubject,
    /// Who asked for them.
    pub client: TokenClient,
}

/// A new pair: the record to store under `id`, and the two token strings to hand out once.
#[derive(Debug)]
pub struct NewTokenPair {
    /// The store entry id.
    pub id: String,
    /// What is stored.
    pub record: TokenRecord,
    /// The access token to hand out.
    pub access_token: SecretString,
    /// The refresh token to hand out (none for `client_credentials`).
    pub refresh_token: Option<SecretString>,
}

/// Why a refresh token was refused; the text is Elasticsearch's `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefusal {
    /// No such token.
    Unknown,
    /// The token was invalidated.
    Invalidated,
    /// The token expired (24 h after its pair was made).
    Expired,
    /// The refresh token was used before.
    AlreadyRefreshed,
    /// Another client made the pair.
    OtherClient,
}

impl std::fmt::Display for RefreshRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RefreshRefusal::Unknown => "could not refresh the requested token",
            RefreshRefusal::Invalidated => "token has been invalidated",
            RefreshRefusal::Expired => "refresh token is expired",
            RefreshRefusal::AlreadyRefreshed => "token has already been refreshed",
            RefreshRefusal::OtherClient => "tokens must be refreshed by the creating client",
        })
    }
}

fn token_string(kind: u8, id: &[u8], secret: &[u8]) -> SecretString {
    let mut raw = Zeroizing::new(Vec::with_capacity(1 + ID_BYTES + SECRET_BYTES));
    raw.push(kind);
    raw.extend_from_slice(id);
    raw.extend_from_slice(secret);
    SecretString::from(URL_SAFE_NO_PAD.encode(&*raw))
}

fn secret_text(secret: &[u8]) -> SecretString {
    SecretString::from(URL_SAFE_NO_PAD.encode(secret))
}

impl NewTokenPair {
    /// Makes a pair for `subject`, asked for by `client`, created `now` (epoch ms), its access
    /// token valid `timeout_ms`; with a refresh token when `with_refresh`.
    pub fn create(
        subject: TokenSubject,
        client: TokenClient,
        now: i64,
        timeout_ms: i64,
        with_refresh: bool,
    ) -> Result<NewTokenPair, RandomError> {
        let id = bulwark_random::bytes::<ID_BYTES>()?;
        let access = Zeroizing::new(bulwark_random::bytes::<SECRET_BYTES>()?);
        let access_hash = hash_api_key_secret(&secret_text(&*access))?;
        let (refresh_token, refresh_hash) = if with_refresh {
            let refresh = Zeroizing::new(bulwark_random::bytes::<SECRET_BYTES>()?);
            (Some(token_string(REFRESH, &id, &*refresh)), Some(hash_api_key_secret(&secret_text(&*refresh))?))
        } else {
            (None, None)
        };
        Ok(NewTokenPair {
            id: URL_SAFE_NO_PAD.encode(id),
            record: TokenRecord {
                access_hash,
                refresh_hash,
                creation: now,
                expiration: now.saturating_add(timeout_ms),
                access_invalidated: false,
                refresh_invalidated: false,
                refreshed: false,
                subject,
                client,
            },
            access_token: token_string(ACCESS, &id, &*access),
            refresh_token,
        })
    }
}

impl TokenRecord {
    /// Whether `token`'s secret is the one this record's `kind` token was made with (constant
    /// time).
    pub fn matches(&self, token: &ParsedAccessToken) -> bool {
        let hash = match token.kind {
            TokenKind::Access => Some(&self.access_hash),
            TokenKind::Refresh => self.refresh_hash.as_ref(),
        };
        hash.is_some_and(|h| verify_api_key_secret(h, &token.secret))
    }

    /// Whether the access token authenticates at `now`.
    pub fn access_usable(&self, now: i64) -> bool {
        !self.access_invalidated && self.expiration > now
    }

    /// When the refresh token stops working.
    pub fn refresh_expiration(&self) -> i64 {
        self.creation.saturating_add(REFRESH_LIFETIME_MS)
    }

    /// Whether `client` may use the refresh token at `now` (after [`TokenRecord::matches`]).
    pub fn check_refresh(&self, client: &TokenClient, now: i64) -> Result<(), RefreshRefusal> {
        if self.refresh_hash.is_none() {
            return Err(RefreshRefusal::Unknown);
        }
        if self.refresh_invalidated {
            return Err(RefreshRefusal::Invalidated);
        }
        if self.refresh_expiration() <= now {
            return Err(RefreshRefusal::Expired);
        }
        if self.refreshed {
            return Err(RefreshRefusal::AlreadyRefreshed);
        }
        if &self.client != client {
            return Err(RefreshRefusal::OtherClient);
        }
        Ok(())
    }

    /// Whether nothing of this pair can be used any more at `now` (it may be deleted).
    pub fn is_spent(&self, now: i64) -> bool {
        let access_done = self.access_invalidated || self.expiration <= now;
        let refresh_done = self.refresh_hash.is_none()
            || self.refresh_invalidated
            || self.refreshed
            || self.refresh_expiration() <= now;
        access_done && refresh_done
    }
}

/// A salted hash verified against nothing, so that an unknown token id costs what a known one
/// does.
pub fn verify_nothing(token: &ParsedAccessToken) {
    const DUMMY: &str = "AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let _ = std::hint::black_box(verify_api_key_secret(DUMMY, &token.secret));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> TokenSubject {
        TokenSubject {
            username: "alice".into(),
            roles: vec!["viewer".into()],
            full_name: None,
            email: None,
            realm: "default_native".into(),
            realm_type: "native".into(),
        }
    }

    fn client() -> TokenClient {
        TokenClient { username: "elastic".into(), realm: "reserved".into() }
    }

    #[test]
    fn tokens_parse_back_and_match_only_their_own_hash() {
        let p = NewTokenPair::create(subject(), client(), 1_000, DEFAULT_TOKEN_TIMEOUT_MS, true).unwrap();
        let access = ParsedAccessToken::parse(&p.access_token).unwrap();
        let refresh = ParsedAccessToken::parse(p.refresh_token.as_ref().unwrap()).unwrap();
        assert_eq!((access.kind, refresh.kind), (TokenKind::Access, TokenKind::Refresh));
        assert_eq!(access.id, p.id);
        assert_eq!(refresh.id, p.id);
        assert!(p.record.matches(&access) && p.record.matches(&refresh));
        // The stored record holds no token.
        let stored = serde_json::to_string(&p.record).unwrap();
        assert!(!stored.contains(p.access_token.expose_secret()));
        assert!(!stored.contains(access.secret.expose_secret()));
        // Another pair's secret under this id does not match.
        let q = NewTokenPair::create(subject(), client(), 1_000, 1, false).unwrap();
        let mut other = ParsedAccessToken::parse(&q.access_token).unwrap();
        other.id = p.id.clone();
        assert!(!p.record.matches(&other));
        assert!(q.refresh_token.is_none() && q.record.refresh_hash.is_none());
        // Service-account tokens (first byte 0) and junk are not ours.
        let service = URL_SAFE_NO_PAD.encode([0u8, 1, 0, 1, b'e', b'l']);
        assert!(ParsedAccessToken::parse(&SecretString::from(service)).is_none());
        assert!(ParsedAccessToken::parse(&SecretString::from("not base64 !")).is_none());
        bulwark_random::testing::failing(|| {
            assert!(NewTokenPair::create(subject(), client(), 0, 1, true).is_err());
        });
    }

    #[test]
    fn refresh_rules_follow_elasticsearch() {
        let p = NewTokenPair::create(subject(), client(), 1_000, 5_000, true).unwrap();
        let mut r = p.record;
        assert!(r.access_usable(5_999) && !r.access_usable(6_000));
        assert_eq!(r.check_refresh(&client(), 2_000), Ok(()));
        let other = TokenClient { username: "bob".into(), realm: "reserved".into() };
        assert_eq!(r.check_refresh(&other, 2_000), Err(RefreshRefusal::OtherClient));
        assert_eq!(r.check_refresh(&client(), 1_000 + REFRESH_LIFETIME_MS), Err(RefreshRefusal::Expired));
        r.refreshed = true;
        assert_eq!(r.check_refresh(&client(), 2_000), Err(RefreshRefusal::AlreadyRefreshed));
        assert!(!r.is_spent(2_000) && r.is_spent(6_000));
        r.refresh_invalidated = true;
        assert_eq!(r.check_refresh(&client(), 2_000), Err(RefreshRefusal::Invalidated));
        assert_eq!(
            RefreshRefusal::OtherClient.to_string(),
            "tokens must be refreshed by the creating client"
        );
    }
}
