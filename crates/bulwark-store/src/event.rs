//! Notifications of applied changes, so that derived state (a search index, caches) can follow.

use crate::command::EntryKind;

/// Something the state machine changed. An event names *what* changed; read the store for the
/// current value (a missing value means it was deleted). Events are sent after the change is
/// durable, in apply order.
///
/// A receiver that lags behind receives `RecvError::Lagged` from the broadcast channel and must
/// rebuild from the store, as it must after [`AppliedEvent::Reset`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppliedEvent {
    /// A security store entry was put or deleted.
    Entry {
        /// The entry's kind.
        kind: EntryKind,
        /// The entry's id.
        id: String,
    },
    /// An index was created, had its metadata replaced, or was deleted with its documents.
    Index {
        /// The index name.
        name: String,
    },
    /// A document was indexed or deleted.
    Document {
        /// The index name.
        index: String,
        /// The document id.
        id: String,
    },
    /// A snapshot from the leader replaced the whole state: rebuild everything derived from it.
    Reset,
    /// Every change of the log entries up to and including `log_index` has been applied and its
    /// event sent (one after each applied batch, and after a [`AppliedEvent::Reset`]). Derived
    /// state that records how far it follows the store uses it as its position.
    Through {
        /// The index of the last applied log entry.
        log_index: u64,
    },
}
