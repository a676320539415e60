//! Prompts: only on a terminal, and every question also has a flag or variable.

use std::io::IsTerminal;

use secrecy::SecretString;

/// Whether standard input and standard error are terminals (prompts may be shown).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for a secret once, without echo.
pub fn secret(prompt: &str) -> anyhow::Result<SecretString> {
    let v = dialoguer::Password::new().with_prompt(prompt).allow_empty_password(true).interact()?;
    Ok(SecretString::from(v))
}

/// Asks for a new secret twice, without echo.
pub fn new_secret(prompt: &str) -> anyhow::Result<SecretString> {
    let v = dialoguer::Password::new()
        .with_prompt(prompt)
        .with_confirmation("Repeat the password", "The two entries do not match")
        .allow_empty_password(true)
        .interact()?;
    Ok(SecretString::from(v))
}

/// Asks a yes/no question; `default` is used on Enter.
pub fn confirm(question: &str, default: bool) -> anyhow::Result<bool> {
    Ok(dialoguer::Confirm::new().with_prompt(question).default(default).interact()?)
}
