//! The listening side: mutual-TLS handshake, the peer-address check, HTTP/2 dispatch.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::BoxFuture;

/// How long a peer has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A refused address is logged (and reported) at most once per this interval.
const DENIED_INTERVAL: Duration = Duration::from_secs(60);
/// The largest request body (a snapshot chunk is the largest).
const MAX_BODY: usize = 1 << 30;
/// Header of a failed call: whether the caller may safely retry it elsewhere.
pub(crate) const RETRY_HEADER: &str = "x-bulwark-retry";

/// Why a call failed on the receiving node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// True when the request was certainly not carried out (e.g. this node is not the leader).
    pub retry: bool,
    /// What happened.
    pub message: String,
}

impl Failure {
    /// A failure after which retrying (elsewhere) is safe.
    pub fn retry(message: impl Into<String>) -> Self {
        Failure { retry: true, message: message.into() }
    }
    /// A failure whose outcome is unknown or final.
    pub fn fatal(message: impl Into<String>) -> Self {
        Failure { retry: false, message: message.into() }
    }
}

/// Answers calls: `method` is the request path without its leading `/`, `body` its JSON.
pub trait Handler: Send + Sync + 'static {
    /// Carries out one call.
    fn call(&self, method: &str, body: Bytes) -> BoxFuture<Result<Vec<u8>, Failure>>;
}

/// Called (at most once per address and minute) when a peer is refused: its address and why.
pub type DeniedHook = Arc<dyn Fn(SocketAddr, &str) + Send + Sync>;

/// The server's TLS: the current configuration (it changes when certificates are reloaded or a
/// revocation list arrives) and whether the peer's certificate must name its source address.
#[derive(Clone)]
pub struct ServerTls {
    /// The configuration for the next handshake; it must require client certificates.
    pub config: Arc<dyn Fn() -> Arc<ServerConfig> + Send + Sync>,
    /// `verification_mode: full`: the client certificate's IP SANs must hold the peer address.
    pub check_peer_address: bool,
}

/// Remembers when each refused address was last reported.
#[derive(Default)]
struct DeniedLimiter(Mutex<HashMap<IpAddr, Instant>>);

impl DeniedLimiter {
    fn due(&self, ip: IpAddr) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if seen.len() > 10_000 {
            seen.retain(|_, t| now.duration_since(*t) < DENIED_INTERVAL);
        }
        match seen.get(&ip) {
            Some(t) if now.duration_since(*t) < DENIED_INTERVAL => false,
            _ => {
                seen.insert(ip, now);
                true
            }
        }
    }
}

/// Whether the peer's certificate names its address (`verification_mode: full`).
fn peer_named(der: &[u8], peer: IpAddr) -> Result<(), String> {
    let info = bulwark_pki::inspect(der).map_err(|e| format!("its certificate cannot be read: {e}"))?;
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    if info.ip_sans.contains(&peer) {
        Ok(())
    } else {
        Err(format!(
            "its certificate [{}] does not name the address it connects from ([{peer}]; the certificate names {:?}), as xpack.security.transport.ssl.verification_mode: full requires",
            info.subject_dn, info.ip_sans
        ))
    }
}

/// Accepts connections on `listener` until the task is aborted.
pub fn serve(
    listener: TcpListener,
    tls: ServerTls,
    handler: Arc<dyn Handler>,
    denied: DeniedHook,
) -> JoinHandle<()> {
    let limiter = Arc::new(DeniedLimiter::default());
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("transport: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (tls, handler, denied, limiter) =
                (tls.clone(), handler.clone(), denied.clone(), limiter.clone());
            tokio::spawn(async move {
                let refuse = |why: String| {
                    if limiter.due(peer.ip()) {
                        tracing::warn!(peer = %peer, "transport: refused a connection: {why}");
                        denied(peer, &why);
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = tokio_rustls::TlsAcceptor::from((tls.config)());
                let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return refuse(format!("the TLS handshake failed: {e}")),
                    Err(_) => return refuse("the TLS handshake did not complete in time".to_owned()),
                };
                let leaf = stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
                let Some(leaf) = leaf else { return refuse("it presented no certificate".to_owned()) };
                if tls.check_peer_address
                    && let Err(why) = peer_named(&leaf, peer.ip())
                {
                    return refuse(why);
                }
                let service = hyper::service::service_fn(move |req| dispatch(handler.clone(), req));
                let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .timer(TokioTimer::new())
                    .keep_alive_interval(Some(Duration::from_secs(10)))
                    .keep_alive_timeout(Duration::from_secs(20))
                    .max_frame_size(1 << 20)
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(e) = conn.await {
                    tracing::debug!(peer = %peer, "transport connection ended: {e}");
                }
            });
        }
    })
}

fn reply(status: StatusCode, retry: Option<bool>, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Some(retry) = retry {
        let value = hyper::header::HeaderValue::from_static(if retry { "true" } else { "false" });
        r.headers_mut().insert(RETRY_HEADER, value);
    }
    r
}

async fn dispatch(
    handler: Arc<dyn Handler>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if req.method() != hyper::Method::POST {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, Some(false), b"only POST".to_vec()));
    }
    let method = req.uri().path().trim_start_matches('/').to_owned();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                Some(false),
                format!("unreadable body: {e}").into_bytes(),
            ));
        }
    };
    Ok(match handler.call(&method, body).await {
        Ok(answer) => reply(StatusCode::OK, None, answer),
        Err(f) => reply(StatusCode::SERVICE_UNAVAILABLE, Some(f.retry), f.message.into_bytes()),
    })
}
