//! One module per tool, and what tools share.

pub mod doctor;
pub mod keystore;
pub mod start;

use bulwark_keystore::Keystore;
use bulwark_settings::Home;
use secrecy::SecretString;

use crate::{exit, prompt};

/// The environment variable holding the keystore password.
pub const KEYSTORE_PASSWORD_ENV: &str = "KEYSTORE_PASSWORD";

/// The password of the home's keystore: empty when there is none or it is unprotected, else
/// `KEYSTORE_PASSWORD`, else a prompt on a terminal.
pub fn keystore_password(home: &Home) -> anyhow::Result<SecretString> {
    let path = home.keystore_file();
    if !Keystore::exists(&path) || !Keystore::is_password_protected(&path).unwrap_or(false) {
        return Ok(SecretString::from(""));
    }
    if let Ok(v) = std::env::var(KEYSTORE_PASSWORD_ENV) {
        return Ok(SecretString::from(v));
    }
    if prompt::interactive() {
        return prompt::secret("Enter password for the bulwark keystore");
    }
    Err(exit::fail(
        exit::CONFIG,
        format!(
            "the keystore [{}] is password-protected: set {KEYSTORE_PASSWORD_ENV} or run on a terminal",
            path.display()
        ),
    ))
}
