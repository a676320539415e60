//! The node-to-node transport.
//!
//! Every connection is mutual TLS (rustls, configured by `bulwark-pki`): the server requires a
//! client certificate that chains to the transport CA (and is not on its revocation list), the
//! client verifies the server's certificate and that it names the address dialled. With
//! `verification_mode: full` the server also checks that the client's certificate names the
//! address the connection comes from (clients bind their socket to their own transport address),
//! so a valid certificate issued for another node cannot be used from here.
//!
//! Over the TLS stream runs HTTP/2 (hyper): each call is one `POST /<method>` with a JSON body
//! and a JSON answer, under a deadline. Methods: `raft/append`, `raft/vote`, `raft/snapshot`
//! (openraft's RPCs; snapshot chunks carry their bytes in base64), `raft/ping` (asked before a
//! snapshot is serialized for a node, so none is made for a node that is down), `store/forward` (a client write carried out by the leader), `store/voters` (a change of the voting
//! configuration, made by the leader),
//! `store/read_index` (the leader's read index, for read-your-writes on followers); the node
//! adds its own (`cluster/join`, `cluster/info`, `nodes/stats`).
//!
//! Refused peers (other CA, expired, revoked, wrong name, no certificate) are logged once per
//! address and interval and reported to the node's `on_denied` hook (which audits
//! `connection_denied`).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

mod client;
mod raft;
mod server;

pub use client::{CallError, Client};
pub use raft::{RaftClient, StoreService};
pub use server::{DeniedHook, Failure, Handler, ServerTls, serve};
// Re-exported so a Handler can be written without depending on `bytes` by name.
pub use bytes::Bytes;

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The ALPN protocol of the transport.
pub const ALPN: &[u8] = b"h2";
