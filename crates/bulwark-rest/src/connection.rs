//! What the REST layer tells the listener about a connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Put in every request's extensions by the listener and set by the authentication layer once a
/// request on that connection authenticates: a full listener closes the connections that never
/// authenticated first.
#[derive(Debug, Clone, Default)]
pub struct ConnectionAuthenticated(Arc<AtomicBool>);

impl ConnectionAuthenticated {
    /// Records that a request on this connection authenticated.
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a request on this connection has authenticated.
    pub fn is_marked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Marks the request's connection as authenticated, when the listener tracks it.
pub(crate) fn mark_authenticated(req: &axum::extract::Request) {
    if let Some(c) = req.extensions().get::<ConnectionAuthenticated>() {
        c.mark();
    }
}
