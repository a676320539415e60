//! The `elastic` password on a node's first secured start, and how its secrets reach the user.
//!
//! Unlike Elasticsearch, a missing terminal never costs the user the password: without one, the
//! secrets go to `config/bootstrap-credentials` (mode 0600) instead of the screen, and never to the
//! log.

use std::io::Write;
use std::path::Path;

use bulwark_keystore::Keystore;
use bulwark_pki::Fingerprint;
use bulwark_security::authn::{PasswordHash, generate_password};
use bulwark_settings::{Home, Settings};
use secrecy::{ExposeSecret, SecretString};

use crate::NodeError;
use crate::enrollment::FirstStartToken;
use crate::state::SecurityEntries;

/// Where the `elastic` password came from.
pub enum ElasticPassword {
    /// Generated now: the user must be told.
    Generated(SecretString),
    /// From `ELASTIC_PASSWORD`, `ELASTIC_PASSWORD_FILE` or the keystore's `bootstrap.password`.
    Supplied(&'static str),
}

/// Reads `ELASTIC_PASSWORD_FILE` / `ELASTIC_PASSWORD` / `bootstrap.password`, in that order.
fn supplied(ks: Option<&Keystore>) -> Result<Option<(SecretString, &'static str)>, NodeError> {
    if let Some(path) = std::env::var_os("ELASTIC_PASSWORD_FILE").filter(|p| !p.is_empty()) {
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(&path)
                .map_err(NodeError::io("cannot read ELASTIC_PASSWORD_FILE", Path::new(&path)))?,
        );
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| NodeError::Config("ELASTIC_PASSWORD_FILE does not hold UTF-8 text".into()))?;
        return Ok(Some((SecretString::from(text.trim_end_matches(['\r', '\n'])), "ELASTIC_PASSWORD_FILE")));
    }
    if let Ok(v) = std::env::var("ELASTIC_PASSWORD")
        && !v.is_empty()
    {
        return Ok(Some((SecretString::from(v), "ELASTIC_PASSWORD")));
    }
    Ok(ks.and_then(|k| k.get_string("bootstrap.password")).map(|p| (p, "the keystore's bootstrap.password")))
}

/// Gives `elastic` a password if it has none yet. `None` when it already had one.
///
/// A generated password is handed to `before_store` before its hash is stored: once stored, a
/// start never generates another, so a crash in between must not lose it (the caller writes the
/// credentials file there when there is no terminal).
pub async fn elastic_password(
    users: &SecurityEntries,
    settings: &Settings,
    ks: Option<&Keystore>,
    before_store: impl FnOnce(&SecretString) -> Result<(), NodeError>,
) -> Result<Option<ElasticPassword>, NodeError> {
    if users.has_password("elastic") {
        return Ok(None);
    }
    let (password, source) = match supplied(ks)? {
        Some((p, source)) => {
            let min = settings.security.password_policy.min_length;
            if p.expose_secret().chars().count() < min {
                return Err(NodeError::Config(format!(
                    "the elastic password from {source} is shorter than {min} characters (xpack.security.authc.password_policy.min_length); choose a longer one"
                )));
            }
            (p, ElasticPassword::Supplied(source))
        }
        None => {
            let p = generate_password(20).map_err(|e| no_password(&e))?;
            before_store(&p)?;
            (p.clone(), ElasticPassword::Generated(p))
        }
    };
    // bcrypt costs tens of milliseconds: hashed on the blocking pool, not on a runtime worker.
    let algorithm = settings.security.password_hashing;
    let hash = tokio::task::spawn_blocking(move || PasswordHash::create(&password, algorithm))
        .await
        .map_err(|e| NodeError::Interrupted {
            context: "cannot set the elastic password: hashing",
            detail: e.to_string(),
        })?
        .map_err(|e| no_password(&e))?;
    users.set_password("elastic", &hash).await?;
    bulwark_keystore::crash_point("bootstrap.password-stored");
    Ok(Some(source))
}

fn no_password(e: &bulwark_random::RandomError) -> NodeError {
    NodeError::Random { context: "cannot set the elastic password".into(), source: *e }
}

/// What to tell the user after the first secured start.
pub struct FirstStart<'a> {
    pub home: &'a Home,
    pub password: Option<&'a SecretString>,
    pub fingerprint: Option<Fingerprint>,
    pub port: u16,
    pub https: bool,
    /// The console enrollment token, when enrollment is on and the token could be made.
    pub enrollment: Option<&'a FirstStartToken>,
    /// Whether enrollment is on (`xpack.security.enrollment.enabled`).
    pub enrollment_enabled: bool,
}

/// Prints the banner on a terminal; otherwise writes the credentials file and prints its path.
pub fn deliver(first: &FirstStart<'_>, terminal: bool) -> Result<(), NodeError> {
    let mut out = std::io::stdout().lock();
    let write_err = |e: std::io::Error| NodeError::Io {
        action: "cannot write to",
        path: "standard output".into(),
        source: e,
    };
    if terminal {
        out.write_all(banner(first).as_bytes()).map_err(write_err)?;
        return out.flush().map_err(write_err);
    }
    let mut msg = String::new();
    if first.password.is_some() || first.enrollment.is_some() {
        let path = write_credentials(first)?;
        let what = match (first.password.is_some(), first.enrollment.is_some()) {
            (true, true) => "the password of the elastic user and an enrollment token for the console were",
            (true, false) => "the password of the elastic user was",
            _ => "an enrollment token for the console was",
        };
        msg.push_str(&format!(
            "Security is on. No terminal was attached, so {what} written to {} (mode 0600).\n",
            path.display()
        ));
    }
    if let Some(fp) = first.fingerprint {
        msg.push_str(&format!("HTTP CA certificate SHA-256 fingerprint: {fp}\n"));
    }
    out.write_all(msg.as_bytes()).map_err(write_err)?;
    out.flush().map_err(write_err)
}

/// Writes `config/bootstrap-credentials` (mode 0600, atomically) with what `first` holds; gives
/// its path.
pub fn write_credentials(first: &FirstStart<'_>) -> Result<std::path::PathBuf, NodeError> {
    let path = first.home.bootstrap_credentials_file();
    let mut body = String::from(
        "# Bulwark first-start credentials. Store them safely, then delete this file:\n\
         # `bulwark doctor` warns while it exists.\n",
    );
    if let Some(pw) = first.password {
        body.push_str(&format!("ELASTIC_PASSWORD={}\n", pw.expose_secret()));
    }
    if let Some(t) = first.enrollment {
        body.push_str(&format!(
            "# Enrollment token for the console, valid {} minutes from the first start{}:\n\
             # `bulwark console setup --enrollment-token <token>`\n",
            crate::enrollment::default_ttl_minutes(),
            if t.local_only { " (loopback addresses only: for a console on this host)" } else { "" }
        ));
        body.push_str(&format!("ENROLLMENT_TOKEN={}\n", t.token.expose_secret()));
    }
    if let Some(fp) = first.fingerprint {
        body.push_str(&format!("HTTP_CA_FINGERPRINT={fp}\n"));
    }
    let body = zeroize::Zeroizing::new(body);
    bulwark_pki::write_private_file(&path, body.as_bytes())?;
    Ok(path)
}

/// "Configure the console" (with the token) and how to enroll other nodes.
fn console_section(token: Option<&FirstStartToken>) -> String {
    let minutes = crate::enrollment::default_ttl_minutes();
    let mut b = String::new();
    match token {
        Some(t) => {
            b.push_str(&format!(
                "ℹ️  Configure the console: run `bulwark console setup --enrollment-token <token>` (or start\n   \
                 `bulwark console start` and paste it) with this enrollment token, valid for the next {minutes} minutes:\n  \x1b[1m{}\x1b[22m\n",
                t.token.expose_secret()
            ));
            if t.local_only {
                b.push_str(&format!(
                    "   It holds only loopback addresses ({}): a console on this host can use it. For a console on\n   \
                     another host, set http.host to an address it can reach, restart, and run\n   \
                     `bulwark create-enrollment-token -s kibana`.\n",
                    t.addresses.join(", ")
                ));
            }
            b.push('\n');
        }
        None => b.push_str(
            "ℹ️  Configure the console: create an enrollment token with `bulwark create-enrollment-token -s kibana`.\n\n",
        ),
    }
    b.push_str(&format!(
        "ℹ️  Enroll other nodes: uncomment transport.host in bulwark.yml and restart, then run\n   \
         `bulwark create-enrollment-token -s node` (valid {minutes} minutes, single use) and start each new\n   \
         node with `bulwark start --enrollment-token <token>`.\n\n"
    ));
    b
}

/// The one-time banner shown on a terminal.
fn banner(first: &FirstStart<'_>) -> String {
    let rule = "━".repeat(80);
    let mut b = format!(
        "\n{rule}\n✅ Bulwark security is configured: authentication is on and connections are encrypted.\n\n"
    );
    if let Some(pw) = first.password {
        b.push_str(&format!(
            "ℹ️  Password for the elastic user (change it with `bulwark reset-password -u elastic`):\n  \x1b[1m{}\x1b[22m\n\n",
            pw.expose_secret()
        ));
    }
    if let Some(fp) = first.fingerprint {
        b.push_str(&format!("ℹ️  HTTP CA certificate SHA-256 fingerprint:\n  \x1b[1m{fp}\x1b[22m\n\n"));
    }
    let scheme = if first.https { "https" } else { "http" };
    let cacert = if first.https {
        format!("--cacert {} ", first.home.certs_dir().join("http_ca.crt").display())
    } else {
        String::new()
    };
    b.push_str(&format!("ℹ️  Try it:\n  curl {cacert}-u elastic {scheme}://localhost:{}/\n\n", first.port));
    if first.enrollment_enabled {
        b.push_str(&console_section(first.enrollment));
    }
    b.push_str("ℹ️  Check the node's security at any time with `bulwark doctor`.\n");
    b.push_str(&rule);
    b.push_str("\n\n");
    b
}
