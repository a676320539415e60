//! Passwords of the files certutil writes and reads.
//!
//! `--pass VALUE` (and `--ca-pass VALUE`) give a password; the flag without a value asks for it on
//! the terminal, as Elasticsearch's tools do. Without the flag the environment is read
//! (`CERTUTIL_PASSWORD`, `CERTUTIL_CA_PASSWORD`: unlike a flag, not visible to other users in the
//! process list), then a terminal is asked (a new password twice); without either, a new file gets
//! an empty password and a warning, and an existing file is tried with the empty password.

use bulwark_pki::{PkiError, SecretString};
use secrecy::ExposeSecret;

use super::failure;
use crate::exit::{self, fail};
use crate::prompt;

/// What a password flag said: absent, present without a value (ask), or a value.
pub type PassFlag = Option<Option<String>>;

/// The environment variable read when password flag `flag_name` is absent: `--pass` →
/// `CERTUTIL_PASSWORD`, `--ca-pass` → `CERTUTIL_CA_PASSWORD`.
pub fn env_name(flag_name: &str) -> String {
    let stem = flag_name.trim_start_matches('-').trim_end_matches("pass").replace('-', "_").to_uppercase();
    format!("CERTUTIL_{stem}PASSWORD")
}

/// The password in the environment for `flag_name`, if set.
fn from_env(flag_name: &str) -> Option<SecretString> {
    std::env::var(env_name(flag_name)).ok().map(SecretString::from)
}

/// The password for a new PKCS#12 file `file`, from `flag_name` or the terminal; empty with a
/// warning when neither is available.
pub fn for_new_p12(flag: &PassFlag, flag_name: &str, file: &str) -> anyhow::Result<SecretString> {
    let password = match flag {
        Some(Some(value)) => SecretString::from(value.clone()),
        Some(None) => {
            if !prompt::interactive() {
                return Err(no_terminal(flag_name));
            }
            ask_new(file)?
        }
        None => match from_env(flag_name) {
            Some(password) => password,
            None if prompt::interactive() => ask_new(file)?,
            None => {
                eprintln!(
                    "WARNING: no {flag_name} was given and there is no terminal to ask for one, so the password \
                     of {file} is empty. Anyone who can read the file can use the private key, so keep it \
                     private (it is written with mode 0600), or run again with {} set.",
                    env_name(flag_name)
                );
                SecretString::from("")
            }
        },
    };
    check_ascii(&password, flag_name)?;
    Ok(password)
}

/// PEM private keys are written unencrypted: refuse a non-empty password for them rather than
/// silently ignoring it.
pub fn refuse_for_pem(flag: &PassFlag, flag_name: &str, what: &str) -> anyhow::Result<()> {
    match flag {
        Some(Some(v)) if v.is_empty() => Ok(()),
        None => Ok(()),
        Some(_) => Err(fail(
            exit::USAGE,
            format!(
                "{flag_name} cannot protect {what}: PEM private keys are written unencrypted (the zip file \
                 itself is created with mode 0600). Leave out {flag_name}, or write PKCS#12 instead, \
                 which is always password-protected"
            ),
        )),
    }
}

/// Opens an existing password-protected file with `open`, taking the password from `flag_name`,
/// else trying the empty password, else asking on the terminal.
pub fn open_existing<T>(
    flag: &PassFlag,
    flag_name: &str,
    file: &str,
    open: impl Fn(&SecretString) -> Result<T, PkiError>,
) -> anyhow::Result<T> {
    let wrong = || {
        fail(
            exit::DATA_ERROR,
            format!(
                "wrong password for {file} (given with {flag_name}, {} or at the prompt)",
                env_name(flag_name)
            ),
        )
    };
    let attempt = |password: &SecretString| match open(password) {
        Err(PkiError::WrongPassword) => Err(wrong()),
        other => other.map_err(|e| failure::pki(format!("cannot use {file}"), e)),
    };
    match flag {
        Some(Some(value)) => attempt(&SecretString::from(value.clone())),
        Some(None) => {
            if !prompt::interactive() {
                return Err(no_terminal(flag_name));
            }
            attempt(&prompt::secret(&format!("Enter password for {file}"))?)
        }
        None => match from_env(flag_name) {
            Some(password) => attempt(&password),
            None => match open(&SecretString::from("")) {
                Err(PkiError::WrongPassword) if prompt::interactive() => {
                    attempt(&prompt::secret(&format!("Enter password for {file}"))?)
                }
                Err(PkiError::WrongPassword) => Err(fail(
                    exit::USAGE,
                    format!(
                        "{file} is protected by a password and there is no terminal to ask for it; \
                         set {} (or give {flag_name} PASSWORD)",
                        env_name(flag_name)
                    ),
                )),
                other => other.map_err(|e| failure::pki(format!("cannot use {file}"), e)),
            },
        },
    }
}

fn ask_new(file: &str) -> anyhow::Result<SecretString> {
    loop {
        let password = prompt::new_secret(&format!("Enter password for {file} (empty for none)"))?;
        if password.expose_secret().is_ascii() {
            return Ok(password);
        }
        eprintln!("PKCS#12 passwords must be plain ASCII; try again.");
    }
}

fn check_ascii(password: &SecretString, flag_name: &str) -> anyhow::Result<()> {
    if password.expose_secret().is_ascii() {
        Ok(())
    } else {
        Err(fail(
            exit::USAGE,
            format!(
                "the password given with {flag_name} is not plain ASCII; PKCS#12 tools disagree on how to \
                 encode other characters, so use ASCII only"
            ),
        ))
    }
}

fn no_terminal(flag_name: &str) -> anyhow::Error {
    fail(
        exit::USAGE,
        format!(
            "{flag_name} without a value asks for the password, but there is no terminal; use {flag_name} PASSWORD"
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn environment_names_follow_the_flags() {
        assert_eq!(super::env_name("--pass"), "CERTUTIL_PASSWORD");
        assert_eq!(super::env_name("--ca-pass"), "CERTUTIL_CA_PASSWORD");
    }
}
