//! openraft's own storage test suite, run against our log store and state machine.

use bulwark_store::{LOG_FILE, LogStore, NodeId, PageCheck, STATE_FILE, StateMachine, TypeConfig};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{AnyError, StorageError, StorageIOError};
use tempfile::TempDir;

/// Builds stores; `applying`: the log handle is the one the node gives openraft, whose reads take
/// appended entries out of memory (the suite reads ranges again and must get the same entries).
struct RedbBuilder {
    applying: bool,
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for RedbBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let io = |e: &dyn std::fmt::Display| StorageError::from(StorageIOError::write(AnyError::error(e)));
        let dir = tempfile::tempdir().map_err(|e| io(&e))?;
        let mut log = LogStore::open(&dir.path().join(LOG_FILE), PageCheck::Always).map_err(|e| io(&e))?;
        if self.applying {
            log = log.applying();
        }
        let sm = StateMachine::open(&dir.path().join(STATE_FILE), PageCheck::Always).map_err(|e| io(&e))?;
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite_passes() {
    Suite::test_all(RedbBuilder { applying: false }).expect("openraft's storage suite");
    Suite::test_all(RedbBuilder { applying: true }).expect("openraft's storage suite, applying handle");
}
