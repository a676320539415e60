//! Host values of the network settings (`network.host`, `http.host`, `transport.host`,
//! `server.host`, …) as socket addresses, with Elasticsearch's special values: the one reading
//! shared by the node and the console.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// `host` (an address, a name, or `_local_`, `_local:ipv6_`, `_site_`, `_global_`) with `port`;
/// `None` when a name does not resolve.
pub fn resolve_host(host: &str, port: u16) -> Option<SocketAddr> {
    let ip: IpAddr = match host {
        "_local_" | "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        "_local:ipv6_" => IpAddr::V6(Ipv6Addr::LOCALHOST),
        "_site_" | "0.0.0.0" | "_global_" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "::" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        other => match other.trim_matches(['[', ']']).parse() {
            Ok(ip) => ip,
            Err(_) => (other, port).to_socket_addrs().ok()?.next()?.ip(),
        },
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::resolve_host;

    #[test]
    fn special_values_and_addresses() {
        let shown = |h: &str, p: u16| resolve_host(h, p).map(|a| a.to_string());
        assert_eq!(shown("_local_", 1).as_deref(), Some("127.0.0.1:1"));
        assert_eq!(shown("localhost", 1).as_deref(), Some("127.0.0.1:1"));
        assert_eq!(shown("_local:ipv6_", 1).as_deref(), Some("[::1]:1"));
        assert_eq!(shown("0.0.0.0", 2).as_deref(), Some("0.0.0.0:2"));
        assert_eq!(shown("_site_", 2).as_deref(), Some("0.0.0.0:2"));
        assert_eq!(shown("::1", 3).as_deref(), Some("[::1]:3"));
        assert_eq!(shown("[::1]", 3).as_deref(), Some("[::1]:3"));
        assert_eq!(shown("127.0.0.7", 4).as_deref(), Some("127.0.0.7:4"));
        assert_eq!(shown("no-such-host.invalid", 5), None);
    }
}
