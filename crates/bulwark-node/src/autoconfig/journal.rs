//! All-or-nothing application. Before touching the home, auto-configuration copies
//! `bulwark.yml` and the keystore aside and writes a journal; on success it deletes them. A
//! failure rolls back from the journal at once; a crash leaves the journal, and the next start
//! rolls back before anything else, so the home is either fully configured or untouched.

use std::path::{Path, PathBuf};

use bulwark_settings::Home;
use serde::{Deserialize, Serialize};

use crate::NodeError;
use crate::files::{read_json, write_json};

#[derive(Debug, Serialize, Deserialize)]
pub struct Journal {
    /// Whether a keystore existed before (if not, rollback deletes the new one).
    pub keystore_existed: bool,
    /// Where a pre-existing `config/certs` was moved.
    pub moved_certs: Option<PathBuf>,
}

fn journal_path(home: &Home) -> PathBuf {
    home.config_dir().join(".autoconfig-journal.json")
}

fn backup(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".autoconfig-backup");
    PathBuf::from(s)
}

/// Temporary directory the new certificates are written to.
pub fn certs_tmp(home: &Home) -> PathBuf {
    home.config_dir().join("certs.autoconfig-tmp")
}

/// Copies `from` to `to` and syncs the copy: the journal that points at it is synced too.
fn copy(from: &Path, to: &Path) -> Result<(), NodeError> {
    std::fs::copy(from, to).map_err(NodeError::io("cannot back up", from))?;
    std::fs::File::open(to).and_then(|f| f.sync_all()).map_err(NodeError::io("cannot sync", to))
}

/// Backs up what will change and writes the journal.
pub fn begin(home: &Home) -> Result<Journal, NodeError> {
    let ks = home.keystore_file();
    let keystore_existed = ks.exists();
    copy(&home.settings_file(), &backup(&home.settings_file()))?;
    if keystore_existed {
        copy(&ks, &backup(&ks))?;
    }
    let journal = Journal { keystore_existed, moved_certs: None };
    write_json(&journal_path(home), &journal)?;
    Ok(journal)
}

/// Records that `config/certs` was moved aside.
pub fn record(home: &Home, journal: &Journal) -> Result<(), NodeError> {
    write_json(&journal_path(home), journal)
}

/// Undoes everything the journal covers; best effort on each step, the first error reported.
pub fn rollback(home: &Home, journal: &Journal) -> Result<(), NodeError> {
    let mut first: Option<NodeError> = None;
    let mut note = |r: Result<(), NodeError>| {
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    };
    let yml = home.settings_file();
    note(restore(&yml));
    let ks = home.keystore_file();
    if journal.keystore_existed {
        note(restore(&ks));
    } else if ks.exists() {
        note(std::fs::remove_file(&ks).map_err(NodeError::io("cannot remove", &ks)));
    }
    for dir in [certs_tmp(home), home.certs_dir()] {
        if dir.exists() {
            note(std::fs::remove_dir_all(&dir).map_err(NodeError::io("cannot remove", &dir)));
        }
    }
    if let Some(moved) = &journal.moved_certs
        && moved.exists()
    {
        note(std::fs::rename(moved, home.certs_dir()).map_err(NodeError::io("cannot restore", moved)));
    }
    // The journal goes only when everything was undone, so a failed step is retried next start.
    if let Some(e) = first {
        return Err(e);
    }
    let jp = journal_path(home);
    std::fs::remove_file(&jp).map_err(NodeError::io("cannot remove", &jp))
}

/// Puts a backed-up file back. When the file still has the backup's bytes (the failed write
/// never replaced it), the backup is simply removed: that also works on a file that cannot be
/// replaced.
fn restore(p: &Path) -> Result<(), NodeError> {
    let b = backup(p);
    if !b.exists() {
        return Ok(());
    }
    let same = matches!((std::fs::read(&b), std::fs::read(p)), (Ok(x), Ok(y)) if x == y);
    if same {
        std::fs::remove_file(&b).map_err(NodeError::io("cannot remove", &b))
    } else {
        std::fs::rename(&b, p).map_err(NodeError::io("cannot restore", p))
    }
}

/// Ends a successful run: the journal and backups go.
pub fn commit(home: &Home) -> Result<(), NodeError> {
    let jp = journal_path(home);
    std::fs::remove_file(&jp).map_err(NodeError::io("cannot remove", &jp))?;
    bulwark_keystore::crash_point("autoconfig.journal-removed");
    remove_backups(home);
    Ok(())
}

/// The backups go only after the journal: a journal without its backups would roll back to
/// nothing. A crash between the two leaves backups that [`recover`] removes.
fn remove_backups(home: &Home) {
    for p in [backup(&home.settings_file()), backup(&home.keystore_file())] {
        let _ = std::fs::remove_file(p);
    }
}

/// At start: if a previous run was interrupted, roll it back. Returns whether it did.
pub fn recover(home: &Home) -> Result<bool, NodeError> {
    match read_json::<Journal>(&journal_path(home))? {
        Some(j) => rollback(home, &j).map(|()| true),
        None => {
            // Backups without a journal: either `begin` died before writing the journal (nothing
            // was changed yet) or `commit` died after removing it (everything was applied).
            remove_backups(home);
            Ok(false)
        }
    }
}
