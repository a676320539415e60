//! What the accept loop does when accepting fails, and log lines that must not flood the log:
//! back-off on resource exhaustion, at most one line per interval with a count of the rest.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a repeated listener warning may be written.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The back-off after an accept failure for lack of resources: doubles from the first to the last.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A log line written at most once per interval; it counts the occurrences it held back.
#[derive(Debug)]
pub struct RateLimited {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimited {
    pub fn new(interval: Duration) -> RateLimited {
        RateLimited { interval, last: None, suppressed: 0 }
    }

    /// Records an occurrence; `Some(held back since the last line)` when a line is due now.
    pub fn occurred(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.duration_since(t) < self.interval => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Accept failures: how long to wait before the next attempt, and whether to log.
#[derive(Debug)]
pub struct AcceptErrors {
    delay: Option<Duration>,
    log: RateLimited,
}

impl Default for AcceptErrors {
    fn default() -> Self {
        AcceptErrors { delay: None, log: RateLimited::new(LOG_INTERVAL) }
    }
}

/// Out of file descriptors or memory: retrying at once fails again.
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    use rustix::io::Errno;
    [Errno::MFILE, Errno::NFILE, Errno::NOBUFS, Errno::NOMEM]
        .iter()
        .any(|c| e.raw_os_error() == Some(c.raw_os_error()))
}

impl AcceptErrors {
    /// An accept succeeded: the back-off starts over.
    pub fn succeeded(&mut self) {
        self.delay = None;
    }

    /// An accept failed: logs (rate-limited) and returns how long to pause before the next.
    pub fn failed(&mut self, e: &io::Error) -> Option<Duration> {
        let exhausted = is_resource_exhaustion(e);
        let delay = if exhausted {
            let d = self.delay.map_or(BACKOFF_MIN, |d| (d * 2).min(BACKOFF_MAX));
            self.delay = Some(d);
            Some(d)
        } else {
            None
        };
        if let Some(held_back) = self.log.occurred(Instant::now()) {
            if exhausted {
                tracing::warn!(
                    error = %e,
                    suppressed = held_back,
                    "accept failed: {e}; new HTTP connections wait (retrying with back-off up to {}s); {held_back} more failures since the last report",
                    BACKOFF_MAX.as_secs()
                );
            } else {
                tracing::debug!(error = %e, suppressed = held_back, "accept failed: {e}");
            }
        }
        delay
    }
}

/// Plaintext HTTP sent to the HTTPS port: one warning per client address and interval.
#[derive(Debug, Default)]
pub struct PlaintextLog {
    seen: Mutex<HashMap<IpAddr, Instant>>,
}

/// The most client addresses remembered; past it, new addresses are not logged until old ones
/// age out.
const PLAINTEXT_ADDRESSES: usize = 4096;

/// How long a client address stays quiet in the log after its warning.
pub const PLAINTEXT_LOG_INTERVAL: Duration = Duration::from_secs(60);

impl PlaintextLog {
    /// Whether to log plaintext traffic from `ip` now (and remembers that it was).
    pub fn should_log(&self, ip: IpAddr, now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = seen.get(&ip)
            && now.duration_since(*t) < PLAINTEXT_LOG_INTERVAL
        {
            return false;
        }
        if seen.len() >= PLAINTEXT_ADDRESSES {
            seen.retain(|_, t| now.duration_since(*t) < PLAINTEXT_LOG_INTERVAL);
            if seen.len() >= PLAINTEXT_ADDRESSES {
                return false;
            }
        }
        seen.insert(ip, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_counts_what_it_holds_back() {
        let mut r = RateLimited::new(Duration::from_secs(10));
        let t = Instant::now();
        assert_eq!(r.occurred(t), Some(0));
        assert_eq!(r.occurred(t + Duration::from_secs(1)), None);
        assert_eq!(r.occurred(t + Duration::from_secs(2)), None);
        assert_eq!(r.occurred(t + Duration::from_secs(11)), Some(2));
    }

    #[test]
    fn backoff_doubles_to_a_ceiling_and_resets() {
        let mut a = AcceptErrors::default();
        let emfile = io::Error::from_raw_os_error(rustix::io::Errno::MFILE.raw_os_error());
        let delays: Vec<_> = (0..10).map(|_| a.failed(&emfile).unwrap()).collect();
        assert_eq!(delays[0], BACKOFF_MIN);
        assert_eq!(delays[1], BACKOFF_MIN * 2);
        assert_eq!(delays[9], BACKOFF_MAX);
        a.succeeded();
        assert_eq!(a.failed(&emfile), Some(BACKOFF_MIN));
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(a.failed(&aborted), None);
    }

    #[test]
    fn plaintext_once_per_address_and_interval() {
        let log = PlaintextLog::default();
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(log.should_log(a, t));
        assert!(!log.should_log(a, t + Duration::from_secs(1)));
        assert!(log.should_log(b, t + Duration::from_secs(1)));
        assert!(log.should_log(a, t + PLAINTEXT_LOG_INTERVAL));
    }
}
