//! One module per tool, and what tools share.

pub mod certutil;
pub mod console;
pub mod create_enrollment_token;
pub mod doctor;
pub mod keystore;
pub mod node_admin;
pub mod reset_password;
pub mod service_tokens;
pub mod start;
pub mod users;

use bulwark_keystore::Keystore;
use bulwark_settings::Home;
use secrecy::SecretString;

/// The password of the home's keystore: empty when there is none or it is unprotected, else
/// `KEYSTORE_PASSWORD`, else a prompt on a terminal.
pub fn keystore_password(home: &Home) -> anyhow::Result<SecretString> {
    let path = home.keystore_file();
    if !Keystore::exists(&path) || !Keystore::is_password_protected(&path).unwrap_or(false) {
        return Ok(SecretString::from(""));
    }
    keystore::current_password(&path)
}
