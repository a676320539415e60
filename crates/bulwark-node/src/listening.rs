//! Where the running node listens, recorded in `<path.data>/listening.json` at every start (not
//! only with `node.portsfile`), so that the tools (`reset-password`, `create-enrollment-token`,
//! `users`, ...) find a node however its address and ports were set (`-E http.port=N`, `http.port:
//! 0`, `network.host`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::NodeError;

/// The file's name under `path.data`.
pub const FILE: &str = "listening.json";

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    /// The bound HTTP address.
    pub http: SocketAddr,
    /// `https` or `http`.
    pub scheme: String,
    /// The published transport address, when the node has a transport.
    pub transport: Option<SocketAddr>,
    /// The node's process id.
    pub pid: u32,
}

/// The file under `path_data`.
pub fn path(path_data: &Path) -> PathBuf {
    path_data.join(FILE)
}

/// Records where the node listens (0600, replaced atomically).
pub fn write(path_data: &Path, listening: &Listening) -> Result<(), NodeError> {
    let bytes = serde_json::to_vec_pretty(listening)
        .map_err(|e| NodeError::Config(format!("cannot encode {FILE}: {e}")))?;
    bulwark_pki::write_private_file(&path(path_data), &bytes)?;
    Ok(())
}

/// What the file says, when it exists and its process is alive.
pub fn read(path_data: &Path) -> Option<Listening> {
    let l: Listening = serde_json::from_slice(&std::fs::read(path(path_data)).ok()?).ok()?;
    let alive = Path::new(&format!("/proc/{}", l.pid)).exists();
    alive.then_some(l)
}
