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
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bulwark_node::admin::{self, AdminError, OfflineSecurity, generate_password};
use bulwark_node::realm_files::{
    PasswordHash, PasswordPolicy, USERS_FILE, USERS_ROLES_FILE, UsersFile, UsersRolesFile,
    is_reserved_username, validate_username,
};
use bulwark_settings::{Home, Settings};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::exit::{self, fail};
use crate::tools::users::{realm_file_failure, stdout_failure};
use crate::{Globals, prompt};

/// The operation could not be completed now (Elasticsearch's TEMP_FAILURE).
const TEMP_FAILURE: u8 = 75;
/// Length of generated passwords (Elasticsearch's), raised to the policy's minimum if higher.
const GENERATED_LENGTH: usize = 20;
/// The temporary user's name starts with this.
const TEMP_USER_PREFIX: &str = "bulwark_reset_";
/// The node re-reads the realm files this often.
const RELOAD_PERIOD: Duration = Duration::from_secs(2);
/// How long to wait for the node to accept the temporary user.
const CREDENTIAL_WAIT: Duration = Duration::from_secs(10);
/// Between two attempts with the temporary user.
const CREDENTIAL_POLL: Duration = Duration::from_millis(200);

/// Reset the password of a built-in user (elastic, kibana_system, ...) or a native user.
///
/// Works while the node runs (through its API, authorised by access to this home: a temporary
/// file-realm superuser is written to config/users and removed afterwards) and while it is
/// stopped (the new password is written to the node's data directory and used from its next
/// start).
#[derive(Debug, Args)]
#[command(after_long_help = "\
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
            let password = generate_password(GENERATED_LENGTH.max(self.policy.min_length));
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
    let hash = PasswordHash::create(&password, settings.security.password_hashing);
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
    let temp = TempUser::create(&globals.home, settings)?;
    let result = node.change_password(&temp, new.user, &password, new.args.force);
    let removed = temp.remove();
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

fn load_settings(globals: &Globals) -> anyhow::Result<Settings> {
    let hostname = bulwark_node::host::hostname();
    bulwark_settings::load(&globals.home, &globals.overrides, &hostname)
        .map(|l| l.settings)
        .map_err(|e| fail(exit::CONFIG, e.to_string()))
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

// ---------------------------------------------------------------------------------------------
// The temporary file-realm superuser.

/// A random superuser in `config/users` and `config/users_roles`, removed by [`TempUser::remove`]
/// (or, should the tool fail on the way, when dropped).
struct TempUser {
    name: String,
    password: SecretString,
    users: RealmFile,
    roles: RealmFile,
    removed: bool,
}

/// One realm file as it was before the temporary user was added.
struct RealmFile {
    path: PathBuf,
    /// Mode, owner and group of the file before (`None`: it did not exist).
    before: Option<(u32, u32, u32)>,
    /// Its text before (`None`: it did not exist).
    original: Option<String>,
    /// The text written with the temporary user's line.
    written: Option<String>,
}

impl TempUser {
    /// Writes the user (roles first, so the user never exists without its role).
    fn create(home: &Home, settings: &Settings) -> anyhow::Result<TempUser> {
        let dir = home.config_dir();
        let users = RealmFile::of(dir.join(USERS_FILE))?;
        let roles = RealmFile::of(dir.join(USERS_ROLES_FILE))?;
        // Never add to a file the node cannot parse: it would not see the user.
        UsersFile::load(&users.path).map_err(realm_file_failure)?;
        UsersRolesFile::load(&roles.path).map_err(realm_file_failure)?;
        let name = format!("{TEMP_USER_PREFIX}{}", random_alphanumeric(8));
        let password = generate_password(GENERATED_LENGTH);
        let hash = PasswordHash::create(&password, settings.security.password_hashing);
        let mut temp = TempUser { name, password, users, roles, removed: false };
        temp.roles.append(&format!("superuser:{}", temp.name))?;
        temp.users.append(&format!("{}:{}", temp.name, hash.as_str()))?;
        Ok(temp)
    }

    /// Removes the user (from `users` first); files that only existed for it are deleted.
    fn remove(mut self) -> anyhow::Result<()> {
        self.removed = true;
        let name = self.name.clone();
        let users =
            self.users.remove_lines(|line| line.split_once(':').is_some_and(|(u, _)| u.trim() == name));
        let roles = self.roles.remove_user_from_roles(&name);
        users.and(roles)
    }

    fn basic_auth(&self) -> (&str, &str) {
        (&self.name, self.password.expose_secret())
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        if !self.removed {
            let name = self.name.clone();
            let _ =
                self.users.remove_lines(|line| line.split_once(':').is_some_and(|(u, _)| u.trim() == name));
            let _ = self.roles.remove_user_from_roles(&name);
        }
    }
}

fn random_alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let chunk = generate_password(32);
        out.extend(chunk.expose_secret().chars().filter(char::is_ascii_alphanumeric).take(len - out.len()));
    }
    out
}

impl RealmFile {
    fn of(path: PathBuf) -> anyhow::Result<RealmFile> {
        let before = match std::fs::metadata(&path) {
            Ok(m) => Some((m.permissions().mode() & 0o7777, m.uid(), m.gid())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(exit::IO_ERROR, format!("cannot read [{}]: {e}", path.display()))),
        };
        let mut file = RealmFile { path, before, original: None, written: None };
        file.original = file.read()?;
        Ok(file)
    }

    fn read(&self) -> anyhow::Result<Option<String>> {
        match std::fs::read_to_string(&self.path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fail(exit::IO_ERROR, format!("cannot read [{}]: {e}", self.path.display()))),
        }
    }

    /// Replaces the file atomically, keeping its mode, owner and group.
    fn write(&self, text: &str) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.is_dir()) {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().recursive(true).mode(0o750).create(dir).map_err(|e| {
                fail(exit::IO_ERROR, format!("cannot create the config directory [{}]: {e}", dir.display()))
            })?;
        }
        let mode = self.before.map_or(bulwark_pki::PRIVATE_MODE, |(mode, _, _)| mode);
        bulwark_pki::write_atomic(&self.path, text.as_bytes(), mode)
            .map_err(|e| fail(exit::IO_ERROR, e.to_string()))?;
        if let Some((_, uid, gid)) = self.before
            && let Ok(now) = std::fs::metadata(&self.path)
            && (now.uid(), now.gid()) != (uid, gid)
        {
            // The node may run as another user: give the file back to its owner.
            rustix::fs::chown(
                &self.path,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )
            .map_err(|e| {
                fail(exit::IO_ERROR, format!("cannot restore the owner of [{}]: {e}", self.path.display()))
            })?;
        }
        Ok(())
    }

    /// Adds one line at the end, leaving the rest of the file (comments included) as it was.
    fn append(&mut self, line: &str) -> anyhow::Result<()> {
        let mut text = self.original.clone().unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(line);
        text.push('\n');
        self.write(&text)?;
        self.written = Some(text);
        Ok(())
    }

    /// The current text, or `Ok(None)` once the file is back as it was before when nobody else
    /// changed it meanwhile (the usual case: restored byte for byte).
    fn current_or_restore(&self) -> anyhow::Result<Option<String>> {
        let Some(text) = self.read()? else { return Ok(None) };
        if self.written.as_ref() != Some(&text) {
            return Ok(Some(text));
        }
        match &self.original {
            Some(original) => self.write(original)?,
            None => std::fs::remove_file(&self.path)
                .map_err(|e| fail(exit::IO_ERROR, format!("cannot remove [{}]: {e}", self.path.display())))?,
        }
        Ok(None)
    }

    /// Removes the lines `matches` selects; a file created for them is deleted when nothing else
    /// was added to it meanwhile.
    fn remove_lines(&self, matches: impl Fn(&str) -> bool) -> anyhow::Result<()> {
        let Some(text) = self.current_or_restore()? else { return Ok(()) };
        let kept: String = text.split_inclusive('\n').filter(|l| !matches(l.trim())).collect();
        self.replace(&text, &kept)
    }

    /// Removes `user` from every role line of `users_roles` (dropping lines left without users).
    fn remove_user_from_roles(&self, user: &str) -> anyhow::Result<()> {
        let Some(text) = self.current_or_restore()? else { return Ok(()) };
        let mut kept = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let content = line.trim();
            let Some((role, users)) = content.split_once(':').filter(|_| !content.starts_with('#')) else {
                kept.push_str(line);
                continue;
            };
            let all: Vec<&str> = users.split(',').map(str::trim).collect();
            if !all.contains(&user) {
                kept.push_str(line);
                continue;
            }
            let rest: Vec<&str> = all.into_iter().filter(|u| *u != user).collect();
            if !rest.is_empty() {
                kept.push_str(&format!("{}:{}\n", role.trim(), rest.join(",")));
            }
        }
        self.replace(&text, &kept)
    }

    fn replace(&self, old: &str, new: &str) -> anyhow::Result<()> {
        if old == new {
            return Ok(());
        }
        if self.before.is_none() && new.trim().is_empty() {
            return std::fs::remove_file(&self.path)
                .map_err(|e| fail(exit::IO_ERROR, format!("cannot remove [{}]: {e}", self.path.display())));
        }
        self.write(new)
    }
}

// ---------------------------------------------------------------------------------------------
// The running node's API.

/// Where the URL came from (for error messages).
#[derive(Debug, Clone)]
enum UrlSource {
    Flag,
    PortsFile(PathBuf),
    Setting,
}

impl UrlSource {
    fn describe(&self) -> String {
        match self {
            UrlSource::Flag => "given with --url".to_owned(),
            UrlSource::PortsFile(p) => format!("port from [{}]", p.display()),
            UrlSource::Setting => "port from the http.port setting".to_owned(),
        }
    }
}

/// The base URL of the node running from this home: the bound port from `logs/http.ports`
/// (written with `node.portsfile: true`), else `http.port`.
fn default_url(settings: &Settings) -> anyhow::Result<(String, UrlSource)> {
    let scheme = if settings.security.http_ssl.enabled { "https" } else { "http" };
    let ports_file = settings.path_logs.join("http.ports");
    if let Ok(text) = std::fs::read_to_string(&ports_file)
        && let Some(addr) = text.lines().find_map(|l| l.trim().parse::<SocketAddr>().ok())
    {
        let host = url_host(&addr.ip().to_string());
        return Ok((format!("{scheme}://{host}:{}", addr.port()), UrlSource::PortsFile(ports_file)));
    }
    if settings.http.port == 0 {
        return Err(fail(
            exit::UNAVAILABLE,
            format!(
                "a node is running from this home, but its HTTP port is not known: http.port is 0 and \
                 there is no [{}] (set node.portsfile: true); pass --url https://HOST:PORT",
                ports_file.display()
            ),
        ));
    }
    let host = settings.http.host.as_deref().or(settings.network_host.as_deref()).unwrap_or("localhost");
    Ok((format!("{scheme}://{}:{}", url_host(host), settings.http.port), UrlSource::Setting))
}

/// A host for a URL: `localhost` for loopback, wildcard and special (`_local_`) addresses, the
/// address itself otherwise (IPv6 in brackets).
fn url_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() || ip.is_unspecified() => "localhost".to_owned(),
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        Ok(ip) => ip.to_string(),
        Err(_) if host.starts_with('_') || host.is_empty() => "localhost".to_owned(),
        Err(_) => host.to_owned(),
    }
}

/// A client for the node's API.
struct NodeApi {
    client: reqwest::blocking::Client,
    base: reqwest::Url,
    source: UrlSource,
    /// The CA file trusted (for messages).
    ca: Option<PathBuf>,
}

/// A response: status and JSON body (`Null` when there is none).
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// The reason in an Elasticsearch error body.
    fn reason(&self) -> String {
        let e = &self.body["error"];
        [&e["reason"], &e["root_cause"][0]["reason"], &e["root_cause"][0]["type"], &e["type"], e]
            .into_iter()
            .find_map(Value::as_str)
            .map_or_else(|| format!("HTTP status {}", self.status), str::to_owned)
    }
}

impl NodeApi {
    fn new(home: &Home, settings: &Settings, url: &str, source: UrlSource) -> anyhow::Result<NodeApi> {
        let base = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| fail(exit::USAGE, format!("[{url}] is not an http:// or https:// URL")))?;
        let builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(35))
            .no_proxy();
        let (builder, ca) = if base.scheme() == "https" {
            let (certs, path) = trusted_cas(home, settings)?;
            (builder.tls_certs_only(certs), Some(path))
        } else {
            (builder, None)
        };
        let client = builder
            .build()
            .map_err(|e| fail(exit::CONFIG, format!("cannot set up the HTTPS client: {e}")))?;
        Ok(NodeApi { client, base, source, ca })
    }

    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn unreachable(&self, e: &reqwest::Error) -> anyhow::Error {
        // The innermost cause says what happened ("Connection refused", "invalid peer
        // certificate: UnknownIssuer"); the outer layers only repeat the URL.
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            detail = s.to_string();
            source = s.source();
        }
        let trust = match &self.ca {
            Some(ca) => format!(", and that its HTTPS certificate is signed by the CA in [{}]", ca.display()),
            None => String::new(),
        };
        fail(
            exit::UNAVAILABLE,
            format!(
                "cannot reach the node at [{}] ({}): {detail}. Check that the node is running and \
                 listening there{trust}; pass --url to pick another address",
                self.shown(),
                self.source.describe()
            ),
        )
    }

    /// The base URL as typed (without the slash the parser adds).
    fn shown(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> anyhow::Result<Answer> {
        let resp = request.send().map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        let body = resp.json().unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    fn get(&self, segments: &[&str], auth: Option<(&str, &str)>) -> anyhow::Result<Answer> {
        let mut r = self.client.get(self.url(segments));
        if let Some((u, p)) = auth {
            r = r.basic_auth(u, Some(p));
        }
        self.send(r)
    }

    /// Any HTTP answer (without credentials: a 401) shows that the node is there and that TLS
    /// works; checked before anything is written.
    fn check_reachable(&self) -> anyhow::Result<()> {
        self.get(&[], None).map(|_| ())
    }

    /// Waits for the temporary user, checks the cluster, and changes the password.
    fn change_password(
        &self,
        temp: &TempUser,
        user: &str,
        password: &SecretString,
        force: bool,
    ) -> anyhow::Result<()> {
        let auth = temp.basic_auth();
        self.wait_for_credential(auth)?;
        self.check_health(auth, force)?;
        let body = serde_json::json!({ "password": password.expose_secret() });
        let request = self
            .client
            .put(self.url(&["_security", "user", user, "_password"]))
            .basic_auth(auth.0, Some(auth.1))
            .json(&body);
        let answer = self.send(request)?;
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

    /// The node re-reads the realm files every [`RELOAD_PERIOD`]: the first attempt waits one
    /// period, so that normally no attempt fails (failed attempts count towards the lockout of
    /// the address), then every [`CREDENTIAL_POLL`] until [`CREDENTIAL_WAIT`] has passed.
    fn wait_for_credential(&self, auth: (&str, &str)) -> anyhow::Result<()> {
        let started = Instant::now();
        std::thread::sleep(RELOAD_PERIOD);
        let last = loop {
            let answer = self.get(&["_security", "_authenticate"], Some(auth))?;
            match answer.status {
                200 => return Ok(()),
                401 | 503 => {}
                _ => {
                    return Err(fail(
                        TEMP_FAILURE,
                        format!("the node refused the temporary credential: {}", answer.reason()),
                    ));
                }
            }
            if started.elapsed() >= CREDENTIAL_WAIT {
                break answer;
            }
            std::thread::sleep(CREDENTIAL_POLL);
        };
        if last.status == 503 {
            return Err(not_ready(&last));
        }
        Err(fail(
            exit::UNAVAILABLE,
            format!(
                "the node at [{}] did not accept the temporary credential within {} s; is the file \
                 realm enabled, and does the node run from this home (it reads config/users)?",
                self.shown(),
                CREDENTIAL_WAIT.as_secs()
            ),
        ))
    }

    fn check_health(&self, auth: (&str, &str), force: bool) -> anyhow::Result<()> {
        let answer = self.get(&["_cluster", "health"], Some(auth))?;
        match (answer.status, answer.body["status"].as_str()) {
            (200, Some("red")) if !force => Err(fail(
                exit::UNAVAILABLE,
                "the cluster health is red, so the change may not be stored; fix the cluster \
                 (GET _cluster/health) or pass -f to reset the password anyway",
            )),
            (200, Some(_)) => Ok(()),
            (200, None) => Err(fail(exit::DATA_ERROR, "the cluster health answer has no status")),
            (503, _) => Err(not_ready(&answer)),
            _ => Err(fail(exit::DATA_ERROR, format!("cannot read the cluster health: {}", answer.reason()))),
        }
    }
}

fn not_ready(answer: &Answer) -> anyhow::Error {
    fail(
        exit::UNAVAILABLE,
        format!("the cluster is not ready: {}; try again once it has formed", answer.reason()),
    )
}

/// The CA certificates to trust for HTTPS: `config/certs/http_ca.crt`, else the PEM files of
/// `xpack.security.http.ssl.certificate_authorities`.
fn trusted_cas(home: &Home, settings: &Settings) -> anyhow::Result<(Vec<reqwest::Certificate>, PathBuf)> {
    let auto = home.certs_dir().join("http_ca.crt");
    let candidates: Vec<PathBuf> = if auto.is_file() {
        vec![auto.clone()]
    } else {
        settings.security.http_ssl.certificate_authorities.iter().map(|p| home.config_relative(p)).collect()
    };
    if candidates.is_empty() {
        return Err(fail(
            exit::CONFIG,
            format!(
                "no CA certificate to trust for HTTPS: [{}] does not exist and \
                 xpack.security.http.ssl.certificate_authorities is not set",
                auto.display()
            ),
        ));
    }
    let mut certs = Vec::new();
    for path in &candidates {
        let pem = std::fs::read(path).map_err(|e| {
            fail(exit::IO_ERROR, format!("cannot read the CA certificate [{}]: {e}", path.display()))
        })?;
        let found = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            fail(exit::CONFIG, format!("[{}] is not a PEM certificate file: {e}", path.display()))
        })?;
        if found.is_empty() {
            return Err(fail(exit::CONFIG, format!("[{}] holds no PEM certificate", path.display())));
        }
        certs.extend(found);
    }
    Ok((certs, candidates[0].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("0.0.0.0"), "localhost");
        assert_eq!(url_host("::"), "localhost");
        assert_eq!(url_host("127.0.0.1"), "localhost");
        assert_eq!(url_host("_local_"), "localhost");
        assert_eq!(url_host("10.1.2.3"), "10.1.2.3");
        assert_eq!(url_host("fe80::1"), "[fe80::1]");
        assert_eq!(url_host("node1.example"), "node1.example");
    }

    #[test]
    fn temp_user_lines_come_and_go_leaving_the_rest_alone() {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        let roles = dir.path().join("users_roles");
        std::fs::write(&users, "# comment\nalice:$2a$04$abcdefghijklmnopqrstuu").unwrap();
        std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o640)).unwrap();
        let before = std::fs::read(&users).unwrap();
        let mut u = RealmFile::of(users.clone()).unwrap();
        let mut r = RealmFile::of(roles.clone()).unwrap();
        u.append("bulwark_reset_x:$2a$04$hash").unwrap();
        r.append("superuser:bulwark_reset_x").unwrap();
        assert_eq!(
            std::fs::read_to_string(&users).unwrap(),
            "# comment\nalice:$2a$04$abcdefghijklmnopqrstuu\nbulwark_reset_x:$2a$04$hash\n"
        );
        assert_eq!(std::fs::metadata(&users).unwrap().permissions().mode() & 0o777, 0o640);
        // Someone edits both files meanwhile.
        std::fs::write(&users, format!("{}carol:$2a$04$other\n", std::fs::read_to_string(&users).unwrap()))
            .unwrap();
        std::fs::write(&roles, "superuser:bob,bulwark_reset_x\nother:bulwark_reset_x\n").unwrap();
        u.remove_lines(|l| l.split_once(':').is_some_and(|(n, _)| n == "bulwark_reset_x")).unwrap();
        r.remove_user_from_roles("bulwark_reset_x").unwrap();
        assert_eq!(
            std::fs::read_to_string(&users).unwrap(),
            "# comment\nalice:$2a$04$abcdefghijklmnopqrstuu\ncarol:$2a$04$other\n"
        );
        assert_eq!(std::fs::read_to_string(&roles).unwrap(), "superuser:bob\n");
        assert_eq!(std::fs::metadata(&users).unwrap().permissions().mode() & 0o777, 0o640);
        std::fs::write(&users, &before).unwrap();

        // Untouched by others: restored byte for byte.
        let mut u = RealmFile::of(users.clone()).unwrap();
        let before = std::fs::read(&users).unwrap();
        u.append("bulwark_reset_z:$2a$04$hash").unwrap();
        u.remove_lines(|l| l.starts_with("bulwark_reset_z:")).unwrap();
        assert_eq!(std::fs::read(&users).unwrap(), before);

        // A file created for the temporary user goes away with it.
        let mut fresh = RealmFile::of(dir.path().join("fresh")).unwrap();
        fresh.append("superuser:bulwark_reset_y").unwrap();
        fresh.remove_user_from_roles("bulwark_reset_y").unwrap();
        assert!(!dir.path().join("fresh").exists());
    }

    #[test]
    fn temp_names_are_alphanumeric() {
        let n = random_alphanumeric(8);
        assert_eq!(n.len(), 8);
        assert!(n.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
