//! Facts about this host: its name and addresses (for certificate SANs).

use std::net::IpAddr;

use crate::NodeError;

/// The host name (`uname -n`), or `localhost` if it cannot be read.
pub fn hostname() -> String {
    let name = rustix::system::uname().nodename().to_string_lossy().into_owned();
    if name.is_empty() { "localhost".to_owned() } else { name }
}

/// Every non-loopback address of every interface.
pub fn interface_addresses() -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| !ip.is_loopback())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The first publish host set among `keys` (setting name, value), resolved with `port`; `None`
/// when none is set. A wildcard or a name that does not resolve is an error naming the setting.
pub fn publish_host(
    keys: &[(&str, Option<&str>)],
    port: u16,
) -> Result<Option<std::net::SocketAddr>, NodeError> {
    let Some((key, host)) = keys.iter().find_map(|(k, v)| v.map(|v| (*k, v))) else { return Ok(None) };
    let addr = crate::server::resolve_host(host, port)
        .map_err(|e| NodeError::Config(format!("[{key}] [{host}]: {e}")))?;
    if addr.ip().is_unspecified() {
        return Err(NodeError::Config(format!(
            "[{key}] is [{host}], a wildcard: a publish host is the one address others are told to use; set it to an address of this host"
        )));
    }
    Ok(Some(addr))
}
