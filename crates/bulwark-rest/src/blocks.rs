//! Index blocks (`index.blocks.*`): what each one stops, and Elasticsearch's
//! `cluster_block_exception` (`index [x] blocked by: [FORBIDDEN/8/index write (api)];`).
//!
//! The blocks, their ids, texts and statuses are Elasticsearch's (`IndexMetadata`).

use crate::ErrorType;
use axum::http::StatusCode;

use crate::ApiError;
use crate::indices::IndexMeta;
use crate::resolve::Catalog;

/// What an operation does to an index, as Elasticsearch's `ClusterBlockLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Searches, counts, gets.
    Read,
    /// Document writes (index, create, update, delete).
    Write,
    /// Reading metadata: get index, mapping, settings, aliases.
    MetadataRead,
    /// Changing metadata: mapping, settings, aliases, open/close, deleting the index.
    MetadataWrite,
}

struct Block {
    /// The setting without `index.blocks.`.
    setting: &'static str,
    id: u8,
    description: &'static str,
    status: StatusCode,
    levels: &'static [Level],
    /// Whether deleting the index is still allowed (to free resources).
    allows_delete: bool,
}

const BLOCKS: &[Block] = &[
    Block {
        setting: "read_only",
        id: 5,
        description: "index read-only (api)",
        status: StatusCode::FORBIDDEN,
        levels: &[Level::Write, Level::MetadataWrite],
        allows_delete: false,
    },
    Block {
        setting: "read",
        id: 7,
        description: "index read (api)",
        status: StatusCode::FORBIDDEN,
        levels: &[Level::Read],
        allows_delete: false,
    },
    Block {
        setting: "write",
        id: 8,
        description: "index write (api)",
        status: StatusCode::FORBIDDEN,
        levels: &[Level::Write],
        allows_delete: false,
    },
    Block {
        setting: "metadata",
        id: 9,
        description: "index metadata (api)",
        status: StatusCode::FORBIDDEN,
        levels: &[Level::MetadataRead, Level::MetadataWrite],
        allows_delete: false,
    },
    Block {
        setting: "read_only_allow_delete",
        id: 12,
        description: "disk usage exceeded flood-stage watermark, index has read-only-allow-delete block",
        status: StatusCode::TOO_MANY_REQUESTS,
        levels: &[Level::Write, Level::MetadataWrite],
        allows_delete: true,
    },
];

/// The block names `PUT /{index}/_block/{block}` and `index.blocks.*` know.
pub const NAMES: &[&str] = &["read_only", "read", "write", "metadata", "read_only_allow_delete"];

fn is_set(meta: &IndexMeta, block: &Block) -> bool {
    meta.setting(&format!("blocks.{}", block.setting)).is_some_and(|v| v == "true")
}

/// Elasticsearch's `RestStatus` name.
fn status_name(s: StatusCode) -> &'static str {
    if s == StatusCode::TOO_MANY_REQUESTS { "TOO_MANY_REQUESTS" } else { "FORBIDDEN" }
}

fn refuse(blocked: &[(&str, Vec<&Block>)]) -> Result<(), ApiError> {
    if blocked.is_empty() {
        return Ok(());
    }
    let mut reason = String::new();
    let mut status = StatusCode::FORBIDDEN;
    for (index, blocks) in blocked {
        let texts: Vec<String> =
            blocks.iter().map(|b| format!("{}/{}/{}", status_name(b.status), b.id, b.description)).collect();
        reason.push_str(&format!("index [{index}] blocked by: [{}];", texts.join(", ")));
        status = blocks.first().map_or(status, |b| b.status);
    }
    let kind = if status == StatusCode::TOO_MANY_REQUESTS {
        ErrorType::ClusterBlockTooManyRequests
    } else {
        ErrorType::ClusterBlockForbidden
    };
    Err(ApiError::new(kind, reason))
}

/// Refuses an operation at `level` on any of `indices` a block stops.
pub fn check(catalog: &Catalog, indices: &[String], level: Level) -> Result<(), ApiError> {
    let mut blocked = Vec::new();
    for name in indices {
        let Some(meta) = catalog.index(name) else { continue };
        let hits: Vec<&Block> =
            BLOCKS.iter().filter(|b| b.levels.contains(&level) && is_set(meta, b)).collect();
        if !hits.is_empty() {
            blocked.push((name.as_str(), hits));
        }
    }
    refuse(&blocked)
}

/// Refuses deleting any of `indices` a metadata block protects (`read_only_allow_delete`
/// allows it, to free resources).
pub fn check_delete_index(catalog: &Catalog, indices: &[String]) -> Result<(), ApiError> {
    let mut blocked = Vec::new();
    for name in indices {
        let Some(meta) = catalog.index(name) else { continue };
        let hits: Vec<&Block> = BLOCKS
            .iter()
            .filter(|b| b.levels.contains(&Level::MetadataWrite) && !b.allows_delete && is_set(meta, b))
            .collect();
        if !hits.is_empty() {
            blocked.push((name.as_str(), hits));
        }
    }
    refuse(&blocked)
}
