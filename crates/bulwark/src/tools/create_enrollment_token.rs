//! `bulwark create-enrollment-token -s kibana|node [--url URL] [--ttl D]`: a token with which the
//! console (`kibana`) or a new node (`node`) enrolls into the cluster, as
//! `elasticsearch-create-enrollment-token` makes it.
//!
//! The tool is authorised by access to the home, as `reset-password` is: it writes a temporary
//! file-realm superuser, creates through the running node's API an API key named
//! `enrollment_token_API_key_<id>` holding only the scope's enrollment privilege and expiring
//! after the TTL (30 minutes at most), removes the temporary user, and prints the token alone on
//! standard output. The token pins the HTTP CA the node presents, read from the home's own files.
//!
//! Unlike Elasticsearch, it refuses to make a token that other hosts could not use: the token's
//! addresses are the HTTP addresses the certificate covers, and when HTTP (or, for a node token,
//! the transport layer) is bound to loopback only, it says which setting to change, unless `--url`
//! names the address to put in the token.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use bulwark_keystore::Keystore;
use bulwark_node::enrollment::{
    HttpIdentity, TOKEN_VERSION, http_bind_address, http_identity, http_port, http_publish_address,
    token_addresses, transport_loopback_only,
};
use bulwark_security::enrollment::{DEFAULT_TTL, EnrollmentScope, EnrollmentToken, new_key_name};
use bulwark_settings::Settings;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::Globals;
use crate::exit::{self, fail, random_failure};
use crate::tools::node_admin::{
    NodeApi, TempUser, UrlSource, default_url, load_settings, lock, not_ready, remove_on_signal,
};
use crate::tools::users::stdout_failure;

/// The token could not be made (Elasticsearch's CANT_CREATE).
const CANT_CREATE: u8 = 73;
/// The temporary user's name starts with this.
const TEMP_USER_PREFIX: &str = "bulwark_enroll_";

/// Create an enrollment token for the console (-s kibana) or a new node (-s node).
#[derive(Debug, Args)]
#[command(after_long_help = "\
The token is the base64 of {\"ver\", \"adr\", \"fgr\", \"key\"}: the node's version, the HTTPS addresses
to enroll at, the SHA-256 fingerprint of the HTTP CA (the enrolling side checks it before it sends
anything) and an API key that may only enroll. It is valid for 30 minutes (or --ttl); a node token
works once.

The addresses are those HTTP is bound to (http.host / network.host, with 0.0.0.0 standing for this
host's interface addresses) that the HTTP certificate covers. A node bound to loopback only gets no
token, because other hosts could not reach it: set http.host (and, for nodes, transport.host) and
restart, or pass --url https://HOST:PORT to name the address to put in the token.

Needs a running node, found as reset-password finds it (--url, else the port in <path.logs>/http.ports,
else http.port), and xpack.security.enrollment.enabled: true.

Exit codes: 0 ok, 64 usage (scope, --ttl, --url), 65 unexpected answer, 69 node unreachable or not
ready, 73 the node refused to create the API key, 74 I/O error, 75 the node refused the temporary
credential, 78 security or enrollment disabled, or no address other hosts can reach.")]
pub struct CreateEnrollmentTokenArgs {
    /// What the token enrolls: kibana (the console) or node.
    #[arg(short = 's', long = "scope", value_name = "kibana|node")]
    scope: String,
    /// The base URL of the running node; its host and port become the token's address.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// How long the token is valid: a time value such as 10m or 1h, at most 30m (the default).
    #[arg(long, value_name = "D")]
    ttl: Option<String>,
    /// Create the token even when the cluster health is red.
    #[arg(short = 'f', long = "force")]
    force: bool,
}

/// Runs `bulwark create-enrollment-token`.
pub fn run(globals: &Globals, args: CreateEnrollmentTokenArgs) -> anyhow::Result<ExitCode> {
    let scope: EnrollmentScope = args.scope.parse().map_err(|e: String| fail(exit::USAGE, e))?;
    let ttl = parse_ttl(args.ttl.as_deref())?;
    let settings = load_settings(globals)?;
    if !settings.security.is_enabled() {
        return Err(fail(
            exit::CONFIG,
            "security is disabled (xpack.security.enabled: false), so there is nothing to enroll into; enable security first",
        ));
    }
    if !settings.security.enrollment_enabled() {
        return Err(fail(
            exit::CONFIG,
            "enrollment is not enabled: [xpack.security.enrollment.enabled] must be true to create enrollment tokens; \
             set xpack.security.enrollment.enabled: true in bulwark.yml and restart the node",
        ));
    }
    if !settings.security.api_key_enabled {
        return Err(fail(
            exit::CONFIG,
            "enrollment tokens carry API keys, and the API key service is disabled \
             (xpack.security.authc.api_key.enabled: false); remove that setting and restart the node",
        ));
    }
    let identity = home_identity(globals, &settings)?;
    let (url, source, adr) = match &args.url {
        Some(url) => (url.clone(), UrlSource::Flag, vec![url_address(url)?]),
        None => {
            let (url, source) = default_url(&settings)?;
            (url, source, reachable_addresses(&settings, &identity, scope)?)
        }
    };
    let node = NodeApi::new(&globals.home, &settings, &url, source)?;
    node.check_reachable()?;
    let slot = remove_on_signal("no enrollment token was created")?;
    let (name, secret) = {
        let mut held = lock(&slot);
        let temp = held.insert(TempUser::create(&globals.home, &settings, TEMP_USER_PREFIX)?);
        (temp.name.clone(), temp.password.clone())
    };
    let result = create(&node, (&name, &secret), scope, ttl, args.force, adr, &identity);
    let removed = lock(&slot).take().map_or(Ok(()), TempUser::remove);
    let token = result?;
    let mut out = std::io::stdout().lock();
    let line = zeroize::Zeroizing::new(format!("{}\n", token.expose_secret()));
    out.write_all(line.as_bytes()).and_then(|()| out.flush()).map_err(stdout_failure)?;
    if let Err(e) = removed {
        eprintln!(
            "WARNING: the token was created, but the temporary user could not be removed: {e:#}; remove the \
             lines naming it from config/users and config/users_roles"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--ttl`: an Elasticsearch time value, more than zero and at most 30 minutes.
fn parse_ttl(ttl: Option<&str>) -> anyhow::Result<Duration> {
    let Some(text) = ttl else { return Ok(DEFAULT_TTL) };
    let d = bulwark_settings::values::parse_duration(text)
        .map_err(|e| fail(exit::USAGE, format!("--ttl: {e}")))?;
    if d.is_zero() || d > DEFAULT_TTL {
        return Err(fail(
            exit::USAGE,
            format!(
                "--ttl [{text}] is out of range: an enrollment token is valid for more than 0 and at most {} minutes",
                DEFAULT_TTL.as_secs() / 60
            ),
        ));
    }
    Ok(d)
}

/// The HTTP CA and certificate names, from the home's TLS files (the keystore unlocks them).
fn home_identity(globals: &Globals, settings: &Settings) -> anyhow::Result<HttpIdentity> {
    let password = crate::tools::keystore_password(&globals.home)?;
    let path = globals.home.keystore_file();
    let keystore = if Keystore::exists(&path) {
        Some(Keystore::load(&path, &password).map_err(|e| fail(exit::CONFIG, e.to_string()))?)
    } else {
        None
    };
    http_identity(&globals.home, settings, keystore.as_ref())
        .map_err(|e| fail(exit::CONFIG, format!("cannot create an enrollment token: {e}")))
}

/// `host:port` of `--url` (IPv6 in brackets; the scheme's port when none is given).
fn url_address(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "https")
        .ok_or_else(|| fail(exit::USAGE, format!("--url [{url}] is not an https:// URL")))?;
    match (parsed.host_str(), parsed.port_or_known_default()) {
        (Some(host), Some(port)) => Ok(format!("{host}:{port}")),
        _ => Err(fail(exit::USAGE, format!("--url [{url}] names no host"))),
    }
}

/// The addresses other hosts can reach the node at, or the refusal naming the setting to change.
fn reachable_addresses(
    settings: &Settings,
    identity: &HttpIdentity,
    scope: EnrollmentScope,
) -> anyhow::Result<Vec<String>> {
    let bound = http_bind_address(settings, http_port(settings))
        .and_then(|b| http_publish_address(settings, b))
        .map_err(|e| fail(exit::CONFIG, e.to_string()))?;
    let addresses = token_addresses(bound, &identity.ip_sans, &bulwark_node::host::interface_addresses());
    if addresses.external.is_empty() {
        let why = if bound.ip().is_loopback() {
            format!(
                "the node's HTTP layer is bound to loopback only ([{bound}], from http.host / network.host)"
            )
        } else {
            format!(
                "the HTTP certificate covers none of the addresses other hosts could reach the node at (HTTP is bound to [{bound}])"
            )
        };
        return Err(fail(
            exit::CONFIG,
            format!(
                "{why}, so a {scope} enrollment token would hold no address another host can use: set http.host \
                 in bulwark.yml to an address other hosts can reach (e.g. 0.0.0.0) and restart the node, or pass \
                 --url https://HOST:PORT to name the address to put in the token"
            ),
        ));
    }
    if scope == EnrollmentScope::Node
        && transport_loopback_only(settings).map_err(|e| fail(exit::CONFIG, e.to_string()))?
    {
        return Err(fail(
            exit::CONFIG,
            "the node's transport layer is bound to loopback only (transport.host is not set, or is a loopback \
             address), so a node on another host could not join: set transport.host in bulwark.yml (uncomment \
             `#transport.host: 0.0.0.0`) and restart the node, or pass --url https://HOST:PORT",
        ));
    }
    Ok(addresses.external)
}

/// With the temporary user: waits until the node accepts it, checks the cluster, creates the API
/// key and builds the token.
fn create(
    node: &NodeApi,
    auth: (&str, &SecretString),
    scope: EnrollmentScope,
    ttl: Duration,
    force: bool,
    adr: Vec<String>,
    identity: &HttpIdentity,
) -> anyhow::Result<SecretString> {
    node.wait_for_credential(auth)?;
    node.check_health(auth, force)?;
    let info = node.get(&[], Some(auth))?;
    let ver = info.body["version"]["number"].as_str().unwrap_or(TOKEN_VERSION).to_owned();
    let body = json!({
        "name": new_key_name().map_err(random_failure)?,
        "expiration": format!("{}ms", ttl.as_millis()),
        "role_descriptors": scope.role_descriptors(),
    });
    let answer = node.send(reqwest::Method::POST, &["_security", "api_key"], Some(auth), Some(&body))?;
    let cannot = |why: String| {
        fail(CANT_CREATE, format!("Unable to create enrollment token for scope [{scope}]: {why}"))
    };
    match answer.status {
        200 => {}
        503 => return Err(not_ready(&answer)),
        _ => return Err(cannot(answer.reason())),
    }
    let (Some(id), Some(secret)) = (
        answer.body["id"].as_str().filter(|s| !s.is_empty()),
        answer.body["api_key"].as_str().filter(|s| !s.is_empty()),
    ) else {
        return Err(fail(exit::DATA_ERROR, "the node's answer to the API key request has no id or api_key"));
    };
    let token =
        EnrollmentToken::new(ver, adr, identity.fingerprint(), id, SecretString::from(secret.to_owned()))
            .map_err(|e| cannot(e.to_string()))?;
    Ok(token.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_values() {
        assert_eq!(parse_ttl(None).unwrap(), DEFAULT_TTL);
        assert_eq!(parse_ttl(Some("10m")).unwrap(), Duration::from_secs(600));
        assert_eq!(parse_ttl(Some("30m")).unwrap(), DEFAULT_TTL);
        assert_eq!(parse_ttl(Some("1s")).unwrap(), Duration::from_secs(1));
        for bad in ["31m", "1h", "0s", "ten", "5y"] {
            assert!(parse_ttl(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_addresses() {
        assert_eq!(url_address("https://10.0.0.5:9200").unwrap(), "10.0.0.5:9200");
        assert_eq!(url_address("https://node1.example").unwrap(), "node1.example:443");
        assert_eq!(url_address("https://[fd00::5]:9201/").unwrap(), "[fd00::5]:9201");
        assert!(url_address("http://10.0.0.5:9200").is_err());
        assert!(url_address("not a url").is_err());
    }
}
