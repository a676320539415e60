//! Indexing pressure: a bound on the bytes of write requests being carried out at once.
//!
//! A document is parsed, planned, written to the store and indexed, and each step holds its own
//! form of it for a while: one write of N bytes costs a few times N of memory until it is done.
//! Each write request (a document, an update, a `_bulk` body) reserves its body's size here before
//! that work starts and gives it back when it ends. A reservation that would take the total past
//! `indexing_pressure.memory.limit` is refused with Elasticsearch's 429
//! `es_rejected_execution_exception`, so concurrent large writes cannot add up to more memory than
//! the machine has. As in Elasticsearch, a single request larger than the limit is refused too.

use crate::ErrorType;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ApiError;

/// The bytes of write requests in flight, against a limit.
#[derive(Debug)]
pub struct IndexingPressure {
    limit: u64,
    in_flight: AtomicU64,
}

/// Bytes reserved by one request; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    pressure: Arc<IndexingPressure>,
    bytes: u64,
}

impl IndexingPressure {
    /// A bound of `limit` bytes.
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(IndexingPressure { limit, in_flight: AtomicU64::new(0) })
    }

    /// Bytes reserved now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Reserves `bytes` for one write request, or refuses it when the limit would be passed.
    pub fn reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation, ApiError> {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                now.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .map(|_| Reservation { pressure: Arc::clone(self), bytes })
            .map_err(|now| {
                // Elasticsearch's wording, with its coordinating-node counters.
                ApiError::new(ErrorType::RejectedExecution, format!(
                        "rejected execution of coordinating operation [coordinating_and_primary_bytes={now}, replica_bytes=0, all_bytes={now}, coordinating_operation_bytes={bytes}, max_coordinating_and_primary_bytes={}]",
                        self.limit
                    ),
                )
            })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.pressure.in_flight.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn reservations_add_up_to_the_limit_and_are_given_back() {
        let p = IndexingPressure::new(100);
        let a = p.reserve(60).unwrap();
        let refused = p.reserve(41).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        let b = p.reserve(40).unwrap();
        assert_eq!(p.in_flight(), 100);
        drop((a, b));
        assert_eq!(p.in_flight(), 0);
        assert!(p.reserve(101).is_err(), "one request over the limit is refused");
        assert!(p.reserve(100).is_ok());
    }
}
