//! Credentials as sent in an `Authorization` header.

use base64::Engine;
use secrecy::SecretString;
use zeroize::Zeroizing;

/// Parsed credentials. Secrets stay wrapped until a realm verifies them.
#[derive(Debug)]
pub enum Credentials {
    /// `Basic base64(user:password)`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: SecretString,
    },
    /// `ApiKey base64(id:secret)`, decoded.
    ApiKey(SecretString),
    /// `Bearer <token>`: a service-account or access token.
    Bearer(SecretString),
}

impl Credentials {
    /// Parses an `Authorization` header value; `None` for a scheme or encoding we cannot read.
    pub fn parse(header: &[u8]) -> Option<Credentials> {
        let header = std::str::from_utf8(header).ok()?;
        let (scheme, rest) = header.trim().split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(rest).ok()?);
            let text = std::str::from_utf8(&decoded).ok()?;
            let (user, pass) = text.split_once(':')?;
            if user.is_empty() {
                return None;
            }
            Some(Credentials::Basic { username: user.to_owned(), password: SecretString::from(pass) })
        } else if scheme.eq_ignore_ascii_case("apikey") {
            Some(Credentials::ApiKey(SecretString::from(rest)))
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Some(Credentials::Bearer(SecretString::from(rest)))
        } else {
            None
        }
    }

    /// The principal to name in error messages (never the secret).
    pub fn principal(&self) -> &str {
        match self {
            Credentials::Basic { username, .. } => username,
            Credentials::ApiKey(_) => "api key",
            Credentials::Bearer(_) => "bearer token",
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn parses_schemes() {
        let b = base64::engine::general_purpose::STANDARD.encode("elastic:p:w");
        match Credentials::parse(format!("Basic {b}").as_bytes()) {
            Some(Credentials::Basic { username, password }) => {
                assert_eq!(username, "elastic");
                assert_eq!(password.expose_secret(), "p:w");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(Credentials::parse(b"ApiKey abc"), Some(Credentials::ApiKey(_))));
        assert!(matches!(Credentials::parse(b"bearer abc"), Some(Credentials::Bearer(_))));
        assert!(Credentials::parse(b"Basic !!!").is_none());
        assert!(Credentials::parse(b"Digest x").is_none());
        assert!(Credentials::parse(b"Basic").is_none());
        assert!(Credentials::parse(&[0xff, 0xfe]).is_none());
        let nouser = base64::engine::general_purpose::STANDARD.encode(":pw");
        assert!(Credentials::parse(format!("Basic {nouser}").as_bytes()).is_none());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let b = base64::engine::general_purpose::STANDARD.encode("elastic:hunter2hunter2");
        let c = Credentials::parse(format!("Basic {b}").as_bytes()).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
