//! The console home: `config/console.yml`, `config/console.keystore`, `data/`, `logs/`.
//!
//! Resolved from `--home`, else `$BULWARK_CONSOLE_HOME`, else `./bulwark-console-home`. The
//! keystore holds the console's secrets (the session encryption key and the service-account
//! token); `data/` the node's CA certificate and the pending verification code; `logs/` the
//! ports file.

use std::path::{Path, PathBuf};

use bulwark_keystore::Keystore;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::ConsoleError;

/// Environment variable naming the console home.
pub const HOME_ENV: &str = "BULWARK_CONSOLE_HOME";
/// The console home used when neither `--home` nor the variable is given.
pub const DEFAULT_HOME: &str = "bulwark-console-home";
/// Keystore entry: the key sessions are encrypted with (Kibana's name).
pub const ENCRYPTION_KEY: &str = "xpack.security.encryptionKey";
/// Keystore entry: the `elastic/kibana` service-account token (Kibana's name).
pub const SERVICE_TOKEN: &str = "elasticsearch.serviceAccountToken";
/// The shortest encryption key accepted (Kibana's rule).
pub const MIN_ENCRYPTION_KEY_LEN: usize = 32;

/// Where the console keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleHome {
    root: PathBuf,
}

impl ConsoleHome {
    /// `flag`, else `$BULWARK_CONSOLE_HOME`, else `./bulwark-console-home`.
    pub fn resolve(flag: Option<&Path>) -> ConsoleHome {
        let env = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        let root = flag.map(Path::to_path_buf).or(env).unwrap_or_else(|| PathBuf::from(DEFAULT_HOME));
        // Absolute, so the paths written into console.yml hold from any working directory.
        let root = std::path::absolute(&root).unwrap_or(root);
        ConsoleHome { root }
    }

    /// The home directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config/`.
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }

    /// `config/console.yml`.
    pub fn settings_file(&self) -> PathBuf {
        self.config_dir().join("console.yml")
    }

    /// `config/console.keystore`.
    pub fn keystore_file(&self) -> PathBuf {
        self.config_dir().join("console.keystore")
    }

    /// `data/`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// `logs/`.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The node's HTTP CA certificate, written by enrollment.
    pub fn node_ca_file(&self) -> PathBuf {
        self.data_dir().join("node_http_ca.crt")
    }

    /// The pending verification code (0600), removed once enrolled.
    pub fn code_file(&self) -> PathBuf {
        self.data_dir().join("verification_code")
    }

    /// `logs/console.ports` (with `server.portsfile: true`).
    pub fn ports_file(&self) -> PathBuf {
        self.logs_dir().join("console.ports")
    }

    /// The generated certificate and key of the console's own HTTPS (0600 key).
    pub fn generated_tls(&self) -> (PathBuf, PathBuf) {
        let dir = self.data_dir().join("tls");
        (dir.join("console.crt"), dir.join("console.key"))
    }

    /// Creates the directories (0700).
    pub fn create_dirs(&self) -> Result<(), ConsoleError> {
        for dir in [self.config_dir(), self.data_dir(), self.data_dir().join("tls"), self.logs_dir()] {
            std::fs::create_dir_all(&dir).map_err(|e| ConsoleError::io(&dir, e))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| ConsoleError::io(&dir, e))?;
        }
        Ok(())
    }

    /// The console keystore's password: `KEYSTORE_PASSWORD` when it is protected, else empty.
    fn keystore_password(&self) -> SecretString {
        let path = self.keystore_file();
        if Keystore::exists(&path) && Keystore::is_password_protected(&path).unwrap_or(false) {
            SecretString::from(std::env::var("KEYSTORE_PASSWORD").unwrap_or_default())
        } else {
            SecretString::from("")
        }
    }

    /// The console keystore, empty when there is none yet.
    pub fn keystore(&self) -> Result<Keystore, ConsoleError> {
        let path = self.keystore_file();
        if !Keystore::exists(&path) {
            return Keystore::new().map_err(|e| ConsoleError::Keystore(e.to_string()));
        }
        Keystore::load(&path, &self.keystore_password())
            .map_err(|e| ConsoleError::Keystore(format!("cannot open [{}]: {e}", path.display())))
    }

    /// Saves the console keystore (atomically, 0600).
    pub fn save_keystore(&self, ks: &Keystore) -> Result<(), ConsoleError> {
        let path = self.keystore_file();
        ks.save(&path, &self.keystore_password())
            .map_err(|e| ConsoleError::Keystore(format!("cannot write [{}]: {e}", path.display())))
    }

    /// `xpack.security.encryptionKey`, generated (64 hex characters) and saved when absent;
    /// a given key shorter than 32 characters is refused.
    pub fn encryption_key(&self) -> Result<SecretString, ConsoleError> {
        let mut ks = self.keystore()?;
        if let Some(key) = ks.get_string(ENCRYPTION_KEY) {
            use secrecy::ExposeSecret;
            if key.expose_secret().chars().count() < MIN_ENCRYPTION_KEY_LEN {
                return Err(ConsoleError::Config(format!(
                    "[{ENCRYPTION_KEY}] in the console keystore must be at least {MIN_ENCRYPTION_KEY_LEN} characters long"
                )));
            }
            return Ok(key);
        }
        let raw = bulwark_random::bytes::<32>().map_err(|e| ConsoleError::Config(e.to_string()))?;
        let text = Zeroizing::new(raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        ks.set(ENCRYPTION_KEY, Zeroizing::new(text.as_bytes().to_vec()))
            .map_err(|e| ConsoleError::Keystore(e.to_string()))?;
        self.save_keystore(&ks)?;
        Ok(SecretString::from(text.to_string()))
    }

    /// The service-account token, when enrolled.
    pub fn service_token(&self) -> Result<Option<SecretString>, ConsoleError> {
        Ok(self.keystore()?.get_string(SERVICE_TOKEN))
    }
}
