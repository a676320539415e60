//! `bulwark keystore`: manage the encrypted keystore of secure settings, as
//! `elasticsearch-keystore` does.
//!
//! Every command reads the whole keystore, checks everything it needs (names, existing
//! settings, passwords, input), and only then writes, atomically: a failing command changes
//! nothing on disk. Questions are asked only on a terminal; without one, a flag or an
//! environment variable answers each of them.

use std::error::Error as _;
use std::ffi::OsString;
use std::fmt::Display;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bulwark_keystore::{FORMAT_VERSION, Keystore, KeystoreError, MAX_FILE_LEN};
use bulwark_settings::secure::{is_known_secure_setting, known_secure_settings};
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::exit::{self, fail};
use crate::prompt;

/// The password of an existing keystore (and of a new one made with `create -p`).
const PASSWORD_ENV: &str = "KEYSTORE_PASSWORD";
/// The new password for `passwd`.
const NEW_PASSWORD_ENV: &str = "KEYSTORE_NEW_PASSWORD";
/// Elasticsearch's prompt; the prompt library appends ": ".
const PASSWORD_PROMPT: &str = "Enter password for the bulwark keystore ";
/// `has-passwd` exits with this when there is no password (Elasticsearch's code).
const NO_PASSWORD: u8 = 1;

/// Manage the encrypted keystore of secure settings (config/bulwark.keystore).
///
/// Secure settings are settings too sensitive for bulwark.yml, such as the passwords of the TLS
/// keystores. The keystore is encrypted with AES-256-GCM under a key derived from its password
/// (empty by default) and is written with mode 0600.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Environment:
  KEYSTORE_PASSWORD       password of a password-protected keystore (else a prompt on a terminal);
                          also the password `create -p` sets
  KEYSTORE_NEW_PASSWORD   new password for `passwd` (else a prompt on a terminal; empty removes it)

Exit codes: 0 ok, 1 `has-passwd` found no password, 64 usage, 65 wrong password or damaged
keystore, 74 I/O error, 78 missing keystore, unknown or missing setting.")]
pub struct KeystoreArgs {
    #[command(subcommand)]
    command: KeystoreCommand,
}

#[derive(Debug, Subcommand)]
enum KeystoreCommand {
    /// Create a new keystore (holding only a random keystore.seed).
    Create(CreateArgs),
    /// List the names of the settings in the keystore, sorted.
    List,
    /// Add string settings, with values from prompts or standard input.
    Add(AddArgs),
    /// Add settings whose values are the contents of files.
    AddFile(AddFileArgs),
    /// Remove settings from the keystore.
    Remove(RemoveArgs),
    /// Print the value of a setting.
    Show(ShowArgs),
    /// Rewrite the keystore in the current format (adding keystore.seed if it is missing).
    Upgrade,
    /// Change the keystore's password.
    ///
    /// The new password comes from KEYSTORE_NEW_PASSWORD, else from a prompt (asked twice) on a
    /// terminal. An empty new password removes the password.
    Passwd,
    /// Exit 0 if the keystore is password-protected, 1 if it is not (or does not exist).
    HasPasswd(HasPasswdArgs),
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// Protect the keystore with a password: KEYSTORE_PASSWORD, else a prompt (asked twice).
    #[arg(short, long)]
    password: bool,
    /// Overwrite an existing keystore without asking (every setting in it is lost).
    #[arg(short, long)]
    force: bool,
}

#[derive(Debug, Args)]
struct AddArgs {
    /// Names of the settings to add, e.g. xpack.security.http.ssl.keystore.secure_password.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    /// Read the values from standard input, one line per name in order, instead of prompting.
    #[arg(short = 'x', long = "stdin")]
    stdin: bool,
    /// Overwrite existing settings without asking, and create the keystore if it is missing.
    #[arg(short, long)]
    force: bool,
}

#[derive(Debug, Args)]
struct AddFileArgs {
    /// Pairs of a setting name and the file whose bytes become its value.
    #[arg(required = true, num_args = 2.., value_names = ["NAME", "FILE"])]
    pairs: Vec<OsString>,
    /// Overwrite existing settings without asking, and create the keystore if it is missing.
    #[arg(short, long)]
    force: bool,
}

#[derive(Debug, Args)]
struct RemoveArgs {
    /// Names of the settings to remove; each must be in the keystore.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Name of the setting to print.
    #[arg(value_name = "NAME")]
    name: String,
    /// Write the value to this new file (mode 0600) instead of standard output; an existing
    /// file is not overwritten.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct HasPasswdArgs {
    /// Print nothing when the keystore is password-protected.
    #[arg(short, long)]
    silent: bool,
}

/// Runs `bulwark keystore <command>` against the home's `config/bulwark.keystore`.
pub fn run(globals: &crate::Globals, args: KeystoreArgs) -> anyhow::Result<ExitCode> {
    let path = globals.home.keystore_file();
    match args.command {
        KeystoreCommand::Create(a) => create(&path, &a),
        KeystoreCommand::List => list(&path),
        KeystoreCommand::Add(a) => add(&path, &a),
        KeystoreCommand::AddFile(a) => add_file(&path, a),
        KeystoreCommand::Remove(a) => remove(&path, &a),
        KeystoreCommand::Show(a) => show(&path, &a),
        KeystoreCommand::Upgrade => upgrade(&path),
        KeystoreCommand::Passwd => passwd(&path),
        KeystoreCommand::HasPasswd(a) => has_passwd(&path, &a),
    }
}

fn create(path: &Path, args: &CreateArgs) -> anyhow::Result<ExitCode> {
    if Keystore::exists(path) && !args.force {
        if !prompt::interactive() {
            return Err(fail(
                exit::USAGE,
                format!(
                    "a keystore already exists at [{}]; pass -f/--force to replace it \
                     (every setting in it will be lost)",
                    path.display()
                ),
            ));
        }
        if !prompt::confirm("A bulwark keystore already exists. Overwrite it?", false)? {
            out("Exiting without creating keystore.")?;
            return Ok(ExitCode::SUCCESS);
        }
    }
    let password = if args.password {
        let password = new_password(PASSWORD_ENV)?;
        if password.expose_secret().is_empty() {
            return Err(fail(
                exit::USAGE,
                format!(
                    "-p/--password needs a non-empty password (from {PASSWORD_ENV} or the prompt); \
                     leave out -p to create a keystore without a password"
                ),
            ));
        }
        password
    } else {
        empty_password()
    };
    ensure_parent_dir(path)?;
    Keystore::new().and_then(|k| k.save(path, &password)).map_err(keystore_failure)?;
    out(format_args!("Created keystore at {}", path.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn list(path: &Path) -> anyhow::Result<ExitCode> {
    let opened = open(path)?;
    let mut stdout = io::stdout().lock();
    for name in opened.keystore.names() {
        writeln!(stdout, "{name}").map_err(stdout_failure)?;
    }
    stdout.flush().map_err(stdout_failure)?;
    Ok(ExitCode::SUCCESS)
}

fn add(path: &Path, args: &AddArgs) -> anyhow::Result<ExitCode> {
    check_known_names(&args.names)?;
    if !args.stdin && !prompt::interactive() {
        return Err(fail(
            exit::USAGE,
            "there is no terminal to prompt for the values; pass -x/--stdin and write one value \
             per line to standard input, in the order of the names",
        ));
    }
    let Some(mut opened) = open_or_create(path, args.force)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !may_overwrite(path, &opened.keystore, args.names.iter().map(String::as_str), args.force)? {
        out("Exiting without modifying keystore.")?;
        return Ok(ExitCode::SUCCESS);
    }
    let values = if args.stdin { values_from_stdin(&args.names)? } else { values_from_prompts(&args.names)? };
    for (name, value) in args.names.iter().zip(values) {
        opened.keystore.set(name, value).map_err(keystore_failure)?;
    }
    opened.save(path)?;
    Ok(ExitCode::SUCCESS)
}

fn add_file(path: &Path, args: AddFileArgs) -> anyhow::Result<ExitCode> {
    if !args.pairs.len().is_multiple_of(2) {
        return Err(fail(
            exit::USAGE,
            "add-file takes pairs of a setting name and a file (NAME FILE [NAME FILE]...); \
             the last name has no file",
        ));
    }
    let mut names = Vec::new();
    let mut files = Vec::new();
    let mut pairs = args.pairs.into_iter();
    while let (Some(name), Some(file)) = (pairs.next(), pairs.next()) {
        let name = name.into_string().map_err(|n| {
            fail(exit::USAGE, format!("setting name [{}] is not valid UTF-8", n.to_string_lossy()))
        })?;
        names.push(name);
        files.push(PathBuf::from(file));
    }
    check_known_names(&names)?;
    let Some(mut opened) = open_or_create(path, args.force)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if !may_overwrite(path, &opened.keystore, names.iter().map(String::as_str), args.force)? {
        out("Exiting without modifying keystore.")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut values = Vec::with_capacity(names.len());
    for (name, file) in names.iter().zip(&files) {
        values.push(read_value_file(name, file)?);
    }
    for (name, value) in names.iter().zip(values) {
        opened.keystore.set(name, value).map_err(keystore_failure)?;
    }
    opened.save(path)?;
    Ok(ExitCode::SUCCESS)
}

fn remove(path: &Path, args: &RemoveArgs) -> anyhow::Result<ExitCode> {
    let mut opened = open(path)?;
    for name in &args.names {
        if !opened.keystore.contains(name) {
            return Err(missing_setting(path, name));
        }
    }
    for name in &args.names {
        opened.keystore.remove(name);
    }
    opened.save(path)?;
    Ok(ExitCode::SUCCESS)
}

fn show(path: &Path, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let opened = open(path)?;
    let value = opened.keystore.get(&args.name).ok_or_else(|| missing_setting(path, &args.name))?;
    if let Some(output) = &args.output {
        write_new_secret_file(output, value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    if terminal && std::str::from_utf8(value).is_err() {
        return Err(fail(
            exit::USAGE,
            format!(
                "the value of [{}] is binary and is not printed to a terminal; redirect standard \
                 output to a file or pass -o FILE",
                args.name
            ),
        ));
    }
    let mut stdout = stdout.lock();
    stdout.write_all(value).map_err(stdout_failure)?;
    if terminal {
        stdout.write_all(b"\n").map_err(stdout_failure)?;
    }
    stdout.flush().map_err(stdout_failure)?;
    Ok(ExitCode::SUCCESS)
}

fn upgrade(path: &Path) -> anyhow::Result<ExitCode> {
    let mut opened = open(path)?;
    let added_seed = opened.keystore.add_seed_if_missing().map_err(keystore_failure)?;
    opened.save(path)?;
    let seed = if added_seed { ", added keystore.seed" } else { "" };
    out(format_args!("Upgraded keystore at {} to format version {FORMAT_VERSION}{seed}", path.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn passwd(path: &Path) -> anyhow::Result<ExitCode> {
    let mut opened = open(path)?;
    opened.password = new_password(NEW_PASSWORD_ENV)?;
    opened.save(path)?;
    if opened.password.expose_secret().is_empty() {
        out("Keystore password removed; the keystore is now protected only by its file permissions.")?;
    } else {
        out("Keystore password changed successfully.")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn has_passwd(path: &Path, args: &HasPasswdArgs) -> anyhow::Result<ExitCode> {
    match Keystore::is_password_protected(path) {
        Ok(true) => {
            if !args.silent {
                out("Keystore is password-protected")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(false) => {
            Err(fail(NO_PASSWORD, format!("Keystore [{}] is not password-protected", path.display())))
        }
        Err(e @ KeystoreError::NotFound { .. }) => Err(fail(NO_PASSWORD, message(&e))),
        Err(e) => Err(keystore_failure(e)),
    }
}

/// A keystore read from disk (or new), with the password to save it under.
struct Opened {
    keystore: Keystore,
    password: SecretString,
    new: bool,
}

impl Opened {
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        if self.new {
            ensure_parent_dir(path)?;
        }
        self.keystore.save(path, &self.password).map_err(keystore_failure)
    }
}

/// Loads the keystore, asking for its password only when it has one.
fn open(path: &Path) -> anyhow::Result<Opened> {
    let protected = Keystore::is_password_protected(path).map_err(keystore_failure)?;
    let password = if protected { current_password(path)? } else { empty_password() };
    let keystore = Keystore::load(path, &password).map_err(keystore_failure)?;
    Ok(Opened { keystore, password, new: false })
}

/// Loads the keystore, or starts a new one (without a password) when it is missing and `force`
/// is set or the user agrees. `None`: the user declined.
fn open_or_create(path: &Path, force: bool) -> anyhow::Result<Option<Opened>> {
    if Keystore::exists(path) {
        return open(path).map(Some);
    }
    if !force {
        if !prompt::interactive() {
            return Err(fail(
                exit::CONFIG,
                format!(
                    "keystore not found at [{}]; run `bulwark keystore create` first, or pass \
                     -f/--force to create it",
                    path.display()
                ),
            ));
        }
        if !prompt::confirm("The bulwark keystore does not exist. Do you want to create it?", false)? {
            out("Exiting without creating keystore.")?;
            return Ok(None);
        }
    }
    Ok(Some(Opened {
        keystore: Keystore::new().map_err(keystore_failure)?,
        password: empty_password(),
        new: true,
    }))
}

/// Whether every existing setting among `names` may be replaced: yes with `force`, by asking on
/// a terminal, else an error.
fn may_overwrite<'a>(
    path: &Path,
    keystore: &Keystore,
    names: impl Iterator<Item = &'a str>,
    force: bool,
) -> anyhow::Result<bool> {
    for name in names.filter(|n| keystore.contains(n)) {
        if force {
            continue;
        }
        if !prompt::interactive() {
            return Err(fail(
                exit::USAGE,
                format!(
                    "setting [{name}] already exists in keystore [{}]; pass -f/--force to overwrite it",
                    path.display()
                ),
            ));
        }
        if !prompt::confirm(&format!("Setting {name} already exists. Overwrite?"), false)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Refuses names the node does not know (a typo would otherwise silently do nothing) and names
/// given twice.
fn check_known_names(names: &[String]) -> anyhow::Result<()> {
    for (i, name) in names.iter().enumerate() {
        if names.iter().take(i).any(|n| n == name) {
            return Err(fail(exit::USAGE, format!("setting [{name}] is given more than once")));
        }
        if !is_known_secure_setting(name) {
            let near = near_matches(name);
            let hint = if near.is_empty() {
                format!("the secure settings bulwark knows are: {}", known_secure_settings().join(", "))
            } else {
                let near: Vec<String> = near.iter().map(|n| format!("[{n}]")).collect();
                format!("did you mean {}?", near.join(" or "))
            };
            return Err(fail(
                exit::CONFIG,
                format!("unknown secure setting [{name}]: bulwark would never read it; {hint}"),
            ));
        }
    }
    Ok(())
}

/// Known settings within a small edit distance of `name`, or that end with it after a dot.
fn near_matches(name: &str) -> Vec<&'static str> {
    let mut near: Vec<(usize, &'static str)> = known_secure_settings()
        .iter()
        .filter_map(|&known| {
            let d = edit_distance(name, known);
            let suffix = known.ends_with(&format!(".{name}"));
            (d <= 3 || suffix).then_some((d, known))
        })
        .collect();
    near.sort();
    near.into_iter().map(|(_, n)| n).collect()
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let substitute = prev.get(j).map_or(usize::MAX, |p| p + usize::from(ca != cb));
            let delete = prev.get(j + 1).map_or(usize::MAX, |p| p + 1);
            let insert = cur.get(j).map_or(usize::MAX, |c| c + 1);
            cur.push(substitute.min(delete).min(insert));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// One value per name from standard input: one line each, the line ending removed.
fn values_from_stdin(names: &[String]) -> anyhow::Result<Vec<Zeroizing<Vec<u8>>>> {
    let mut input = Zeroizing::new(Vec::with_capacity(8192));
    io::stdin()
        .lock()
        .take(MAX_FILE_LEN as u64 + 1)
        .read_to_end(&mut input)
        .map_err(|e| fail(exit::IO_ERROR, format!("cannot read the values from standard input: {e}")))?;
    if input.len() > MAX_FILE_LEN {
        return Err(fail(exit::USAGE, format!("standard input is larger than {MAX_FILE_LEN} bytes")));
    }
    let lines = split_lines(&input);
    if lines.len() != names.len() {
        return Err(fail(
            exit::USAGE,
            format!(
                "standard input has {} line(s) but {} setting name(s) were given; write exactly one \
                 value per line, in the order of the names",
                lines.len(),
                names.len()
            ),
        ));
    }
    let mut values = Vec::with_capacity(names.len());
    for (name, line) in names.iter().zip(lines) {
        if std::str::from_utf8(line).is_err() {
            return Err(fail(
                exit::DATA_ERROR,
                format!(
                    "the value for [{name}] is not valid UTF-8; use `bulwark keystore add-file` for binary values"
                ),
            ));
        }
        values.push(Zeroizing::new(line.to_vec()));
    }
    Ok(values)
}

/// Lines of `input`: a final line ending does not start another (empty) line; `\r\n` counts as
/// one line ending.
fn split_lines(input: &[u8]) -> Vec<&[u8]> {
    if input.is_empty() {
        return Vec::new();
    }
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    body.split(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r").unwrap_or(line)).collect()
}

fn values_from_prompts(names: &[String]) -> anyhow::Result<Vec<Zeroizing<Vec<u8>>>> {
    let mut values = Vec::with_capacity(names.len());
    for name in names {
        let value = prompt::secret(&format!("Enter value for {name}"))?;
        values.push(Zeroizing::new(value.expose_secret().as_bytes().to_vec()));
    }
    Ok(values)
}

fn read_value_file(name: &str, file: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let cannot = |e: io::Error| {
        let code = if e.kind() == io::ErrorKind::NotFound { exit::USAGE } else { exit::IO_ERROR };
        fail(code, format!("cannot read file [{}] for setting [{name}]: {e}", file.display()))
    };
    let f = std::fs::File::open(file).map_err(cannot)?;
    let mut value = Zeroizing::new(Vec::new());
    f.take(MAX_FILE_LEN as u64 + 1).read_to_end(&mut value).map_err(cannot)?;
    if value.len() > MAX_FILE_LEN {
        return Err(fail(
            exit::USAGE,
            format!("file [{}] for setting [{name}] is larger than {MAX_FILE_LEN} bytes", file.display()),
        ));
    }
    Ok(value)
}

/// Writes a secret to a file that must not exist yet, created with mode 0600 (an existing
/// file, or a symlink planted where it will be, could be readable by others).
fn write_new_secret_file(file: &Path, value: &[u8]) -> anyhow::Result<()> {
    let cannot = |e: io::Error| {
        let (code, hint) = if e.kind() == io::ErrorKind::AlreadyExists {
            (exit::USAGE, "; it already exists: remove it or choose another path")
        } else {
            (exit::IO_ERROR, "")
        };
        fail(code, format!("cannot write file [{}]: {e}{hint}", file.display()))
    };
    let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(file).map_err(cannot)?;
    f.write_all(value).and_then(|()| f.sync_all()).map_err(cannot)
}

/// The current password: KEYSTORE_PASSWORD, else a prompt on a terminal.
pub(crate) fn current_password(path: &Path) -> anyhow::Result<SecretString> {
    if let Some(password) = env_secret(PASSWORD_ENV)? {
        return Ok(password);
    }
    if prompt::interactive() {
        return prompt::secret(PASSWORD_PROMPT);
    }
    Err(fail(
        exit::USAGE,
        format!(
            "keystore [{}] is password-protected and there is no terminal to ask for the password; \
             set {PASSWORD_ENV}",
            path.display()
        ),
    ))
}

/// A new password: from `env`, else asked twice on a terminal.
fn new_password(env: &str) -> anyhow::Result<SecretString> {
    if let Some(password) = env_secret(env)? {
        return Ok(password);
    }
    if prompt::interactive() {
        return prompt::new_secret("Enter new password for the bulwark keystore (empty for no password)");
    }
    Err(fail(exit::USAGE, format!("there is no terminal to ask for the new keystore password; set {env}")))
}

fn env_secret(name: &str) -> anyhow::Result<Option<SecretString>> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(SecretString::from(v))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(fail(exit::USAGE, format!("{name} is not valid UTF-8")))
        }
    }
}

fn empty_password() -> SecretString {
    SecretString::from("")
}

fn ensure_parent_dir(path: &Path) -> anyhow::Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    DirBuilder::new().recursive(true).mode(0o750).create(dir).map_err(|e| {
        fail(exit::IO_ERROR, format!("cannot create the config directory [{}]: {e}", dir.display()))
    })
}

fn missing_setting(path: &Path, name: &str) -> anyhow::Error {
    fail(
        exit::CONFIG,
        format!(
            "setting [{name}] is not in keystore [{}]; `bulwark keystore list` shows the settings it holds",
            path.display()
        ),
    )
}

/// The exit code for each keystore error, and its message with its causes.
fn keystore_failure(e: KeystoreError) -> anyhow::Error {
    let code = match &e {
        KeystoreError::NotFound { .. } => exit::CONFIG,
        KeystoreError::Io { .. } => exit::IO_ERROR,
        KeystoreError::WrongPassword { .. }
        | KeystoreError::Corrupted { .. }
        | KeystoreError::UnsupportedVersion { .. } => exit::DATA_ERROR,
        KeystoreError::InvalidName { .. } => exit::USAGE,
        KeystoreError::Random(_) => exit::IO_ERROR,
    };
    fail(code, message(&e))
}

fn message(e: &KeystoreError) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

fn out(line: impl Display) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{line}").and_then(|()| stdout.flush()).map_err(stdout_failure)
}

fn stdout_failure(e: io::Error) -> anyhow::Error {
    fail(exit::IO_ERROR, format!("cannot write to standard output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_like_a_shell_reads_them() {
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"\n"), [b"" as &[u8]]);
        assert_eq!(split_lines(b"a"), [b"a" as &[u8]]);
        assert_eq!(split_lines(b"a\n"), [b"a" as &[u8]]);
        assert_eq!(split_lines(b"a\r\nb\n"), [b"a" as &[u8], b"b"]);
        assert_eq!(split_lines(b"a\n\nb"), [b"a" as &[u8], b"", b"b"]);
        assert_eq!(split_lines(b"a\n\n"), [b"a" as &[u8], b""]);
    }

    #[test]
    fn near_matches_catch_typos_and_missing_prefixes() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            near_matches("xpack.security.http.ssl.keystore.secure_pasword"),
            ["xpack.security.http.ssl.keystore.secure_password"]
        );
        assert_eq!(
            near_matches("http.ssl.keystore.secure_password"),
            ["xpack.security.http.ssl.keystore.secure_password"]
        );
        assert!(near_matches("s3.client.default.access_key").is_empty());
    }
}
