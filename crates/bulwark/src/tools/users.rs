//! `bulwark users`: manage file-realm users in `config/users` and `config/users_roles`, as
//! `elasticsearch-users` does.
//!
//! Each command reads both files, checks everything (names, existing users, the password
//! policy), and only then writes, atomically and with mode 0600: a failing command changes
//! nothing. A running node picks the changes up from the files.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bulwark_security::authn::{
    PasswordHash, PasswordPolicy, RealmFileError, USERS_FILE, USERS_ROLES_FILE, UsersFile, UsersRolesFile,
    is_reserved_username, validate_role_name, validate_username,
};
use bulwark_settings::Settings;
use clap::{Args, Subcommand};
use secrecy::SecretString;

use crate::exit::{self, fail, random_failure};
use crate::{Globals, prompt};

/// Manage file-realm users (config/users and config/users_roles).
///
/// File users authenticate with HTTP basic authentication like native users, but live in files
/// on each node, so they work even when the cluster cannot elect a master.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Passwords must follow xpack.security.authc.password_policy.* (at least 12 characters and not a
commonly used password, by default) and are hashed with
xpack.security.authc.password_hashing.algorithm (bcrypt by default).

Exit codes: 0 ok, 64 usage (or no terminal to ask for a password), 65 invalid name, password or
existing user, 67 unknown user, 74 I/O error, 78 invalid settings or realm file.")]
pub struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user.
    Useradd(UseraddArgs),
    /// Delete a user (and its roles).
    Userdel(UserArg),
    /// Change a user's password.
    Passwd(PasswdArgs),
    /// Add roles to or remove roles from a user; without -a or -r, print its roles.
    Roles(RolesArgs),
    /// List users and their roles.
    List(ListArgs),
}

#[derive(Debug, Args)]
struct UseraddArgs {
    /// The user name.
    username: String,
    /// The password (else asked twice on a terminal). Visible to other local users in the
    /// process list: prefer the prompt.
    #[arg(short, long)]
    password: Option<String>,
    /// Comma-separated roles of the user.
    #[arg(short, long, value_name = "ROLE,...")]
    roles: Option<String>,
}

#[derive(Debug, Args)]
struct UserArg {
    /// The user name.
    username: String,
}

#[derive(Debug, Args)]
struct PasswdArgs {
    /// The user name.
    username: String,
    /// The new password (else asked twice on a terminal).
    #[arg(short, long)]
    password: Option<String>,
}

#[derive(Debug, Args)]
struct RolesArgs {
    /// The user name.
    username: String,
    /// Comma-separated roles to add.
    #[arg(short, long, value_name = "ROLE,...")]
    add: Option<String>,
    /// Comma-separated roles to remove.
    #[arg(short, long, value_name = "ROLE,...")]
    remove: Option<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only this user.
    username: Option<String>,
}

/// Runs `bulwark users <command>` against the home's config directory.
pub fn run(globals: &Globals, args: UsersArgs) -> anyhow::Result<ExitCode> {
    let files = Files::of(globals);
    match args.command {
        UsersCommand::Useradd(a) => useradd(globals, &files, a),
        UsersCommand::Userdel(a) => userdel(&files, &a.username),
        UsersCommand::Passwd(a) => passwd(globals, &files, a),
        UsersCommand::Roles(a) => roles(&files, &a),
        UsersCommand::List(a) => list(&files, a.username.as_deref()),
    }?;
    Ok(ExitCode::SUCCESS)
}

/// Where the two files are.
struct Files {
    users: PathBuf,
    roles: PathBuf,
}

impl Files {
    fn of(globals: &Globals) -> Files {
        let dir = globals.home.config_dir();
        Files { users: dir.join(USERS_FILE), roles: dir.join(USERS_ROLES_FILE) }
    }

    fn load(&self) -> anyhow::Result<(UsersFile, UsersRolesFile)> {
        let users = UsersFile::load(&self.users).map_err(realm_file_failure)?;
        let roles = UsersRolesFile::load(&self.roles).map_err(realm_file_failure)?;
        Ok((users, roles))
    }
}

fn useradd(globals: &Globals, files: &Files, args: UseraddArgs) -> anyhow::Result<()> {
    let username = checked_username(&args.username)?;
    let roles = parse_roles(args.roles.as_deref())?;
    let (mut users, mut user_roles) = files.load()?;
    if users.contains(username) {
        return Err(fail(exit::DATA_ERROR, format!("User [{username}] already exists")));
    }
    let settings = load_settings(globals)?;
    let hash = new_password_hash(&settings, args.password)?;
    users.insert(username, hash).map_err(|e| fail(exit::DATA_ERROR, e))?;
    write_realm_file(&files.users, &users.to_file_string())?;
    if !roles.is_empty() {
        user_roles.set_roles(username, &roles).map_err(|e| fail(exit::DATA_ERROR, e))?;
        write_realm_file(&files.roles, &user_roles.to_file_string())?;
    }
    Ok(())
}

fn userdel(files: &Files, username: &str) -> anyhow::Result<()> {
    let username = checked_username(username)?;
    let (mut users, mut user_roles) = files.load()?;
    if !users.remove(username) {
        return Err(no_such_user(username));
    }
    write_realm_file(&files.users, &users.to_file_string())?;
    if user_roles.remove_user(username) {
        write_realm_file(&files.roles, &user_roles.to_file_string())?;
    }
    Ok(())
}

fn passwd(globals: &Globals, files: &Files, args: PasswdArgs) -> anyhow::Result<()> {
    let username = checked_username(&args.username)?;
    let (mut users, _) = files.load()?;
    if !users.contains(username) {
        return Err(no_such_user(username));
    }
    let settings = load_settings(globals)?;
    let hash = new_password_hash(&settings, args.password)?;
    users.insert(username, hash).map_err(|e| fail(exit::DATA_ERROR, e))?;
    write_realm_file(&files.users, &users.to_file_string())
}

fn roles(files: &Files, args: &RolesArgs) -> anyhow::Result<()> {
    let username = checked_username(&args.username)?;
    let add = parse_roles(args.add.as_deref())?;
    let remove = parse_roles(args.remove.as_deref())?;
    if add.is_empty() && remove.is_empty() {
        return list(files, Some(username));
    }
    let (users, mut user_roles) = files.load()?;
    if !users.contains(username) {
        return Err(no_such_user(username));
    }
    let mut roles = user_roles.roles_of(username);
    roles.extend(add);
    roles.retain(|r| !remove.contains(r));
    roles.sort();
    roles.dedup();
    user_roles.set_roles(username, &roles).map_err(|e| fail(exit::DATA_ERROR, e))?;
    write_realm_file(&files.roles, &user_roles.to_file_string())
}

fn list(files: &Files, only: Option<&str>) -> anyhow::Result<()> {
    let (users, user_roles) = files.load()?;
    let mut stdout = io::stdout().lock();
    let mut line = |user: &str| {
        let roles = user_roles.roles_of(user);
        let roles = if roles.is_empty() { "-".to_owned() } else { roles.join(",") };
        writeln!(stdout, "{user:<15}: {roles}").map_err(stdout_failure)
    };
    match only {
        Some(user) => {
            if !users.contains(user) {
                return Err(no_such_user(user));
            }
            line(user)?;
        }
        None if users.is_empty() => {
            writeln!(stdout, "No users found").map_err(stdout_failure)?;
        }
        None => {
            for user in users.usernames() {
                line(user)?;
            }
        }
    }
    stdout.flush().map_err(stdout_failure)?;
    for ghost in user_roles.usernames().into_iter().filter(|u| !users.contains(u)) {
        eprintln!(
            "WARNING: user [{ghost}] is listed in [{}] but not in [{}]; it is ignored",
            files.roles.display(),
            files.users.display()
        );
    }
    Ok(())
}

/// A name that may be a file user: valid, and not a built-in or internal user.
fn checked_username(username: &str) -> anyhow::Result<&str> {
    validate_username(username).map_err(|e| fail(exit::DATA_ERROR, e))?;
    if is_reserved_username(username) {
        return Err(fail(
            exit::DATA_ERROR,
            format!(
                "Username [{username}] is reserved and may not be used; change a built-in user's \
                 password with `bulwark reset-password -u {username}`"
            ),
        ));
    }
    Ok(username)
}

/// `a,b,c` as role names; empty (or absent) is no roles.
fn parse_roles(list: Option<&str>) -> anyhow::Result<Vec<String>> {
    let Some(list) = list.filter(|l| !l.is_empty()) else { return Ok(Vec::new()) };
    let mut roles = Vec::new();
    for role in list.split(',') {
        validate_role_name(role).map_err(|e| fail(exit::DATA_ERROR, e))?;
        if !roles.iter().any(|r| r == role) {
            roles.push(role.to_owned());
        }
    }
    Ok(roles)
}

fn load_settings(globals: &Globals) -> anyhow::Result<Settings> {
    let hostname = bulwark_node::host::hostname();
    bulwark_settings::load(&globals.home, &globals.overrides, &hostname)
        .map(|l| l.settings)
        .map_err(|e| fail(exit::CONFIG, e.to_string()))
}

/// The new password (from `-p`, else asked twice on a terminal), checked against the policy and
/// hashed with the configured algorithm.
fn new_password_hash(settings: &Settings, flag: Option<String>) -> anyhow::Result<PasswordHash> {
    let password = match flag {
        Some(p) => SecretString::from(p),
        None if prompt::interactive() => prompt::new_secret("Enter new password")?,
        None => {
            return Err(fail(
                exit::USAGE,
                "there is no terminal to ask for the password; pass it with -p PASSWORD",
            ));
        }
    };
    PasswordPolicy::from_settings(&settings.security.password_policy)
        .check(&password)
        .map_err(|v| fail(exit::DATA_ERROR, format!("invalid password: {v}")))?;
    PasswordHash::create(&password, settings.security.password_hashing).map_err(random_failure)
}

fn no_such_user(username: &str) -> anyhow::Error {
    fail(exit::NO_USER, format!("User [{username}] doesn't exist"))
}

/// A realm file that cannot be read or does not parse: fix it before anything else.
pub(crate) fn realm_file_failure(e: RealmFileError) -> anyhow::Error {
    let code = match e {
        RealmFileError::Io { .. } => exit::IO_ERROR,
        RealmFileError::Line { .. } => exit::CONFIG,
    };
    fail(code, e.to_string())
}

/// Writes a realm file atomically with mode 0600, creating the config directory if needed.
pub(crate) fn write_realm_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o750).create(dir).map_err(|e| {
            fail(exit::IO_ERROR, format!("cannot create the config directory [{}]: {e}", dir.display()))
        })?;
    }
    bulwark_pki::write_private_file(path, text.as_bytes()).map_err(|e| fail(exit::IO_ERROR, e.to_string()))
}

pub(crate) fn stdout_failure(e: io::Error) -> anyhow::Error {
    fail(exit::IO_ERROR, format!("cannot write to standard output: {e}"))
}
