//! Open HTTP connections: what each one is doing (its timeouts follow from that) and the cap on
//! how many may be open, which closes connections that never authenticated first.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bulwark_rest::ConnectionAuthenticated;
use bulwark_settings::HttpSettings;
use tokio::sync::Notify;

/// The listener's limits, from `http.*` settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `http.header_read_timeout`.
    pub header_read_timeout: Option<Duration>,
    /// `http.body_read_timeout`.
    pub body_read_timeout: Option<Duration>,
    /// `http.idle_timeout`.
    pub idle_timeout: Option<Duration>,
    /// `http.max_open_connections` (or its default).
    pub max_open_connections: usize,
    /// `http.max_content_length`.
    pub max_content_length: u64,
    /// How long the TLS handshake (and a first byte) may take.
    pub handshake_timeout: Duration,
}

impl Limits {
    pub fn from_settings(http: &HttpSettings) -> Limits {
        Limits {
            header_read_timeout: http.header_read_timeout,
            body_read_timeout: http.body_read_timeout,
            idle_timeout: http.idle_timeout,
            max_open_connections: http
                .max_open_connections
                .map_or_else(default_max_open_connections, |n| n as usize),
            max_content_length: http.max_content_length,
            handshake_timeout: Duration::from_secs(10),
        }
    }

    /// How often a connection's watchdog looks at it: a quarter of the shortest timeout.
    fn tick(&self) -> Duration {
        [self.header_read_timeout, self.body_read_timeout, self.idle_timeout]
            .into_iter()
            .flatten()
            .min()
            .map_or(Duration::from_secs(1), |d| d / 4)
            .clamp(Duration::from_millis(20), Duration::from_secs(1))
    }
}

/// Half the process's open-file limit (the rest is for the store, the indices and the logs), at
/// least 16.
pub fn default_max_open_connections() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(1 << 17);
    usize::try_from(limit / 2).unwrap_or(usize::MAX).max(16)
}

/// What one connection is doing. Times are milliseconds since it was accepted.
#[derive(Debug)]
pub struct ConnState {
    id: u64,
    start: Instant,
    /// Set by the authentication layer once a request on this connection authenticates.
    pub authenticated: ConnectionAuthenticated,
    /// Requests whose response has not been written out yet.
    in_flight: AtomicU32,
    /// When the last request ended (or the connection opened).
    last_end: AtomicU64,
    /// When the first byte arrived while no request was in flight (+1; 0: none).
    pending_since: AtomicU64,
    bodies_open: AtomicU32,
    body_progress: AtomicU64,
    responses_open: AtomicU32,
    write_progress: AtomicU64,
    http2: AtomicBool,
    linger: AtomicBool,
    kill: Notify,
}

impl ConnState {
    fn new(id: u64) -> ConnState {
        ConnState {
            id,
            start: Instant::now(),
            authenticated: ConnectionAuthenticated::default(),
            in_flight: AtomicU32::new(0),
            last_end: AtomicU64::new(0),
            pending_since: AtomicU64::new(0),
            bodies_open: AtomicU32::new(0),
            body_progress: AtomicU64::new(0),
            responses_open: AtomicU32::new(0),
            write_progress: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            linger: AtomicBool::new(false),
            kill: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// `n` bytes were read from the client.
    pub fn on_read(&self, n: usize) {
        if n > 0 && self.in_flight.load(Relaxed) == 0 && self.pending_since.load(Relaxed) == 0 {
            let _ = self.pending_since.compare_exchange(0, self.now() + 1, Relaxed, Relaxed);
        }
    }

    /// `n` bytes were written to the client.
    pub fn on_write(&self, n: usize) {
        if n > 0 {
            self.write_progress.store(self.now(), Relaxed);
        }
    }

    /// The connection speaks HTTP/2 (requests are multiplexed; frames arrive between them).
    pub fn set_http2(&self) {
        self.http2.store(true, Relaxed);
    }

    /// Closing this connection should first read what the client is still sending (after a
    /// 413, so the client sees the answer instead of a reset).
    pub fn set_linger(&self) {
        self.linger.store(true, Relaxed);
    }

    pub fn lingers(&self) -> bool {
        self.linger.load(Relaxed)
    }

    /// A request's headers arrived; the guard ends it when its response is written.
    pub fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Relaxed);
        self.pending_since.store(0, Relaxed);
        RequestGuard(self.clone())
    }

    /// A request body is being received.
    pub fn open_body(self: &Arc<Self>) -> BodyGuard {
        self.body_progress.store(self.now(), Relaxed);
        self.bodies_open.fetch_add(1, Relaxed);
        BodyGuard(self.clone())
    }

    /// A response body is being sent.
    pub fn open_response(self: &Arc<Self>) -> ResponseGuard {
        self.write_progress.store(self.now(), Relaxed);
        self.responses_open.fetch_add(1, Relaxed);
        ResponseGuard(self.clone())
    }

    /// Asks the connection's task to close it now.
    pub fn kill(&self) {
        self.kill.notify_one();
    }

    /// Why the connection has to close now, if it does.
    pub fn expired(&self, limits: &Limits) -> Option<&'static str> {
        let now = self.now();
        let over = |since: u64, limit: Option<Duration>| {
            limit.is_some_and(|l| {
                now.saturating_sub(since) >= u64::try_from(l.as_millis()).unwrap_or(u64::MAX)
            })
        };
        if self.in_flight.load(Relaxed) == 0 {
            let pending = self.pending_since.load(Relaxed);
            let http2 = self.http2.load(Relaxed);
            if !http2 && pending != 0 && over(pending - 1, limits.header_read_timeout) {
                return Some("the request headers did not arrive in time [http.header_read_timeout]");
            }
            if (http2 || pending == 0) && over(self.last_end.load(Relaxed), limits.idle_timeout) {
                return Some("the connection was idle too long [http.idle_timeout]");
            }
        }
        if self.bodies_open.load(Relaxed) > 0
            && over(self.body_progress.load(Relaxed), limits.body_read_timeout)
        {
            return Some("the request body stopped arriving [http.body_read_timeout]");
        }
        if self.responses_open.load(Relaxed) > 0
            && over(self.write_progress.load(Relaxed), limits.body_read_timeout)
        {
            return Some("the client stopped reading the response [http.body_read_timeout]");
        }
        None
    }

    /// Waits until the connection has to close, and says why.
    pub async fn watchdog(&self, limits: &Limits) -> &'static str {
        let tick = limits.tick();
        loop {
            tokio::select! {
                () = self.kill.notified() => return "closed to make room for a new connection [http.max_open_connections]",
                () = tokio::time::sleep(tick) => {}
            }
            if let Some(reason) = self.expired(limits) {
                return reason;
            }
        }
    }
}

/// A request in flight: ends it when dropped.
#[derive(Debug)]
pub struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.last_end.store(self.0.now(), Relaxed);
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

/// A request body being received: records progress, ends when dropped.
#[derive(Debug)]
pub struct BodyGuard(Arc<ConnState>);

impl BodyGuard {
    pub fn progress(&self) {
        self.0.body_progress.store(self.0.now(), Relaxed);
    }
}

impl Drop for BodyGuard {
    fn drop(&mut self) {
        self.0.bodies_open.fetch_sub(1, Relaxed);
    }
}

/// A response body being sent.
#[derive(Debug)]
pub struct ResponseGuard(Arc<ConnState>);

impl Drop for ResponseGuard {
    fn drop(&mut self) {
        self.0.responses_open.fetch_sub(1, Relaxed);
    }
}

/// Every open connection, capped at `http.max_open_connections`.
#[derive(Debug)]
pub struct Connections {
    max: usize,
    open: Mutex<HashMap<u64, Arc<ConnState>>>,
    next_id: AtomicU64,
}

/// Whether a new connection was let in.
#[derive(Debug)]
pub enum Admission {
    /// Admitted, with room to spare.
    Admitted(Registration),
    /// Admitted after closing the oldest connection that had not authenticated.
    AdmittedAfterShedding(Registration),
    /// Full of authenticated connections: refused.
    Refused,
}

impl Connections {
    pub fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Lets a new connection in, closing the oldest unauthenticated one when full.
    pub fn admit(self: &Arc<Self>) -> Admission {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let shed = open.len() >= self.max;
        if shed && !shed_oldest_unauthenticated(&mut open) {
            return Admission::Refused;
        }
        let id = self.next_id.fetch_add(1, Relaxed);
        let state = Arc::new(ConnState::new(id));
        open.insert(id, state.clone());
        let reg = Registration { connections: self.clone(), state };
        if shed { Admission::AdmittedAfterShedding(reg) } else { Admission::Admitted(reg) }
    }

    /// Closes the oldest connection that has not authenticated (to free a file descriptor).
    pub fn shed_one(&self) -> bool {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        shed_oldest_unauthenticated(&mut open)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

fn shed_oldest_unauthenticated(open: &mut HashMap<u64, Arc<ConnState>>) -> bool {
    let oldest =
        open.values().filter(|c| !c.authenticated.is_marked()).min_by_key(|c| (c.start, c.id)).map(|c| c.id);
    match oldest.and_then(|id| open.remove(&id)) {
        Some(c) => {
            c.kill();
            true
        }
        None => false,
    }
}

/// A connection's place in [`Connections`], given back when dropped.
#[derive(Debug)]
pub struct Registration {
    connections: Arc<Connections>,
    pub state: Arc<ConnState>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut open = self.connections.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        open.remove(&self.state.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Some(Duration::from_millis(30)),
            body_read_timeout: Some(Duration::from_millis(30)),
            idle_timeout: Some(Duration::from_millis(60)),
            max_open_connections: 2,
            max_content_length: 10,
            handshake_timeout: Duration::from_secs(1),
        }
    }

    fn reg(a: Admission) -> Registration {
        match a {
            Admission::Admitted(r) | Admission::AdmittedAfterShedding(r) => r,
            Admission::Refused => panic!("refused"),
        }
    }

    #[test]
    fn cap_sheds_the_oldest_unauthenticated_then_refuses() {
        let c = Connections::new(2);
        let first = reg(c.admit());
        let second = reg(c.admit());
        second.state.authenticated.mark();
        let third = match c.admit() {
            Admission::AdmittedAfterShedding(r) => r,
            other => panic!("expected shedding, got {other:?}"),
        };
        assert_eq!(c.len(), 2);
        third.state.authenticated.mark();
        assert!(matches!(c.admit(), Admission::Refused));
        drop(first);
        assert_eq!(c.len(), 2, "the shed connection was already gone");
        drop(third);
        assert!(matches!(c.admit(), Admission::Admitted(_)));
    }

    #[test]
    fn phases_and_their_timeouts() {
        let l = limits();
        let c = Connections::new(4);
        let r = reg(c.admit());
        let s = &r.state;
        assert_eq!(s.expired(&l), None);
        s.on_read(5);
        std::thread::sleep(Duration::from_millis(40));
        assert!(s.expired(&l).is_some_and(|m| m.contains("header_read_timeout")));
        let req = s.begin_request();
        let body = s.open_body();
        assert_eq!(s.expired(&l), None);
        std::thread::sleep(Duration::from_millis(40));
        assert!(s.expired(&l).is_some_and(|m| m.contains("body_read_timeout")));
        body.progress();
        assert_eq!(s.expired(&l), None);
        drop(body);
        drop(req);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(s.expired(&l), None, "idle, but not for long");
        std::thread::sleep(Duration::from_millis(30));
        assert!(s.expired(&l).is_some_and(|m| m.contains("idle_timeout")));
    }
}
