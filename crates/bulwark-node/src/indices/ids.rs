//! Document ids for index requests without one: 20 URL-safe base64 characters, like
//! Elasticsearch's — a millisecond timestamp, a per-process random part and a counter, so ids
//! are unique across restarts and nodes without coordination. A node whose random generator
//! fails does not start (and an index is not created): no clock-based stand-in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use bulwark_random::RandomError;

/// Makes document ids.
pub(crate) struct IdGenerator {
    random: [u8; 6],
    counter: AtomicU64,
}

impl IdGenerator {
    pub(crate) fn new() -> Result<IdGenerator, RandomError> {
        Ok(IdGenerator { random: bulwark_random::bytes()?, counter: AtomicU64::new(0) })
    }

    /// A new id.
    pub(crate) fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let mut bytes = [0u8; 15];
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        bytes[6..12].copy_from_slice(&self.random);
        bytes[12..].copy_from_slice(&n.to_be_bytes()[5..]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// A new index UUID: 22 URL-safe base64 characters of randomness, as Elasticsearch's.
pub(crate) fn new_uuid() -> Result<String, RandomError> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bulwark_random::bytes::<16>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_20_characters() {
        let g = IdGenerator::new().unwrap();
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| g.next()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|i| i.len() == 20));
        assert_eq!(new_uuid().unwrap().len(), 22);
        assert!(bulwark_random::testing::failing(IdGenerator::new).is_err());
        assert!(bulwark_random::testing::failing(new_uuid).is_err());
    }
}
