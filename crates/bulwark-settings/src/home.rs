//! The home directory layout: where config, data and logs live.

use std::path::{Path, PathBuf};

/// Environment variable naming the home directory.
pub const HOME_ENV: &str = "BULWARK_HOME";
/// Environment variable overriding the config directory.
pub const PATH_CONF_ENV: &str = "BULWARK_PATH_CONF";
/// Home used when neither `--home` nor `BULWARK_HOME` is given.
pub const DEFAULT_HOME: &str = "bulwark-home";

/// The resolved home: `--home`, else `$BULWARK_HOME`, else `./bulwark-home`; the config directory
/// may be moved by `$BULWARK_PATH_CONF`. Data and log directories come from settings
/// (`path.data`, `path.logs`) and default to `data/` and `logs/` inside the home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
    config: PathBuf,
}

impl Home {
    /// Resolves the home from the `--home` flag and the process environment.
    pub fn resolve(flag: Option<&Path>) -> Home {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        Home::resolve_with(flag, env(HOME_ENV), env(PATH_CONF_ENV))
    }

    /// Resolves the home from explicit values (the environment passed in, for tests).
    pub fn resolve_with(flag: Option<&Path>, home_env: Option<PathBuf>, conf_env: Option<PathBuf>) -> Home {
        let root = flag.map(Path::to_path_buf).or(home_env).unwrap_or_else(|| PathBuf::from(DEFAULT_HOME));
        let config = conf_env.unwrap_or_else(|| root.join("config"));
        Home { root, config }
    }

    /// The home directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config/` (or `$BULWARK_PATH_CONF`).
    pub fn config_dir(&self) -> &Path {
        &self.config
    }

    /// `config/bulwark.yml`.
    pub fn settings_file(&self) -> PathBuf {
        self.config.join("bulwark.yml")
    }

    /// `config/bulwark.keystore`.
    pub fn keystore_file(&self) -> PathBuf {
        self.config.join("bulwark.keystore")
    }

    /// `config/certs/`.
    pub fn certs_dir(&self) -> PathBuf {
        self.config.join("certs")
    }

    /// `config/bootstrap-credentials`: first-start secrets when no terminal was attached.
    pub fn bootstrap_credentials_file(&self) -> PathBuf {
        self.config.join("bootstrap-credentials")
    }

    /// Default data directory (`path.data` overrides it).
    pub fn default_data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Default logs directory (`path.logs` overrides it).
    pub fn default_logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Resolves a path given in a setting: relative paths are relative to the config directory,
    /// as Elasticsearch resolves `keystore.path` and friends.
    pub fn config_relative(&self, p: &Path) -> PathBuf {
        if p.is_absolute() { p.to_path_buf() } else { self.config.join(p) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_and_conf_env_moves_config() {
        let h = Home::resolve_with(Some(Path::new("/a")), Some("/b".into()), None);
        assert_eq!(h.root(), Path::new("/a"));
        assert_eq!(h.settings_file(), Path::new("/a/config/bulwark.yml"));
        let h = Home::resolve_with(None, Some("/b".into()), Some("/etc/bw".into()));
        assert_eq!(h.root(), Path::new("/b"));
        assert_eq!(h.keystore_file(), Path::new("/etc/bw/bulwark.keystore"));
        let h = Home::resolve_with(None, None, None);
        assert_eq!(h.root(), Path::new(DEFAULT_HOME));
        assert_eq!(
            h.config_relative(Path::new("certs/http.p12")),
            Path::new("bulwark-home/config/certs/http.p12")
        );
    }
}
