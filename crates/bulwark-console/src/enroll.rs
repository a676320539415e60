//! Enrollment: from a token to a configured console, in the browser (after the verification
//! code) or detached (`bulwark console setup --enrollment-token`).
//!
//! The token is decoded by the caller's decoder (the binary passes the security crate's one
//! codec; the console never depends on the security crate). [`EnrollmentClient::connect`] checks
//! the node's CA against the token's fingerprint before the token's API key is sent anywhere; then
//! `GET /_security/enroll/kibana` gives the service-account token and the CA. Files are written
//! CA first, keystore next, `console.yml` last: `console.yml` naming the hosts is what makes the
//! console usable, so a crash in between never leaves a console that talks to a node half
//! configured. A crash after the keystore leaves a token without hosts: enrollment then refuses
//! (credentials are configured) and `console start` stops, saying to set the hosts or remove the
//! console keystore to enroll again.

use std::sync::Arc;

use bulwark_client::EnrollmentClient;
use bulwark_pki::Fingerprint;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::{ConsoleError, ConsoleHome, home::SERVICE_TOKEN};

/// What the console needs from an enrollment token.
pub struct TokenParts {
    /// `host:port` addresses, tried in order.
    pub addresses: Vec<String>,
    /// The node's HTTP CA fingerprint.
    pub fingerprint: Fingerprint,
    /// `<id>:<secret>` of the token's API key.
    pub api_key: SecretString,
}

/// Decodes an enrollment token; the error says why it is malformed.
pub type TokenDecoder = Arc<dyn Fn(&str) -> Result<TokenParts, String> + Send + Sync>;

/// What enrollment configured.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The node URL written to `elasticsearch.hosts`.
    pub host: String,
}

/// Runs enrollment with `token` into `home` (which must not be configured yet).
pub async fn enroll(
    home: &ConsoleHome,
    decode: &TokenDecoder,
    token: &str,
) -> Result<Enrolled, ConsoleError> {
    if home.service_token()?.is_some() {
        return Err(ConsoleError::AlreadyConfigured(format!(
            "the console keystore [{}] already holds [{SERVICE_TOKEN}]",
            home.keystore_file().display()
        )));
    }
    let parts = decode(token.trim())
        .map_err(|e| ConsoleError::Enrollment(format!("the enrollment token is malformed: {e}")))?;
    let client = EnrollmentClient::connect(&parts.addresses, parts.fingerprint, &parts.api_key)
        .await
        .map_err(|e| ConsoleError::Enrollment(e.to_string()))?;
    let answer = client.enroll_kibana().await.map_err(|e| ConsoleError::Enrollment(e.to_string()))?;
    home.create_dirs()?;
    let ca_path = home.node_ca_file();
    bulwark_pki::write_public_file(&ca_path, bulwark_pki::cert_pem(&answer.http_ca_der).as_bytes())
        .map_err(|e| ConsoleError::Config(format!("cannot write the node's CA certificate: {e}")))?;
    let mut ks = home.keystore()?;
    ks.set(SERVICE_TOKEN, Zeroizing::new(answer.token_value.expose_secret().as_bytes().to_vec()))
        .map_err(|e| ConsoleError::Keystore(e.to_string()))?;
    home.save_keystore(&ks)?;
    let host = format!("https://{}", client.address());
    append_settings(home, &host, &ca_path)?;
    tracing::info!(host = %host, token = %answer.token_name, "the console is enrolled");
    Ok(Enrolled { host })
}

/// Single-quoted YAML scalar.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Appends the generated block to `console.yml` (written atomically, 0600).
fn append_settings(home: &ConsoleHome, host: &str, ca: &std::path::Path) -> Result<(), ConsoleError> {
    let path = home.settings_file();
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ConsoleError::io(&path, e)),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n# This section was written by enrollment ({}).\nelasticsearch.hosts: [{}]\nelasticsearch.ssl.certificateAuthorities: [{}]\n",
        time::OffsetDateTime::now_utc().date(),
        quoted(host),
        quoted(&ca.display().to_string()),
    ));
    bulwark_pki::write_atomic(&path, text.as_bytes(), 0o600)
        .map_err(|e| ConsoleError::Config(format!("cannot write [{}]: {e}", path.display())))
}
