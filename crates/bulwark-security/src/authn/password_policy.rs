//! The policy for new passwords: a minimum length (never below Elasticsearch's floor of 6) and a
//! list of commonly used passwords to refuse. Messages are meant for the person choosing the
//! password and never repeat it.

use std::collections::HashSet;
use std::sync::OnceLock;

use bulwark_settings::PasswordPolicySettings;
use secrecy::{ExposeSecret, SecretString};

/// Elasticsearch's own minimum password length.
pub const MIN_PASSWORD_LENGTH_FLOOR: usize = 6;

/// Commonly used passwords, lowercase, one a line (`#` lines are comments).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
    })
}

/// Whether `password` (compared in lowercase) is on the list of commonly used passwords.
pub fn is_common_password(password: &str) -> bool {
    common_passwords().contains(password.to_lowercase().as_str())
}

/// Why a new password was refused.
/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Shorter than `min_length`.
    #[error("passwords must be at least [{min_length}] characters long")]
    TooShort {
        /// `xpack.security.authc.password_policy.min_length`.
        min_length: usize,
    },
    /// On the list of commonly used passwords.
    #[error("the password is on the list of commonly used passwords; choose another")]
    Common,
}

/// Rules every new password must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Refuse passwords on the common-password list.
    pub reject_common: bool,
}

impl Default for PasswordPolicy {
    /// The defaults of `xpack.security.authc.password_policy.*`: 12 characters, common refused.
    fn default() -> Self {
        PasswordPolicy { min_length: 12, reject_common: true }
    }
}

impl PasswordPolicy {
    /// The policy of `xpack.security.authc.password_policy.*`.
    pub fn from_settings(s: &PasswordPolicySettings) -> PasswordPolicy {
        PasswordPolicy {
            min_length: s.min_length.max(MIN_PASSWORD_LENGTH_FLOOR),
            reject_common: s.reject_common,
        }
    }

    /// Checks a new password.
    pub fn check(&self, password: &SecretString) -> Result<(), PolicyViolation> {
        let pw = password.expose_secret();
        let min_length = self.min_length.max(MIN_PASSWORD_LENGTH_FLOOR);
        if pw.chars().count() < min_length {
            return Err(PolicyViolation::TooShort { min_length });
        }
        if self.reject_common && is_common_password(pw) {
            return Err(PolicyViolation::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_short_common_and_fine() {
        let p = PasswordPolicy::default();
        let short = p.check(&SecretString::from("hunter2")).unwrap_err();
        assert_eq!(short, PolicyViolation::TooShort { min_length: 12 });
        assert_eq!(short.to_string(), "passwords must be at least [12] characters long");
        for common in ["password1234", "PassWord1234", "qwertyuiop123", "123456789012", "iloveyou1234"] {
            let e = p.check(&SecretString::from(common)).unwrap_err();
            assert_eq!(e, PolicyViolation::Common, "{common}");
            assert_eq!(
                e.to_string(),
                "the password is on the list of commonly used passwords; choose another"
            );
            assert!(!e.to_string().to_lowercase().contains(&common.to_lowercase()));
        }
        assert!(p.check(&SecretString::from("violet-tangent-orbit")).is_ok());
        // Length counts characters, not bytes.
        assert!(p.check(&SecretString::from("\u{e9}".repeat(11))).is_err());
        assert!(p.check(&SecretString::from("\u{e9}t\u{e9}-\u{e0}-g\u{e9}n\u{e8}ve")).is_ok());
    }

    #[test]
    fn settings_and_the_floor() {
        let s = PasswordPolicySettings { min_length: 8, reject_common: false };
        let p = PasswordPolicy::from_settings(&s);
        assert!(p.check(&SecretString::from("password")).is_ok(), "common allowed when turned off");
        assert!(p.check(&SecretString::from("passwor")).is_err());
        let low = PasswordPolicy { min_length: 1, reject_common: false };
        assert_eq!(low.check(&SecretString::from("abc")), Err(PolicyViolation::TooShort { min_length: 6 }));
    }

    #[test]
    fn the_list_is_large_lowercase_and_unique() {
        let entries: Vec<&str> =
            COMMON_PASSWORDS.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        assert!(entries.len() >= 1000, "{}", entries.len());
        assert_eq!(entries.len(), common_passwords().len(), "duplicates in the list");
        assert!(entries.iter().all(|e| *e == e.to_lowercase() && *e == e.trim()));
        assert!(entries.iter().filter(|e| e.chars().count() >= 12).count() >= 100);
        assert!(is_common_password("123456") && is_common_password("QWERTY"));
        assert!(!is_common_password("violet-tangent-orbit"));
    }
}
