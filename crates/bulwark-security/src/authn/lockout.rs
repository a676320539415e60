//! Brute-force protection: failures are counted per (user name, source address) and per source
//! address. Past a few failures each further failure is answered more slowly (exponential
//! back-off); past `max_failures` the pair is locked for `duration` — even the right password is
//! refused from that address, while the same user elsewhere is unaffected. An address that fails
//! for many user names (password spraying) is locked as a whole after five times as many failures.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures before back-off starts.
const BACKOFF_AFTER: u32 = 5;
/// The first back-off delay; it doubles with each further failure.
const BACKOFF_BASE: Duration = Duration::from_millis(50);
/// The longest back-off delay.
const BACKOFF_MAX: Duration = Duration::from_millis(250);
/// An address is locked after this many times `max_failures` failures across all users.
const ADDRESS_FACTOR: u32 = 5;
/// Entries are forgotten this long after their last failure (bounded memory).
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// At most this many tracked keys; the oldest are dropped first.
const MAX_KEYS: usize = 100_000;

/// Lockout settings (`xpack.security.authc.lockout.*`).
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Whether failures lock at all.
    pub enabled: bool,
    /// Failures before a lock.
    pub max_failures: u32,
    /// How long a lock lasts.
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, IpAddr),
    Address(IpAddr),
}

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allowed,
    /// Refused without checking the password, for this much longer.
    Locked {
        /// How much longer.
        remaining: Duration,
        /// Who is locked.
        scope: LockScope,
    },
}

/// What is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockScope {
    /// This user from this address.
    UserFromAddress,
    /// Every user from this address.
    Address,
}

/// A lockout that just started (to be audited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutStarted {
    /// The user whose failures started it.
    pub user: String,
    /// The address they came from.
    pub address: IpAddr,
    /// What is locked.
    pub scope: LockScope,
    /// For how long.
    pub duration: Duration,
}

/// Failure counters.
pub struct Lockout {
    policy: LockoutPolicy,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Lockout {
    /// Counters for `policy`, all empty.
    pub fn new(policy: LockoutPolicy) -> Lockout {
        Lockout { policy, entries: Mutex::new(HashMap::new()) }
    }

    /// Checks an attempt by `user` from `address` before its credentials are verified.
    pub fn check(&self, user: &str, address: IpAddr, now: Instant) -> Verdict {
        if !self.policy.enabled {
            return Verdict::Allowed;
        }
        let Ok(map) = self.entries.lock() else { return Verdict::Allowed };
        for (key, scope) in [
            (Key::Address(address), LockScope::Address),
            (Key::Pair(user.to_owned(), address), LockScope::UserFromAddress),
        ] {
            if let Some(until) = map.get(&key).and_then(|e| e.locked_until)
                && until > now
            {
                return Verdict::Locked { remaining: until - now, scope };
            }
        }
        Verdict::Allowed
    }

    /// Records a failed attempt. Returns how long to delay the answer, and a lockout if one
    /// started now.
    pub fn failure(&self, user: &str, address: IpAddr, now: Instant) -> (Duration, Option<LockoutStarted>) {
        if !self.policy.enabled {
            return (Duration::ZERO, None);
        }
        let Ok(mut map) = self.entries.lock() else { return (Duration::ZERO, None) };
        if map.len() >= MAX_KEYS {
            map.retain(|_, e| now.saturating_duration_since(e.last) < FORGET_AFTER);
            if map.len() >= MAX_KEYS
                && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.last).map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let max = self.policy.max_failures.max(1);
        let mut started = None;
        let mut pair_failures = 0;
        for (key, threshold, scope) in [
            (Key::Pair(user.to_owned(), address), max, LockScope::UserFromAddress),
            (Key::Address(address), max.saturating_mul(ADDRESS_FACTOR), LockScope::Address),
        ] {
            let e = map.entry(key.clone()).or_insert(Entry { failures: 0, last: now, locked_until: None });
            if e.locked_until.is_some_and(|u| u <= now)
                || now.saturating_duration_since(e.last) > FORGET_AFTER
            {
                *e = Entry { failures: 0, last: now, locked_until: None };
            }
            e.failures += 1;
            e.last = now;
            if matches!(key, Key::Pair(..)) {
                pair_failures = e.failures;
            }
            if e.failures >= threshold && e.locked_until.is_none() {
                e.locked_until = Some(now + self.policy.duration);
                started.get_or_insert(LockoutStarted {
                    user: user.to_owned(),
                    address,
                    scope,
                    duration: self.policy.duration,
                });
            }
        }
        (backoff(pair_failures), started)
    }

    /// A success clears the pair's counter (not the address's: one good password does not
    /// excuse spraying).
    pub fn success(&self, user: &str, address: IpAddr) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(&Key::Pair(user.to_owned(), address));
        }
    }
}

fn backoff(failures: u32) -> Duration {
    if failures <= BACKOFF_AFTER {
        return Duration::ZERO;
    }
    let exp = (failures - BACKOFF_AFTER - 1).min(16);
    (BACKOFF_BASE * 2u32.pow(exp)).min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max: u32) -> LockoutPolicy {
        LockoutPolicy { enabled: true, max_failures: max, duration: Duration::from_secs(60) }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn locks_the_pair_after_max_failures_and_not_other_addresses() {
        let l = Lockout::new(policy(20));
        let t = Instant::now();
        let mut started = Vec::new();
        for i in 0..20 {
            assert_eq!(l.check("bob", A, t), Verdict::Allowed, "attempt {i}");
            started.extend(l.failure("bob", A, t).1);
        }
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].scope, LockScope::UserFromAddress);
        assert!(matches!(l.check("bob", A, t), Verdict::Locked { scope: LockScope::UserFromAddress, .. }));
        assert_eq!(l.check("bob", B, t), Verdict::Allowed, "another address is unaffected");
        assert_eq!(
            l.check("alice", A, t),
            Verdict::Allowed,
            "another user from the same address is unaffected"
        );
        assert_eq!(l.check("bob", A, t + Duration::from_secs(61)), Verdict::Allowed, "the lock expires");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(5), Duration::ZERO);
        assert_eq!(backoff(6), Duration::from_millis(50));
        assert_eq!(backoff(7), Duration::from_millis(100));
        assert_eq!(backoff(30), BACKOFF_MAX);
    }

    #[test]
    fn success_resets_the_pair_but_spraying_locks_the_address() {
        let l = Lockout::new(policy(3));
        let t = Instant::now();
        l.failure("bob", A, t);
        l.failure("bob", A, t);
        l.success("bob", A);
        l.failure("bob", A, t);
        assert_eq!(l.check("bob", A, t), Verdict::Allowed);
        let mut started = None;
        for i in 0..15 {
            if let Some(s) = l.failure(&format!("user{i}"), A, t).1
                && s.scope == LockScope::Address
            {
                started = Some(s);
            }
        }
        assert!(started.is_some());
        assert!(matches!(l.check("anyone", A, t), Verdict::Locked { scope: LockScope::Address, .. }));
        assert_eq!(l.check("anyone", B, t), Verdict::Allowed);
    }

    #[test]
    fn disabled_never_locks() {
        let l = Lockout::new(LockoutPolicy { enabled: false, ..policy(1) });
        let t = Instant::now();
        for _ in 0..10 {
            l.failure("bob", A, t);
        }
        assert_eq!(l.check("bob", A, t), Verdict::Allowed);
    }
}
