//! The calling side: one HTTP/2 connection per peer address, opened on demand over mutual TLS
//! from this node's own transport address, every call under a deadline.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpSocket;
use tokio::sync::Mutex;

use crate::server::RETRY_HEADER;

/// How long opening a connection (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No connection could be made: the request was not sent.
    #[error("cannot connect to the transport at [{address}]: {reason}")]
    Connect {
        /// The peer.
        address: String,
        /// Why.
        reason: String,
    },
    /// The peer answered with a failure.
    #[error("the node at [{address}] refused: {message}")]
    Remote {
        /// The peer.
        address: String,
        /// Whether it is safe to retry (the request was not carried out).
        retry: bool,
        /// What it said.
        message: String,
    },
    /// No answer within the call's deadline: the outcome is unknown.
    #[error("no answer from the transport at [{address}]: timed out after [{}ms]", after.as_millis())]
    TimedOut {
        /// The peer.
        address: String,
        /// The deadline the call had.
        after: Duration,
    },
    /// The connection was lost mid-call: the outcome is unknown.
    #[error("no answer from the transport at [{address}]: {reason}")]
    Lost {
        /// The peer.
        address: String,
        /// Why.
        reason: String,
    },
}

impl CallError {
    /// Whether retrying the call is safe (it was certainly not carried out).
    pub fn is_retry_safe(&self) -> bool {
        matches!(self, CallError::Connect { .. } | CallError::Remote { retry: true, .. })
    }
}

/// Calls other nodes' transports.
#[derive(Clone)]
pub struct Client {
    tls: Arc<dyn Fn() -> Arc<ClientConfig> + Send + Sync>,
    local_ip: Option<IpAddr>,
    conns: Arc<Mutex<HashMap<String, Slot>>>,
}

/// A peer's connection: open, or being opened (the result is sent to everyone waiting).
enum Slot {
    Open(SendRequest<Full<Bytes>>),
    Connecting(tokio::sync::watch::Receiver<Option<Result<SendRequest<Full<Bytes>>, CallError>>>),
}

impl Client {
    /// A client presenting this node's certificate (`tls` gives the current configuration, with
    /// the transport CA as its only root) from `local_ip` (this node's transport address, which
    /// its certificate names; `None` lets the system choose).
    pub fn new(tls: Arc<dyn Fn() -> Arc<ClientConfig> + Send + Sync>, local_ip: Option<IpAddr>) -> Self {
        Client { tls, local_ip, conns: Arc::new(Mutex::new(HashMap::new())) }
    }

    async fn connect(&self, address: &str) -> Result<SendRequest<Full<Bytes>>, CallError> {
        let fail = |reason: String| CallError::Connect { address: address.to_owned(), reason };
        let addr: SocketAddr = address.parse().map_err(|_| fail("not an IP address and port".to_owned()))?;
        let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
            .map_err(|e| fail(e.to_string()))?;
        if let Some(ip) = self.local_ip.filter(|ip| ip.is_ipv4() == addr.is_ipv4() && !ip.is_unspecified()) {
            socket.bind(SocketAddr::new(ip, 0)).map_err(|e| fail(format!("cannot bind to [{ip}]: {e}")))?;
        }
        let mut config = Arc::unwrap_or_clone((self.tls)());
        config.alpn_protocols = vec![crate::ALPN.to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = ServerName::IpAddress(addr.ip().into());
        let open = async {
            let tcp = socket.connect(addr).await.map_err(|e| fail(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            connector.connect(name, tcp).await.map_err(|e| fail(format!("TLS: {e}")))
        };
        let stream =
            tokio::time::timeout(CONNECT_TIMEOUT, open).await.map_err(|_| fail("timed out".to_owned()))??;
        let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(Some(Duration::from_secs(10)))
            .keep_alive_timeout(Duration::from_secs(20))
            .max_frame_size(1 << 20)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| fail(format!("HTTP/2: {e}")))?;
        let peer = address.to_owned();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(peer, "transport connection ended: {e}");
            }
        });
        Ok(send)
    }

    /// The open connection to `address`, else the one being opened, else a new one. A connection
    /// is opened in a task of its own (within [`CONNECT_TIMEOUT`]), not within the deadline of
    /// the call that asked for it: Raft's heartbeats have deadlines shorter than a TLS handshake
    /// may take on a loaded host, and cutting every handshake short would never connect to a
    /// restarted peer. Callers wait for it within their own deadlines; the map is not locked
    /// while connecting, so a peer that does not finish the handshake (a stopped process) holds
    /// up no call to the others.
    async fn sender(&self, address: &str) -> Result<SendRequest<Full<Bytes>>, CallError> {
        let mut pending = {
            let mut conns = self.conns.lock().await;
            match conns.get(address) {
                Some(Slot::Open(s)) if !s.is_closed() => return Ok(s.clone()),
                Some(Slot::Connecting(rx)) => rx.clone(),
                _ => {
                    let (tx, rx) = tokio::sync::watch::channel(None);
                    conns.insert(address.to_owned(), Slot::Connecting(rx.clone()));
                    let (client, address) = (self.clone(), address.to_owned());
                    tokio::spawn(async move {
                        // Bounded as a whole (the HTTP/2 handshake too), so a slot never stays
                        // "connecting" for ever.
                        let result =
                            match tokio::time::timeout(CONNECT_TIMEOUT * 2, client.connect(&address)).await {
                                Ok(r) => r,
                                Err(_) => Err(CallError::Connect {
                                    address: address.clone(),
                                    reason: format!("no connection within {:?}", CONNECT_TIMEOUT * 2),
                                }),
                            };
                        let mut conns = client.conns.lock().await;
                        if matches!(conns.get(&address), Some(Slot::Connecting(_))) {
                            match &result {
                                Ok(s) => conns.insert(address, Slot::Open(s.clone())),
                                Err(_) => conns.remove(&address),
                            };
                        }
                        drop(conns);
                        let _ = tx.send(Some(result));
                    });
                    rx
                }
            }
        };
        let done = pending.wait_for(Option::is_some).await.map(|r| r.clone());
        match done {
            Ok(Some(result)) => result,
            _ => Err(CallError::Connect {
                address: address.to_owned(),
                reason: "the connection attempt was abandoned".to_owned(),
            }),
        }
    }

    /// Forgets the open connection to `address` (after a failure), so the next call opens a new
    /// one; a connection still being opened is left to finish.
    async fn drop_connection(&self, address: &str) {
        let mut conns = self.conns.lock().await;
        if matches!(conns.get(address), Some(Slot::Open(_))) {
            conns.remove(address);
        }
    }

    /// Calls `method` on the node at `address` with `body`, waiting at most `timeout` in all.
    pub async fn call(
        &self,
        address: &str,
        method: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, CallError> {
        let lost = |reason: String| CallError::Lost { address: address.to_owned(), reason };
        let attempt = async {
            let mut sender = self.sender(address).await?;
            let req = hyper::Request::post(format!("/{method}"))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| lost(e.to_string()))?;
            sender
                .ready()
                .await
                .map_err(|e| CallError::Connect { address: address.to_owned(), reason: e.to_string() })?;
            let resp = sender.send_request(req).await.map_err(|e| lost(e.to_string()))?;
            let status = resp.status();
            let retry = resp.headers().get(RETRY_HEADER).is_some_and(|v| v == "true");
            let bytes = resp.into_body().collect().await.map_err(|e| lost(e.to_string()))?.to_bytes();
            if status.is_success() {
                Ok(bytes.to_vec())
            } else {
                Err(CallError::Remote {
                    address: address.to_owned(),
                    retry,
                    message: String::from_utf8_lossy(&bytes).into_owned(),
                })
            }
        };
        let result = match tokio::time::timeout(timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(CallError::TimedOut { address: address.to_owned(), after: timeout }),
        };
        // A call that timed out says nothing about the connection (HTTP/2 carries other calls
        // meanwhile, and its keep-alive closes a dead one): reconnecting after every slow answer
        // would add a TLS handshake to a host that is already slow.
        if matches!(result, Err(CallError::Connect { .. } | CallError::Lost { .. })) {
            self.drop_connection(address).await;
        }
        result
    }
}
