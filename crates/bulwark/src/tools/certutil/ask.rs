//! Questions on the terminal. Callers ask only when `prompt::interactive()` is true; every
//! question also has a flag.
//!
//! Yes/no questions wait for Enter (unlike a bare key press), so typing `y` and Enter answers
//! exactly one question, as in Elasticsearch's tools.

use std::io::Write;

use crate::exit::{self, fail};

fn terminal_failure(e: dialoguer::Error) -> anyhow::Error {
    fail(exit::IO_ERROR, format!("cannot read from the terminal: {e}"))
}

/// Asks for a line of text; an empty answer gives `default` (shown in brackets) if there is one.
pub fn text(prompt: &str, default: Option<&str>) -> anyhow::Result<String> {
    let mut input = dialoguer::Input::<String>::new().with_prompt(prompt).allow_empty(true);
    if let Some(d) = default {
        input = input.default(d.to_owned());
    }
    Ok(input.interact_text().map_err(terminal_failure)?.trim().to_owned())
}

/// Asks a yes/no question; Enter alone gives `default`.
pub fn yes_no(prompt: &str, default: bool) -> anyhow::Result<bool> {
    dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(default)
        .wait_for_newline(true)
        .interact()
        .map_err(terminal_failure)
}

/// Asks for values one per line (commas and spaces also separate them) until an empty line.
/// `check` returns why a value is refused; refused values are reported and skipped.
pub fn list(prompt: &str, check: impl Fn(&str) -> Result<(), String>) -> anyhow::Result<Vec<String>> {
    let mut values: Vec<String> = Vec::new();
    loop {
        let line = text(prompt, None)?;
        if line.is_empty() {
            return Ok(values);
        }
        for value in line.split([',', ' ', '\t']).filter(|v| !v.is_empty()) {
            match check(value) {
                Ok(()) if values.iter().any(|v| v == value) => {}
                Ok(()) => values.push(value.to_owned()),
                Err(reason) => say(&format!("Skipped: {reason}")),
            }
        }
    }
}

/// Prints explanatory text for the person at the terminal (on standard error, next to the
/// prompts, so standard output keeps only results).
pub fn say(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// A section heading in the wizard.
pub fn heading(text: &str) {
    say("");
    say(&format!("## {text}"));
    say("");
}
