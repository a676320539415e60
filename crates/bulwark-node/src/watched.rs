//! The connection's bytes and bodies, watched: reads and writes record progress for the
//! connection's timeouts, request bodies are held to `http.max_content_length` and gathered in
//! one buffer, response bodies keep their request counted until they are written out.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::connection::{BodyGuard, ConnState, RequestGuard, ResponseGuard};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a connection closed after a 413 keeps reading (and dropping) what the client still
/// sends, so the client reads the answer instead of a connection reset.
const LINGER: Duration = Duration::from_secs(2);

/// A connection's stream, recording read and write progress.
pub struct WatchedIo<T: AsyncRead + Unpin + Send + 'static> {
    inner: Option<T>,
    state: Arc<ConnState>,
}

impl<T: AsyncRead + Unpin + Send + 'static> WatchedIo<T> {
    pub fn new(inner: T, state: Arc<ConnState>) -> Self {
        WatchedIo { inner: Some(inner), state }
    }

    fn io(&mut self) -> io::Result<&mut T> {
        self.inner.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl<T: AsyncRead + Unpin + Send + 'static> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = ready!(Pin::new(self.io()?).poll_read(cx, buf));
        self.state.on_read(buf.filled().len() - before);
        Poll::Ready(r)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncWrite for WatchedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = ready!(Pin::new(self.io()?).poll_write(cx, buf));
        if let Ok(n) = r {
            self.state.on_write(n);
        }
        Poll::Ready(r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = ready!(Pin::new(self.io()?).poll_write_vectored(cx, bufs));
        if let Ok(n) = r {
            self.state.on_write(n);
        }
        Poll::Ready(r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(AsyncWrite::is_write_vectored)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.io()?).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.io()?).poll_shutdown(cx)
    }
}

impl<T: AsyncRead + Unpin + Send + 'static> Drop for WatchedIo<T> {
    fn drop(&mut self) {
        if !self.state.lingers() {
            return;
        }
        let (Some(mut io), Ok(rt)) = (self.inner.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        rt.spawn(async move {
            let mut buf = vec![0u8; 16 << 10];
            let _ = tokio::time::timeout(LINGER, async {
                while let Ok(n) = io.read(&mut buf).await
                    && n > 0
                {}
            })
            .await;
        });
    }
}

/// A request body: counts progress for `http.body_read_timeout`, stops at
/// `http.max_content_length` (raising `too_large`), and hands the body over as one buffer
/// (sized from `Content-Length`), so gathering it does not copy it again.
pub struct WatchedBody {
    /// `None` only once dropped.
    inner: Option<Incoming>,
    limit: u64,
    seen: u64,
    buf: Vec<u8>,
    too_large: Arc<AtomicBool>,
    guard: Option<BodyGuard>,
    unread: Option<UnreadSlot>,
}

/// Where a body dropped before its end is left, for the server to read out (HTTP/2: a stream
/// whose body is not read is reset, and clients then drop the answer too).
pub type UnreadSlot = Arc<std::sync::Mutex<Option<Unread>>>;

/// The rest of a request body nobody read.
pub struct Unread {
    inner: Incoming,
    seen: u64,
    guard: BodyGuard,
}

/// How reading out an unread body ended.
pub enum Drained {
    Done,
    TooLarge,
    Failed,
}

impl Unread {
    /// Reads and drops the rest of the body, up to `limit` bytes in all.
    pub async fn drain(mut self, limit: u64) -> Drained {
        use http_body_util_lite::frame;
        loop {
            match frame(&mut self.inner).await {
                None => return Drained::Done,
                Some(Err(_)) => return Drained::Failed,
                Some(Ok(f)) => {
                    self.guard.progress();
                    if let Some(d) = f.data_ref() {
                        self.seen += d.len() as u64;
                        if self.seen > limit {
                            return Drained::TooLarge;
                        }
                    }
                }
            }
        }
    }
}

/// The one body helper needed here, without another dependency.
mod http_body_util_lite {
    use super::*;

    pub async fn frame(body: &mut Incoming) -> Option<Result<Frame<Bytes>, hyper::Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
    }
}

impl WatchedBody {
    pub fn new(
        inner: Incoming,
        state: &Arc<ConnState>,
        limit: u64,
        too_large: Arc<AtomicBool>,
        unread: Option<UnreadSlot>,
    ) -> Self {
        let guard = (!inner.is_end_stream()).then(|| state.open_body());
        WatchedBody { inner: Some(inner), limit, seen: 0, buf: Vec::new(), too_large, guard, unread }
    }
}

impl Drop for WatchedBody {
    fn drop(&mut self) {
        if let (Some(slot), Some(guard), Some(inner)) =
            (self.unread.take(), self.guard.take(), self.inner.take())
        {
            let seen = self.seen;
            *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(Unread { inner, seen, guard });
        }
    }
}

impl Body for WatchedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            let (Some(inner), Some(_)) = (this.inner.as_mut(), this.guard.as_ref()) else {
                return Poll::Ready(None);
            };
            let frame = match ready!(Pin::new(&mut *inner).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    this.guard = None;
                    return Poll::Ready(Some(Err(e.into())));
                }
                None => {
                    this.guard = None;
                    let all = std::mem::take(&mut this.buf);
                    return Poll::Ready((!all.is_empty()).then(|| Ok(Frame::data(Bytes::from(all)))));
                }
            };
            if let Some(g) = &this.guard {
                g.progress();
            }
            let Ok(data) = frame.into_data() else { continue };
            this.seen += data.len() as u64;
            if this.seen > this.limit {
                this.too_large.store(true, Ordering::Relaxed);
                this.guard = None;
                this.buf = Vec::new();
                return Poll::Ready(Some(Err(
                    "the request body is larger than http.max_content_length".into()
                )));
            }
            if this.buf.is_empty() && inner.is_end_stream() {
                // The whole body in one frame: no copy.
                this.guard = None;
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            if this.buf.capacity() == 0 {
                let expected = inner.size_hint().lower() + data.len() as u64;
                this.buf.reserve(usize::try_from(expected.min(this.limit)).unwrap_or(0));
            }
            this.buf.extend_from_slice(&data);
        }
    }

    fn is_end_stream(&self) -> bool {
        self.guard.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let (Some(inner), Some(_)) = (self.inner.as_ref(), self.guard.as_ref()) else {
            return SizeHint::with_exact(0);
        };
        let mut h = inner.size_hint();
        let buffered = self.buf.len() as u64;
        h.set_lower(h.lower() + buffered);
        if let Some(u) = h.upper() {
            h.set_upper(u + buffered);
        }
        h
    }
}

/// A response body that keeps its request in flight until it is written out.
pub struct GuardedBody {
    inner: axum::body::Body,
    _request: RequestGuard,
    _response: ResponseGuard,
}

impl GuardedBody {
    pub fn new(inner: axum::body::Body, request: RequestGuard, response: ResponseGuard) -> Self {
        GuardedBody { inner, _request: request, _response: response }
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
