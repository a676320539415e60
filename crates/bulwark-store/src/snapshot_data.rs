//! The snapshot data openraft reads and writes: a consistent view of the state machine file,
//! serialized only when it is sent to another node.
//!
//! The state machine's file is durable after every apply, so it *is* a snapshot of the state at
//! its last applied log id: building a snapshot keeps no second copy of the state on disk, and
//! costs nothing (see `state_machine.rs`). A snapshot that is sent holds a redb read transaction
//! (a fixed view, whatever is applied meanwhile) and is serialized with
//! [`crate::snapshot::export`] when it is first read; [`SnapshotData::prepare`] does that off the
//! async executor, and the network calls it before streaming the chunks. A snapshot being
//! received is a plain buffer.

use std::io::{self, Cursor, SeekFrom};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use redb::ReadTransaction;
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

use crate::db;
use crate::error::StoreError;
use crate::snapshot;

/// Snapshot data: a view of the state machine to serialize, or serialized bytes.
pub struct SnapshotData {
    state: State,
}

enum State {
    /// A consistent view of the state machine, serialized when first read.
    View(Box<View>),
    /// Serialized bytes (exported, or received from the leader).
    Bytes(Cursor<Vec<u8>>),
}

struct View {
    txn: ReadTransaction,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for SnapshotData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            State::View(v) => f.debug_struct("SnapshotData").field("view_of", &v.path).finish(),
            State::Bytes(b) => f.debug_struct("SnapshotData").field("bytes", &b.get_ref().len()).finish(),
        }
    }
}

impl SnapshotData {
    /// The state as `txn` sees it, serialized on first use.
    pub(crate) fn view(txn: ReadTransaction, path: Arc<PathBuf>) -> SnapshotData {
        SnapshotData { state: State::View(Box::new(View { txn, path })) }
    }

    /// An empty buffer to receive a snapshot into.
    pub(crate) fn empty() -> SnapshotData {
        SnapshotData { state: State::Bytes(Cursor::new(Vec::new())) }
    }

    /// Serializes a view on the blocking pool, so that reading it never blocks the executor.
    pub async fn prepare(&mut self) -> Result<(), StoreError> {
        let State::View(_) = &self.state else { return Ok(()) };
        let State::View(view) = std::mem::replace(&mut self.state, State::Bytes(Cursor::new(Vec::new())))
        else {
            return Ok(());
        };
        let (view, result) = db::blocking("serializing a snapshot", move || {
            let result = snapshot::export(&view.txn, &view.path);
            Ok((view, result))
        })
        .await?;
        match result {
            Ok(bytes) => {
                // The view's read transaction ends here.
                drop(view);
                self.state = State::Bytes(Cursor::new(bytes));
                Ok(())
            }
            Err(e) => {
                self.state = State::View(view);
                Err(e)
            }
        }
    }

    /// The serialized bytes (serializing a view here, on the calling thread).
    pub(crate) fn into_bytes(mut self) -> io::Result<Vec<u8>> {
        self.cursor()?;
        match self.state {
            State::Bytes(cursor) => Ok(cursor.into_inner()),
            State::View(_) => Err(io::Error::other("the snapshot was not serialized")),
        }
    }

    /// The bytes to read or write, serializing a view first (blocking the calling thread: the
    /// network calls [`SnapshotData::prepare`] before it reads, so this happens only if some
    /// other reader did not).
    fn cursor(&mut self) -> io::Result<&mut Cursor<Vec<u8>>> {
        if let State::View(view) = &self.state {
            let bytes = snapshot::export(&view.txn, &view.path).map_err(io::Error::other)?;
            self.state = State::Bytes(Cursor::new(bytes));
        }
        match &mut self.state {
            State::Bytes(cursor) => Ok(cursor),
            State::View(_) => Err(io::Error::other("the snapshot was not serialized")),
        }
    }
}

impl AsyncRead for SnapshotData {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().cursor() {
            Ok(cursor) => Pin::new(cursor).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for SnapshotData {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().cursor() {
            Ok(cursor) => Pin::new(cursor).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncSeek for SnapshotData {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        Pin::new(self.get_mut().cursor()?).start_seek(position)
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        match self.get_mut().cursor() {
            Ok(cursor) => Pin::new(cursor).poll_complete(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
