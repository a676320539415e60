//! What the tools that talk to a running node share (`reset-password`,
//! `create-enrollment-token`): finding the node's URL, an HTTPS client trusting the home's HTTP
//! CA, and the authority Elasticsearch's tools use, a temporary, random file-realm superuser in
//! `config/users` and `config/users_roles` (access to the home is the authority), which is
//! removed again afterwards, on errors and on SIGINT/SIGTERM/SIGHUP too.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bulwark_client::{Answer, Credentials, NodeClient, NodeError, segment};
use bulwark_security::authn::generate_password;
use bulwark_security::authn::{PasswordHash, USERS_FILE, USERS_ROLES_FILE, UsersFile, UsersRolesFile};
use bulwark_settings::{Home, Settings};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::Globals;
use crate::exit::{self, fail, random_failure};
use crate::tools::users::realm_file_failure;

/// The operation could not be completed now (Elasticsearch's TEMP_FAILURE).
pub const TEMP_FAILURE: u8 = 75;
/// Length of the temporary user's password.
const TEMP_PASSWORD_LENGTH: usize = 20;
/// The node re-reads the realm files this often.
const RELOAD_PERIOD: Duration = Duration::from_secs(2);
/// How long to wait for the node to accept the temporary user.
const CREDENTIAL_WAIT: Duration = Duration::from_secs(10);
/// Between two attempts with the temporary user.
const CREDENTIAL_POLL: Duration = Duration::from_millis(500);

/// The settings of the home, as the node resolves them.
pub fn load_settings(globals: &Globals) -> anyhow::Result<Settings> {
    let hostname = bulwark_node::host::hostname();
    bulwark_settings::load(&globals.home, &globals.overrides, &hostname)
        .map(|l| l.settings)
        .map_err(|e| fail(exit::CONFIG, e.to_string()))
}

/// Where the temporary user is kept while it exists, shared with the signal watcher.
pub type TempSlot = Arc<Mutex<Option<TempUser>>>;

pub fn lock(slot: &TempSlot) -> std::sync::MutexGuard<'_, Option<TempUser>> {
    slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// From now on, SIGINT, SIGTERM and SIGHUP remove the temporary user (if there is one) before
/// the tool exits with status 130, so that an interrupted run leaves no credential behind.
/// `interrupted` finishes the message printed then (what may not have happened).
pub fn remove_on_signal(interrupted: &'static str) -> anyhow::Result<TempSlot> {
    use tokio::signal::unix::{SignalKind, signal};
    let failed = |e: std::io::Error| fail(exit::IO_ERROR, format!("cannot watch for signals: {e}"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(failed)?;
    let (mut int, mut term, mut hup) = {
        let _context = runtime.enter();
        (
            signal(SignalKind::interrupt()).map_err(failed)?,
            signal(SignalKind::terminate()).map_err(failed)?,
            signal(SignalKind::hangup()).map_err(failed)?,
        )
    };
    let slot: TempSlot = Arc::new(Mutex::new(None));
    let watched = slot.clone();
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
        });
        if let Some(temp) = lock(&watched).take() {
            let _ = temp.remove();
        }
        eprintln!("ERROR: interrupted; the temporary user was removed, {interrupted}");
        std::process::exit(130);
    });
    Ok(slot)
}

// ---------------------------------------------------------------------------------------------
// The temporary file-realm superuser.

/// A random superuser in `config/users` and `config/users_roles`, removed by [`TempUser::remove`]
/// (or, should the tool fail on the way, when dropped).
pub struct TempUser {
    pub name: String,
    pub password: SecretString,
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
    /// `prefix` starts the user's name (the rest is 8 random letters and digits).
    pub fn create(home: &Home, settings: &Settings, prefix: &str) -> anyhow::Result<TempUser> {
        let dir = home.config_dir();
        let users = RealmFile::of(dir.join(USERS_FILE))?;
        let roles = RealmFile::of(dir.join(USERS_ROLES_FILE))?;
        // Never add to a file the node cannot parse: it would not see the user.
        UsersFile::load(&users.path).map_err(realm_file_failure)?;
        UsersRolesFile::load(&roles.path).map_err(realm_file_failure)?;
        let name = format!("{prefix}{}", random_alphanumeric(8)?);
        let password = generate_password(TEMP_PASSWORD_LENGTH).map_err(random_failure)?;
        let hash =
            PasswordHash::create(&password, settings.security.password_hashing).map_err(random_failure)?;
        let mut temp = TempUser { name, password, users, roles, removed: false };
        temp.roles.append(&format!("superuser:{}", temp.name))?;
        temp.users.append(&format!("{}:{}", temp.name, hash.as_str()))?;
        Ok(temp)
    }

    /// Removes the user (from `users` first); files that only existed for it are deleted.
    pub fn remove(mut self) -> anyhow::Result<()> {
        self.removed = true;
        let name = self.name.clone();
        let users =
            self.users.remove_lines(|line| line.split_once(':').is_some_and(|(u, _)| u.trim() == name));
        let roles = self.roles.remove_user_from_roles(&name);
        users.and(roles)
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

fn random_alphanumeric(len: usize) -> anyhow::Result<String> {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let chunk = generate_password(32).map_err(random_failure)?;
        out.extend(chunk.expose_secret().chars().filter(char::is_ascii_alphanumeric).take(len - out.len()));
    }
    Ok(out)
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
pub enum UrlSource {
    Flag,
    PortsFile(PathBuf),
    Setting,
}

impl UrlSource {
    pub fn describe(&self) -> String {
        match self {
            UrlSource::Flag => "given with --url".to_owned(),
            UrlSource::PortsFile(p) => format!("port from [{}]", p.display()),
            UrlSource::Setting => "port from the http.port setting".to_owned(),
        }
    }
}

/// The base URL of the node running from this home: the bound port from `logs/http.ports`
/// (written with `node.portsfile: true`), else `http.port`.
pub fn default_url(settings: &Settings) -> anyhow::Result<(String, UrlSource)> {
    let scheme = if settings.security.http_ssl.enabled { "https" } else { "http" };
    if let Some(l) = bulwark_node::listening::read(&settings.path_data) {
        let host = url_host(&l.http.ip().to_string());
        return Ok((
            format!("{}://{host}:{}", l.scheme, l.http.port()),
            UrlSource::PortsFile(bulwark_node::listening::path(&settings.path_data)),
        ));
    }
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
pub fn url_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        // Other loopback addresses (127.0.0.2, ...) are used as they are: a node bound to one is
        // not reachable at localhost.
        Ok(IpAddr::V4(ip)) if ip.is_loopback() && ip.octets() != [127, 0, 0, 1] => ip.to_string(),
        Ok(ip) if ip.is_loopback() || ip.is_unspecified() => "localhost".to_owned(),
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        Ok(ip) => ip.to_string(),
        Err(_) if host.starts_with('_') || host.is_empty() => "localhost".to_owned(),
        Err(_) => host.to_owned(),
    }
}

/// A client for the node's API: bulwark-client's [`NodeClient`], driven by a small runtime (the
/// tools are synchronous).
pub struct NodeApi {
    client: NodeClient,
    runtime: tokio::runtime::Runtime,
    base: String,
    source: UrlSource,
    /// The CA file trusted (for messages).
    ca: Option<PathBuf>,
}

/// Who a tool calls the node as: the temporary user, or nobody.
pub type Auth<'a> = Option<(&'a str, &'a SecretString)>;

impl NodeApi {
    pub fn new(home: &Home, settings: &Settings, url: &str, source: UrlSource) -> anyhow::Result<NodeApi> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| fail(exit::USAGE, format!("[{url}] is not an http:// or https:// URL")))?;
        let base = parsed.as_str().trim_end_matches('/').to_owned();
        let setup = |e: NodeError| fail(exit::CONFIG, format!("cannot set up the HTTPS client: {e}"));
        let (client, ca) = if parsed.scheme() == "https" {
            let (certs, path) = trusted_cas(home, settings)?;
            (NodeClient::new(std::slice::from_ref(&base), &certs).map_err(setup)?, Some(path))
        } else {
            (NodeClient::plain_http(std::slice::from_ref(&base)).map_err(setup)?, None)
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(exit::IO_ERROR, format!("cannot start the HTTP client's runtime: {e}")))?;
        Ok(NodeApi { client, runtime, base, source, ca })
    }

    fn unreachable(&self, e: &NodeError) -> anyhow::Error {
        let trust = match &self.ca {
            Some(ca) => format!(", and that its HTTPS certificate is signed by the CA in [{}]", ca.display()),
            None => String::new(),
        };
        fail(
            exit::UNAVAILABLE,
            format!(
                "cannot reach the node at [{}] ({}): {e}. Check that the node is running and \
                 listening there{trust}; pass --url to pick another address",
                self.base,
                self.source.describe()
            ),
        )
    }

    /// The base URL as typed.
    pub fn shown(&self) -> &str {
        &self.base
    }

    /// `method /segments…` (each percent-encoded) as `auth`, with an optional JSON body: the
    /// node's answer whatever its status.
    pub fn send(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        auth: Auth<'_>,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let path: String = segments.iter().map(|s| format!("/{}", segment(s))).collect();
        let who = match auth {
            Some((user, password)) => Credentials::Basic(user, password),
            None => Credentials::None,
        };
        self.runtime.block_on(self.client.send(method, &path, who, body)).map_err(|e| self.unreachable(&e))
    }

    pub fn get(&self, segments: &[&str], auth: Auth<'_>) -> anyhow::Result<Answer> {
        self.send(reqwest::Method::GET, segments, auth, None)
    }

    /// Any HTTP answer (without credentials: a 401) shows that the node is there and that TLS
    /// works; checked before anything is written.
    pub fn check_reachable(&self) -> anyhow::Result<()> {
        self.get(&[], None).map(|_| ())
    }

    /// The node re-reads the realm files every [`RELOAD_PERIOD`]: the first attempt waits one
    /// period, so that normally no attempt fails, then one every [`CREDENTIAL_POLL`] until
    /// [`CREDENTIAL_WAIT`] has passed. Polling is slow on purpose: every failed attempt counts
    /// towards the brute-force lockout of this client's address (which, past 5 × `max_failures`,
    /// locks every user out of it), and the tool must not lock the administrator out.
    pub fn wait_for_credential(&self, auth: (&str, &SecretString)) -> anyhow::Result<()> {
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

    pub fn check_health(&self, auth: (&str, &SecretString), force: bool) -> anyhow::Result<()> {
        let answer = self.get(&["_cluster", "health"], Some(auth))?;
        match (answer.status, answer.body["status"].as_str()) {
            (200, Some("red")) if !force => Err(fail(
                exit::UNAVAILABLE,
                "the cluster health is red, so the change may not be stored; fix the cluster \
                 (GET _cluster/health) or pass -f to go ahead anyway",
            )),
            (200, Some(_)) => Ok(()),
            (200, None) => Err(fail(exit::DATA_ERROR, "the cluster health answer has no status")),
            (503, _) => Err(not_ready(&answer)),
            _ => Err(fail(exit::DATA_ERROR, format!("cannot read the cluster health: {}", answer.reason()))),
        }
    }
}

pub fn not_ready(answer: &Answer) -> anyhow::Error {
    fail(
        exit::UNAVAILABLE,
        format!("the cluster is not ready: {}; try again once it has formed", answer.reason()),
    )
}

/// The CA certificates (DER) to trust for HTTPS: `config/certs/http_ca.crt`, else the PEM files of
/// `xpack.security.http.ssl.certificate_authorities`.
fn trusted_cas(home: &Home, settings: &Settings) -> anyhow::Result<(Vec<Vec<u8>>, PathBuf)> {
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
        let found = bulwark_pki::certs_from_pem(&pem).map_err(|e| {
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
        let n = random_alphanumeric(8).unwrap();
        assert_eq!(n.len(), 8);
        assert!(n.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
