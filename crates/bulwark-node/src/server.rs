//! The HTTP(S) listener: accept, TLS handshake, then hyper serving the REST router.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::NodeError;
use crate::reload::LayerTls;

/// Resolves an Elasticsearch host value (`_local_`, `_site_`, `0.0.0.0`, an IP or a name).
pub fn resolve_host(host: &str, port: u16) -> Result<SocketAddr, NodeError> {
    let ip: IpAddr = match host {
        "_local_" | "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        "_local:ipv6_" => IpAddr::V6(Ipv6Addr::LOCALHOST),
        "_site_" | "0.0.0.0" | "_global_" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "::" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        other => match other.trim_matches(['[', ']']).parse() {
            Ok(ip) => ip,
            Err(_) => (other, port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .map(|a| a.ip())
                .ok_or_else(|| NodeError::Config(format!("cannot resolve host [{other}]")))?,
        },
    };
    Ok(SocketAddr::new(ip, port))
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<LayerTls>>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let service = app;
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = tls.as_ref().map(|t| tokio_rustls::TlsAcceptor::from(t.config()));
        let service = service.clone().map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            req
        });
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match acceptor {
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let peer_certs = tls.get_ref().1.peer_certificates().map(|c| {
                        bulwark_rest::PeerCertificates(Arc::new(
                            c.iter().map(|d| d.as_ref().to_vec()).collect(),
                        ))
                    });
                    let service =
                        service.map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
                            if let Some(p) = &peer_certs {
                                req.extensions_mut().insert(p.clone());
                            }
                            req
                        });
                    let _ = builder
                        .serve_connection_with_upgrades(TokioIo::new(tls), TowerToHyperService::new(service))
                        .await;
                }
                None => {
                    let _ = builder
                        .serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(service))
                        .await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_hosts() {
        assert_eq!(resolve_host("_local_", 1).unwrap().to_string(), "127.0.0.1:1");
        assert_eq!(resolve_host("0.0.0.0", 2).unwrap().to_string(), "0.0.0.0:2");
        assert_eq!(resolve_host("::1", 3).unwrap().to_string(), "[::1]:3");
        assert_eq!(resolve_host("[::1]", 3).unwrap().to_string(), "[::1]:3");
        assert!(resolve_host("no-such-host.invalid", 1).is_err());
    }
}
