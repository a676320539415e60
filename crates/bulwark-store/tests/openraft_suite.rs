//! openraft's own storage test suite, run against our log store and state machine.

use bulwark_store::{LOG_FILE, LogStore, NodeId, PageCheck, STATE_FILE, StateMachine, TypeConfig};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{AnyError, StorageError, StorageIOError};
use tempfile::TempDir;

struct RedbBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for RedbBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let io = |e: &dyn std::fmt::Display| StorageError::from(StorageIOError::write(AnyError::error(e)));
        let dir = tempfile::tempdir().map_err(|e| io(&e))?;
        let log = LogStore::open(&dir.path().join(LOG_FILE), PageCheck::Always).map_err(|e| io(&e))?;
        let sm = StateMachine::open(&dir.path().join(STATE_FILE), PageCheck::Always).map_err(|e| io(&e))?;
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite_passes() {
    Suite::test_all(RedbBuilder).expect("openraft's storage suite");
}
