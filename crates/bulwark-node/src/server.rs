//! The HTTP(S) listener: accept (with back-off and a connection cap), TLS handshake (plaintext
//! detected and logged), then hyper serving the REST router within the `http.*` limits: header,
//! body and idle timeouts, watched per connection, and `http.max_content_length` answered with 413.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, Version, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::NodeError;
use crate::accept::{self, AcceptErrors, PlaintextLog, RateLimited};
use crate::connection::{Admission, ConnState, Connections, Limits, RequestGuard};
use crate::reload::LayerTls;
use crate::watched::{Drained, GuardedBody, UnreadSlot, WatchedBody, WatchedIo};

/// Resolves an Elasticsearch host value (`_local_`, `_site_`, `0.0.0.0`, an IP or a name).
pub fn resolve_host(host: &str, port: u16) -> Result<SocketAddr, NodeError> {
    bulwark_settings::network::resolve_host(host, port)
        .ok_or_else(|| NodeError::Config(format!("cannot resolve host [{host}]")))
}

/// Serves `app` on `listener` until `shutdown` completes, within `limits`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<LayerTls>>,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let connections = Connections::new(limits.max_open_connections);
    let plaintext = Arc::new(PlaintextLog::default());
    let mut errors = AcceptErrors::default();
    let mut full = RateLimited::new(accept::LOG_INTERVAL);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => {
                errors.succeeded();
                x
            }
            Err(e) => {
                if let Some(pause) = errors.failed(&e) {
                    // Out of file descriptors: one held by a client that never authenticated
                    // is worth more to the next client.
                    connections.shed_one();
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
                continue;
            }
        };
        let registration = match connections.admit() {
            Admission::Admitted(r) => r,
            Admission::AdmittedAfterShedding(r) => {
                if let Some(held_back) = full.occurred(Instant::now()) {
                    tracing::warn!(
                        "the HTTP connection limit [{}] was reached: closed the oldest connection that had not authenticated ({held_back} more since the last report); raise [http.max_open_connections] if this is legitimate load",
                        connections.max()
                    );
                }
                r
            }
            Admission::Refused => {
                if let Some(held_back) = full.occurred(Instant::now()) {
                    tracing::warn!(
                        %peer,
                        "the HTTP connection limit [{}] was reached and every connection has authenticated: refused a new connection ({held_back} more since the last report); raise [http.max_open_connections] if this is legitimate load",
                        connections.max()
                    );
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let conn =
            Conn { app: app.clone(), peer, limits, state: registration.state.clone(), peer_certs: None };
        let (tls, plaintext) = (tls.clone(), plaintext.clone());
        tokio::spawn(async move {
            let state = registration.state.clone();
            tokio::select! {
                () = conn.run(tcp, tls, &plaintext) => {}
                reason = state.watchdog(&limits) => tracing::debug!(%peer, "closing an HTTP connection: {reason}"),
            }
            drop(registration);
        });
    }
}

/// One accepted connection and what its requests need.
#[derive(Clone)]
struct Conn {
    app: Router,
    peer: SocketAddr,
    limits: Limits,
    state: Arc<ConnState>,
    peer_certs: Option<bulwark_rest::PeerCertificates>,
}

impl Conn {
    async fn run(mut self, tcp: TcpStream, tls: Option<Arc<LayerTls>>, plaintext: &PlaintextLog) {
        let Some(tls) = tls else {
            let io = WatchedIo::new(tcp, self.state.clone());
            return self.serve(io).await;
        };
        let handshake = async {
            if !self.is_tls(&tcp, plaintext).await {
                return None;
            }
            tokio_rustls::TlsAcceptor::from(tls.config())
                .accept(tcp)
                .await
                .map_err(|e| {
                    tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed");
                })
                .ok()
        };
        let Ok(Some(stream)) = tokio::time::timeout(self.limits.handshake_timeout, handshake).await else {
            return;
        };
        self.peer_certs = stream.get_ref().1.peer_certificates().map(|c| {
            bulwark_rest::PeerCertificates(Arc::new(c.iter().map(|d| d.as_ref().to_vec()).collect()))
        });
        let io = WatchedIo::new(stream, self.state.clone());
        self.serve(io).await;
    }

    /// Whether the client starts a TLS handshake; plaintext (an `http://` URL for an `https://`
    /// port) is logged once per address and interval, and the connection closed unanswered.
    async fn is_tls(&self, tcp: &TcpStream, plaintext: &PlaintextLog) -> bool {
        let mut first = [0u8; 1];
        match tcp.peek(&mut first).await {
            Ok(1) if first[0] == TLS_HANDSHAKE_RECORD => true,
            Ok(1) => {
                if plaintext.should_log(self.peer.ip(), Instant::now()) {
                    tracing::warn!(
                        peer = %self.peer,
                        "received plaintext http traffic on an https channel, closing connection [{}] (use https:// URLs; this address is not reported again for {}s)",
                        self.peer,
                        accept::PLAINTEXT_LOG_INTERVAL.as_secs()
                    );
                }
                false
            }
            _ => false,
        }
    }

    async fn serve<T>(self, io: WatchedIo<T>)
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        // hyper refuses more than 100 header lines with a bare 431; Elasticsearch bounds only the
        // header block's size, which hyper's read buffer bounds here too.
        builder.http1().max_headers(MAX_HEADER_LINES);
        let conn = Arc::new(self);
        let service = hyper::service::service_fn(move |req| conn.clone().handle(req));
        let _ = builder.serve_connection_with_upgrades(TokioIo::new(io), service).await;
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let http2 = req.version() == Version::HTTP_2;
        if http2 {
            self.state.set_http2();
        }
        let request = self.state.begin_request();
        let limit = self.limits.max_content_length;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            // Answered before reading a byte of the body (and without `100 Continue`).
            return Ok(self.respond(too_large(limit), request, http2, true));
        }
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(axum::extract::ConnectInfo(self.peer));
        parts.extensions.insert(self.state.authenticated.clone());
        if let Some(p) = &self.peer_certs {
            parts.extensions.insert(p.clone());
        }
        let over = Arc::new(AtomicBool::new(false));
        // Only a request with a body can leave some of it unread (no allocation for the others).
        let unread: Option<UnreadSlot> = (!hyper::body::Body::is_end_stream(&body)).then(UnreadSlot::default);
        let body = Body::new(WatchedBody::new(body, &self.state, limit, over.clone(), unread.clone()));
        let Ok(resp) = self.app.clone().oneshot(Request::from_parts(parts, body)).await;
        if over.load(Ordering::Relaxed) {
            return Ok(self.respond(too_large(limit), request, http2, true));
        }
        let rest = unread.and_then(|u| u.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
        match rest {
            // HTTP/2: a stream whose body was not read would be reset, and clients drop the
            // answer with it. Read the rest first (bounded by the limit and by the body timeout).
            Some(rest) if http2 => {
                if let Drained::TooLarge = rest.drain(limit).await {
                    return Ok(self.respond(too_large(limit), request, http2, true));
                }
                Ok(self.respond(resp, request, http2, false))
            }
            // HTTP/1: the connection cannot carry another request until the body is read, and
            // reading what nobody asked for (e.g. the body of a request refused for lack of
            // credentials) is not worth it: the answer says `Connection: close`, so the client
            // does not send another request on it, and the connection closes cleanly after it.
            Some(_) => Ok(self.respond(resp, request, http2, true)),
            None => Ok(self.respond(resp, request, http2, false)),
        }
    }

    fn respond(
        &self,
        resp: Response<Body>,
        request: RequestGuard,
        http2: bool,
        close: bool,
    ) -> Response<Body> {
        let (mut parts, body) = resp.into_parts();
        if close && !http2 {
            parts.headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            self.state.set_linger();
        }
        let body = Body::new(GuardedBody::new(body, request, self.state.open_response()));
        Response::from_parts(parts, body)
    }
}

/// Header lines one HTTP/1 request may have.
const MAX_HEADER_LINES: usize = 512;

/// The first byte of a TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// 413 in Elasticsearch's error shape.
fn too_large(limit: u64) -> Response<Body> {
    let mut resp = bulwark_rest::ApiError::content_too_long(limit).into_response();
    resp.headers_mut().insert("x-elastic-product", HeaderValue::from_static("Elasticsearch"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unresolvable_host_names_itself() {
        let e = resolve_host("no-such-host.invalid", 1).unwrap_err().to_string();
        assert!(e.contains("[no-such-host.invalid]"), "{e}");
    }
}
