//! Sessions in cookies, encrypted and authenticated with AES-256-GCM under a key derived from
//! `xpack.security.encryptionKey`, so the browser can neither read nor change them.
//!
//! A session holds no password: at login the console's service account exchanges the user's name
//! and password for an access token and a refresh token at the node's token service
//! (`POST /_security/oauth2/token`, `grant_type: password`; the node checks the password), and the
//! session carries that pair (see `tokens.rs`). Every page is then fetched with the access token,
//! as the user. The cookie is `Secure` (over HTTPS), `HttpOnly`, `SameSite=Strict`, has a fresh
//! random id at each login, is re-issued on each request (idle timeout, and the newest token pair
//! after a refresh) and dies with its lifespan; logout invalidates both tokens on the node and
//! remembers the id as ended.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::ConsoleError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "bulwark_session";
/// The pre-login CSRF cookie's name.
pub const CSRF_COOKIE: &str = "bulwark_csrf";
/// How close to its expiry an access token is refreshed before a request (at most).
const EARLY_REFRESH_MS: u64 = 10_000;
/// How long a login or setup form stays valid.
pub const FORM_LIFETIME: Duration = Duration::from_secs(3600);

/// Milliseconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Random bytes as hex.
pub fn random_hex<const N: usize>() -> Result<String, ConsoleError> {
    let b = bulwark_random::bytes::<N>().map_err(|e| ConsoleError::Config(e.to_string()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A logged-in user's session (the cookie's plaintext).
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    /// Random id, fresh at each login.
    pub sid: String,
    /// The user name, as the node reported it.
    pub user: String,
    /// The user's roles, as the node reported them.
    pub roles: Vec<String>,
    /// The node's access and refresh tokens.
    tokens: TokenPair,
    /// Login time (epoch milliseconds).
    pub created: u64,
    /// Last request (epoch milliseconds).
    pub seen: u64,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Whether the node said at login that the user may read the audit log (only decides whether
    /// the navigation shows the page: the page itself relies on the node's answer).
    #[serde(default)]
    pub may_read_audit: bool,
}

/// An access token and its refresh token from the node's token service, as a session keeps them.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenPair {
    /// The access token (`Authorization: Bearer`).
    access: String,
    /// The refresh token (single use).
    refresh: String,
    /// When the node handed the pair out (epoch milliseconds).
    pub issued: u64,
    /// When the access token expires by the node's `expires_in` (epoch milliseconds).
    pub expires: u64,
    /// How many refreshes led to this pair since login: the higher of two pairs is the newer.
    pub generation: u32,
}

impl TokenPair {
    /// A pair as the node handed it out at `issued` (epoch milliseconds).
    pub fn new(
        access: String,
        refresh: String,
        expires_in_secs: u64,
        issued: u64,
        generation: u32,
    ) -> TokenPair {
        let expires = issued.saturating_add(expires_in_secs.saturating_mul(1000));
        TokenPair { access, refresh, issued, expires, generation }
    }

    /// Whether the access token is due for a refresh at `now`: expired, or within ten seconds (at
    /// most half its lifetime) of its expiry, so a request does not meet the node's 401 on the way.
    pub fn due(&self, now: u64) -> bool {
        let early = (self.expires.saturating_sub(self.issued) / 2).min(EARLY_REFRESH_MS);
        now.saturating_add(early) >= self.expires
    }

    /// The access token.
    pub fn access_token(&self) -> SecretString {
        SecretString::from(self.access.clone())
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> SecretString {
        SecretString::from(self.refresh.clone())
    }
}

impl Session {
    /// A fresh session for `user` holding the node's token pair.
    pub fn new(user: String, roles: Vec<String>, tokens: TokenPair) -> Result<Session, ConsoleError> {
        let t = now();
        Ok(Session {
            sid: random_hex::<16>()?,
            tokens,
            user,
            roles,
            created: t,
            seen: t,
            csrf: random_hex::<16>()?,
            may_read_audit: false,
        })
    }

    /// The token pair to act as the user.
    pub fn tokens(&self) -> &TokenPair {
        &self.tokens
    }

    /// Takes `newer` when it is newer than the pair held (a refresh).
    pub fn take_newer(&mut self, newer: &TokenPair) {
        if newer.generation > self.tokens.generation {
            self.tokens = newer.clone();
        }
    }

    /// Whether `typed` is this session's CSRF token.
    pub fn csrf_matches(&self, typed: &str) -> bool {
        csrf_eq(&self.csrf, typed)
    }

    /// Whether the user holds `superuser`.
    pub fn is_superuser(&self) -> bool {
        self.roles.iter().any(|r| r == "superuser")
    }
}

/// Why a session cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not decryptable (tampered, another key) or not a session.
    Invalid,
    /// Idle too long.
    Idle,
    /// Past its lifespan.
    Expired,
}

impl Refusal {
    /// What the login page says.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Invalid => "Your session was not valid. Log in again.",
            Refusal::Idle => "Your session timed out after a period of inactivity. Log in again.",
            Refusal::Expired => "Your session reached its maximum lifespan. Log in again.",
        }
    }

    /// The `reason` query value of the login redirect.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Invalid => "invalid",
            Refusal::Idle => "idle",
            Refusal::Expired => "expired",
        }
    }
}

/// A pre-login form's CSRF token (the plaintext of [`CSRF_COOKIE`]).
#[derive(Serialize, Deserialize)]
struct FormToken {
    csrf: String,
    created: u64,
}

/// Seals and opens cookies.
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// A sealer keyed by `encryption_key` (SHA-256 of a label and the key).
    pub fn new(encryption_key: &SecretString) -> Result<Sealer, ConsoleError> {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"bulwark-console session key v1\0");
        ctx.update(encryption_key.expose_secret().as_bytes());
        let d = ctx.finish();
        let unbound = UnboundKey::new(&AES_256_GCM, d.as_ref())
            .map_err(|_| ConsoleError::Config("cannot make the session key".into()))?;
        Ok(Sealer { key: LessSafeKey::new(unbound) })
    }

    /// Encrypts `plain` bound to `label` (the cookie name): base64url(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, label: &str, plain: &[u8]) -> Result<String, ConsoleError> {
        let nonce_bytes =
            bulwark_random::bytes::<NONCE_LEN>().map_err(|e| ConsoleError::Config(e.to_string()))?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(label.as_bytes()),
                &mut buf,
            )
            .map_err(|_| ConsoleError::Config("cannot seal the cookie".into()))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts a value sealed with `label`; `None` when it was changed or sealed otherwise.
    pub fn open(&self, label: &str, text: &str) -> Option<Zeroizing<Vec<u8>>> {
        let raw = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        if raw.len() < NONCE_LEN + 16 || raw.len() > 16 * 1024 {
            return None;
        }
        let (n, c) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(n).ok()?;
        let mut buf = Zeroizing::new(c.to_vec());
        let plain = self.key.open_in_place(nonce, Aad::from(label.as_bytes()), &mut buf).ok()?;
        Some(Zeroizing::new(plain.to_vec()))
    }

    /// The session cookie's value.
    pub fn seal_session(&self, s: &Session) -> Result<String, ConsoleError> {
        let json = Zeroizing::new(serde_json::to_vec(s).map_err(|e| ConsoleError::Config(e.to_string()))?);
        self.seal(SESSION_COOKIE, &json)
    }

    /// Opens and checks a session cookie at `now` against the idle timeout and lifespan.
    pub fn open_session(
        &self,
        text: &str,
        idle: Duration,
        lifespan: Duration,
        now: u64,
    ) -> Result<Session, Refusal> {
        let plain = self.open(SESSION_COOKIE, text).ok_or(Refusal::Invalid)?;
        let s: Session = serde_json::from_slice(&plain).map_err(|_| Refusal::Invalid)?;
        if now >= s.created.saturating_add(ms(lifespan)) {
            return Err(Refusal::Expired);
        }
        if now >= s.seen.saturating_add(ms(idle)) {
            return Err(Refusal::Idle);
        }
        Ok(s)
    }

    /// A new pre-login CSRF token: (cookie value, form value).
    pub fn new_form_token(&self) -> Result<(String, String), ConsoleError> {
        let t = FormToken { csrf: random_hex::<16>()?, created: now() };
        let json = serde_json::to_vec(&t).map_err(|e| ConsoleError::Config(e.to_string()))?;
        Ok((self.seal(CSRF_COOKIE, &json)?, t.csrf))
    }

    /// Whether the pre-login cookie `cookie` is valid and holds `typed`.
    pub fn form_token_matches(&self, cookie: &str, typed: &str) -> bool {
        let Some(plain) = self.open(CSRF_COOKIE, cookie) else { return false };
        let Ok(t) = serde_json::from_slice::<FormToken>(&plain) else { return false };
        now() < t.created.saturating_add(ms(FORM_LIFETIME)) && csrf_eq(&t.csrf, typed)
    }
}

fn csrf_eq(expected: &str, typed: &str) -> bool {
    !expected.is_empty()
        && expected.len() == typed.len()
        && bool::from(expected.as_bytes().ct_eq(typed.as_bytes()))
}

/// A `Set-Cookie` value: `Path=/`, `HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS.
pub fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{}", if secure { "; Secure" } else { "" })
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    format!(
        "{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(k: &str) -> Sealer {
        Sealer::new(&SecretString::from(k.to_owned())).unwrap()
    }

    const DAY: Duration = Duration::from_secs(86400);

    #[test]
    fn sealed_sessions_open_only_unchanged_and_in_time() {
        let s = sealer("k".repeat(32).as_str());
        let pair = TokenPair::new("access-secret".into(), "refresh-secret".into(), 1200, 1000, 0);
        assert_eq!(pair.expires, 1_201_000);
        assert!(!pair.due(1_190_000) && pair.due(1_191_000) && pair.due(2_000_000));
        // A short-lived token: refreshed in the second half of its life.
        let short = TokenPair::new(String::new(), String::new(), 2, 0, 0);
        assert!(!short.due(999) && short.due(1000));
        let session = Session::new("alice".into(), vec!["r".into()], pair).unwrap();
        let text = s.seal_session(&session).unwrap();
        assert!(!text.contains("secret") && !text.contains("alice"));
        let mut back = s.open_session(&text, DAY, DAY, now()).ok().unwrap();
        assert_eq!(back.user.as_str(), "alice");
        assert_eq!(back.tokens().access_token().expose_secret(), "access-secret");
        assert_eq!(back.tokens().refresh_token().expose_secret(), "refresh-secret");
        // Only a newer pair replaces the one held.
        back.take_newer(&TokenPair::new("old".into(), "old".into(), 1, 0, 0));
        assert_eq!(back.tokens().access_token().expose_secret(), "access-secret");
        back.take_newer(&TokenPair::new("new".into(), "new-r".into(), 1, 0, 1));
        assert_eq!((back.tokens().access_token().expose_secret(), back.tokens().generation), ("new", 1));
        // One flipped character anywhere: refused.
        for i in [0, text.len() / 2, text.len() - 1] {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(b).unwrap();
            assert_eq!(s.open_session(&t, DAY, DAY, now()).err(), Some(Refusal::Invalid));
        }
        // Another key, or the CSRF cookie's label: refused.
        assert_eq!(
            sealer(&"x".repeat(32)).open_session(&text, DAY, DAY, now()).err(),
            Some(Refusal::Invalid)
        );
        assert!(s.open(CSRF_COOKIE, &text).is_none());
        // Idle and lifespan.
        assert_eq!(
            s.open_session(&text, Duration::from_secs(60), DAY, now() + 61_000).err(),
            Some(Refusal::Idle)
        );
        assert_eq!(
            s.open_session(&text, DAY, Duration::from_secs(60), now() + 61_000).err(),
            Some(Refusal::Expired)
        );
    }

    #[test]
    fn form_tokens_and_cookies() {
        let s = sealer(&"k".repeat(40));
        let (cookie_value, form) = s.new_form_token().unwrap();
        assert!(s.form_token_matches(&cookie_value, &form));
        assert!(!s.form_token_matches(&cookie_value, "0000"));
        assert!(!s.form_token_matches(&form, &form));
        let h = format!("a=1; {SESSION_COOKIE}=abc; {CSRF_COOKIE}=def");
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("def"));
        assert!(set_cookie("n", "v", true).contains("Secure"));
    }
}
