//! `bulwark reset-password`: set a new password for a built-in or native user, as
//! `elasticsearch-reset-password` does, on a running node and on a stopped one.
//!
//! Which of the two is decided by the store's lock: the tool tries to open the node's store
//! (`<path.data>/store`). If that succeeds no node runs from this home, and the new password is
//! written straight into the store, exactly as the `_password` API would write it; the node
//! uses it from its next start. If a node holds the store, the tool goes through that node's
//! API instead: like Elasticsearch, it proves that it may by writing a temporary, random
//! file-realm superuser into `config/users` and `config/users_roles` (access to the home is the
//! authority), waits until the node has re-read those files, calls
//! `PUT /_security/user/<user>/_password` over HTTPS trusting `config/certs/http_ca.crt`, and
//! always removes the temporary user again. `--url` skips the store and always uses the API.
//!
//! Everything that can be checked is checked before anything changes: the user name, the
//! terminal (for the confirmation and for `-i`), the settings, the node's reachability, and (on a
//! stopped node) that the user exists. Nothing secret is logged; the new password is printed
//! once, on standard output.

use std::io::{self, Write};
use std::process::ExitCode;

use bulwark_node::admin::{self, AdminError, OfflineSecurity};
use bulwark_security::authn::generate_password;
use bulwark_security::authn::{
    PasswordHash, PasswordPolicy, USERS_FILE, USERS_ROLES_FILE, is_reserved_username, validate_username,
};
use bulwark_settings::Settings;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::exit::{self, fail, random_failure};
use crate::tools::node_admin::{
    NodeApi, TEMP_FAILURE, TempUser, UrlSource, default_url, load_settings, lock, not_ready, remove_on_signal,
};
use crate::tools::users::stdout_failure;
use crate::{Globals, prompt};

/// Length of generated passwords (Elasticsearch's), raised to the policy's minimum if higher.
const GENERATED_LENGTH: usize = 20;
/// The temporary user's name starts with this.
const TEMP_USER_PREFIX: &str = "bulwark_reset_";

/// Reset the password of a built-in user (elastic, kibana_system, ...) or a native user.
#[derive(Debug, Args)]
#[command(after_long_help = "\
On a running node the change goes through its API, authorised by access to this home: a
temporary file-realm superuser is written to config/users and config/users_roles and removed
afterwards. On a stopped node the new password is written to the node's data directory and is
used from its next start.

A generated password has 20 characters; a password typed with -i must follow
xpack.security.authc.password_policy.* (at least 12 characters and not a commonly used
password, by default).

The running node is found through --url, else https://localhost:<port> with the port from
<path.logs>/http.ports (written with node.portsfile: true), else http.port (default 9200); its
certificate must be signed by config/certs/http_ca.crt (or a CA in
xpack.security.http.ssl.certificate_authorities).

Exit codes: 0 ok (or cancelled), 64 usage (or no terminal to confirm or to ask on), 65 invalid
password or user name, 67 unknown user, 69 node unreachable, not ready, or not accepting the
temporary credential, 74 I/O error, 75 the node refused the change, 78 invalid settings or realm
file.")]
pub struct ResetPasswordArgs {
    /// The user whose password is reset.
    #[arg(short = 'u', long = "username", value_name = "USER")]
    username: String,
    /// Generate a new random password (the default).
    #[arg(short = 'a', long = "auto", conflicts_with = "interactive")]
    auto: bool,
    /// Ask for the new password (twice) on the terminal.
    #[arg(short = 'i', long = "interactive")]
    interactive: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'b', long = "batch")]
    batch: bool,
    /// Print only the new password (nothing with -i).
    #[arg(short = 's', long = "silent")]
    silent: bool,
    /// The base URL of the running node (always goes through its API).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Reset the password even when the cluster health is red.
    #[arg(short = 'f', long = "force")]
    force: bool,
}

/// Runs `bulwark reset-password`.
pub fn run(globals: &Globals, args: ResetPasswordArgs) -> anyhow::Result<ExitCode> {
    let user = args.username.as_str();
    validate_username(user).map_err(|e| fail(exit::DATA_ERROR, e))?;
    if is_reserved_username(user) && !admin::is_builtin_user(user) {
        return Err(fail(exit::NO_USER, format!("user [{user}] is internal and has no password to reset")));
    }
    if args.interactive && !prompt::interactive() {
        return Err(fail(
            exit::USAGE,
            "-i asks for the new password on a terminal, and there is none; run the command on a \
             terminal, or drop -i to generate a password",
        ));
    }
    if !args.batch && !prompt::interactive() {
        return Err(fail(
            exit::USAGE,
            "there is no terminal to confirm the reset on; pass -b to reset the password without \
             confirmation",
        ));
    }
    let settings = load_settings(globals)?;
    if !settings.security.is_enabled() {
        return Err(fail(
            exit::CONFIG,
            "security is disabled (xpack.security.enabled: false), so passwords are not used; \
             enable security first",
        ));
    }
    let new = NewPassword {
        user,
        args: &args,
        policy: PasswordPolicy::from_settings(&settings.security.password_policy),
    };

    if let Some(url) = &args.url {
        let node = NodeApi::new(&globals.home, &settings, url, UrlSource::Flag)?;
        return online(globals, &settings, &node, &new);
    }
    match OfflineSecurity::open(&settings) {
        Ok(store) => offline(&settings, store, &new),
        Err(AdminError::Running { .. }) => {
            let (url, source) = default_url(&settings)?;
            let node = NodeApi::new(&globals.home, &settings, &url, source)?;
            online(globals, &settings, &node, &new)
        }
        Err(e) => Err(admin_failure(e)),
    }
}

/// What the new password is and how the outcome is reported.
struct NewPassword<'a> {
    user: &'a str,
    args: &'a ResetPasswordArgs,
    policy: PasswordPolicy,
}

impl NewPassword<'_> {
    /// Asks for confirmation unless `-b`; `false` when the person declined.
    fn confirmed(&self) -> anyhow::Result<bool> {
        if self.args.batch {
            return Ok(true);
        }
        let user = self.user;
        if self.args.interactive {
            say(&format!(
                "This tool will reset the password of the [{user}] user.\nYou will be prompted to enter the password."
            ));
        } else {
            say(&format!(
                "This tool will reset the password of the [{user}] user to an autogenerated value.\nThe password will be printed in the console."
            ));
        }
        dialoguer::Confirm::new()
            .with_prompt("Please confirm that you would like to continue")
            .default(false)
            .wait_for_newline(true)
            .interact()
            .map_err(terminal_failure)
    }

    /// The new password: generated, or typed twice and checked against the policy.
    fn value(&self) -> anyhow::Result<SecretString> {
        if !self.args.interactive {
            let password =
                generate_password(GENERATED_LENGTH.max(self.policy.min_length)).map_err(random_failure)?;
            self.policy
                .check(&password)
                .map_err(|v| fail(exit::DATA_ERROR, format!("invalid password: {v}")))?;
            return Ok(password);
        }
        let user = self.user;
        loop {
            let first = ask_secret(&format!("Enter password for [{user}]"))?;
            if let Err(v) = self.policy.check(&first) {
                say(&format!("{v}\nTry again."));
                continue;
            }
            let second = ask_secret(&format!("Re-enter password for [{user}]"))?;
            if first.expose_secret() != second.expose_secret() {
                say("Passwords do not match.\nTry again.");
                continue;
            }
            return Ok(first);
        }
    }

    /// Prints the outcome: the ES wording, or with `-s` only the generated password.
    fn report(&self, password: &SecretString) -> anyhow::Result<ExitCode> {
        let mut out = io::stdout().lock();
        let text = match (self.args.interactive, self.args.silent) {
            (false, false) => zeroize::Zeroizing::new(format!(
                "Password for the [{}] user successfully reset.\nNew value: {}\n",
                self.user,
                password.expose_secret()
            )),
            (false, true) => zeroize::Zeroizing::new(format!("{}\n", password.expose_secret())),
            (true, false) => zeroize::Zeroizing::new(format!(
                "Password for the [{}] user successfully reset.\n",
                self.user
            )),
            (true, true) => zeroize::Zeroizing::new(String::new()),
        };
        out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(stdout_failure)?;
        Ok(ExitCode::SUCCESS)
    }
}

fn cancelled() -> anyhow::Result<ExitCode> {
    say("User cancelled operation");
    Ok(ExitCode::SUCCESS)
}

/// The node is stopped: check the user, then write the new hash into its store.
fn offline(settings: &Settings, store: OfflineSecurity, new: &NewPassword<'_>) -> anyhow::Result<ExitCode> {
    store.user_kind(new.user).map_err(admin_failure)?;
    if !new.confirmed()? {
        return cancelled();
    }
    let password = new.value()?;
    let hash = PasswordHash::create(&password, settings.security.password_hashing).map_err(random_failure)?;
    store.set_password(new.user, &hash).map_err(admin_failure)?;
    store.close().map_err(admin_failure)?;
    if !new.args.silent {
        say(&format!(
            "The node is stopped: the new password was stored in [{}] and is used from the node's next start.",
            admin::store_dir(settings).display()
        ));
    }
    new.report(&password)
}

/// The node runs: go through its API with a temporary file-realm superuser.
fn online(
    globals: &Globals,
    settings: &Settings,
    node: &NodeApi,
    new: &NewPassword<'_>,
) -> anyhow::Result<ExitCode> {
    node.check_reachable()?;
    if !new.confirmed()? {
        return cancelled();
    }
    let password = new.value()?;
    let slot = remove_on_signal("the password may not have been reset")?;
    let (name, secret) = {
        let mut held = lock(&slot);
        let temp = held.insert(TempUser::create(&globals.home, settings, TEMP_USER_PREFIX)?);
        (temp.name.clone(), temp.password.clone())
    };
    let result = node.change_password((&name, &secret), new.user, &password, new.args.force);
    let removed = lock(&slot).take().map_or(Ok(()), TempUser::remove);
    result?;
    let code = new.report(&password)?;
    if let Err(e) = removed {
        eprintln!(
            "WARNING: the password was reset, but the temporary user could not be removed: {e:#}; \
             remove the lines naming it from [{}] and [{}]",
            globals.home.config_dir().join(USERS_FILE).display(),
            globals.home.config_dir().join(USERS_ROLES_FILE).display()
        );
    }
    Ok(code)
}

fn admin_failure(e: AdminError) -> anyhow::Error {
    let code = match &e {
        AdminError::UnknownUser(_) | AdminError::InternalUser(_) => exit::NO_USER,
        AdminError::Running { .. } | AdminError::NeverStarted { .. } | AdminError::NotSingleNode { .. } => {
            exit::UNAVAILABLE
        }
        AdminError::Store { .. } => exit::IO_ERROR,
    };
    fail(code, e.to_string())
}

/// Explanations for the person at the terminal, on standard error.
fn say(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

fn terminal_failure(e: dialoguer::Error) -> anyhow::Error {
    fail(exit::IO_ERROR, format!("cannot read from the terminal: {e}"))
}

fn ask_secret(prompt: &str) -> anyhow::Result<SecretString> {
    let v = dialoguer::Password::new()
        .with_prompt(prompt)
        .allow_empty_password(true)
        .interact()
        .map_err(terminal_failure)?;
    Ok(SecretString::from(v))
}

impl NodeApi {
    /// Waits for the temporary user, checks the cluster, and changes the password.
    fn change_password(
        &self,
        auth: (&str, &SecretString),
        user: &str,
        password: &SecretString,
        force: bool,
    ) -> anyhow::Result<()> {
        self.wait_for_credential(auth)?;
        self.check_health(auth, force)?;
        let body = serde_json::json!({ "password": password.expose_secret() });
        let answer = self.send(
            reqwest::Method::PUT,
            &["_security", "user", user, "_password"],
            Some(auth),
            Some(&body),
        )?;
        match answer.status {
            200 => Ok(()),
            404 => Err(fail(
                exit::NO_USER,
                format!(
                    "user [{user}] does not exist: it is neither a built-in user nor a native user \
                     (file-realm users change their password with `bulwark users passwd`)"
                ),
            )),
            400 => {
                Err(fail(exit::DATA_ERROR, format!("the node refused the new password: {}", answer.reason())))
            }
            401 => Err(fail(exit::UNAVAILABLE, "the node stopped accepting the temporary credential")),
            503 => Err(not_ready(&answer)),
            _ => Err(fail(
                TEMP_FAILURE,
                format!("failed to reset the password of user [{user}]: {}", answer.reason()),
            )),
        }
    }
}
