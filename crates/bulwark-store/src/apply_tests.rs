//! Every command's effect and answer, applied straight to the state tables (no Raft).

use std::path::PathBuf;
use std::sync::Arc;

use redb::ReadableDatabase;
use serde_json::json;

use super::StateTables;
use crate::command::{Command, CommandResponse, DocOp, DocOutcome, DocResult, EntryKind};
use crate::document::DocVersion;
use crate::event::AppliedEvent;
use crate::reader::StateReader;

struct Sm {
    _dir: tempfile::TempDir,
    reader: StateReader,
}

impl Sm {
    fn new() -> Sm {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let db = crate::db::Db::open(&path, crate::PageCheck::Always, 1 << 20).unwrap();
        Sm {
            _dir: dir,
            reader: StateReader {
                db: Arc::new(db),
                path: Arc::new(path),
                cache: Default::default(),
                codecs: Default::default(),
            },
        }
    }

    fn run_with_events(&self, cmd: Command) -> (CommandResponse, Vec<AppliedEvent>) {
        let path: PathBuf = self.reader.path.to_path_buf();
        let txn = self.reader.db.begin_write().unwrap();
        let mut events = Vec::new();
        let response = {
            let mut tables = StateTables::open(&txn, &path, &self.reader.codecs).unwrap();
            tables.apply(&cmd, &mut events).unwrap()
        };
        txn.commit().unwrap();
        (response, events)
    }

    fn run(&self, cmd: Command) -> CommandResponse {
        self.run_with_events(cmd).0
    }

    fn doc(&self, cmd: Command) -> DocResult {
        match self.run(cmd) {
            CommandResponse::Doc(d) => d,
            other => panic!("expected a document result, got {other:?}"),
        }
    }
}

fn put(kind: EntryKind, id: &str, value: serde_json::Value) -> Command {
    Command::PutEntry { kind, id: id.into(), value }
}

fn create_index(name: &str) -> Command {
    Command::CreateIndex { name: name.into(), metadata: json!({"settings": {"number_of_shards": 1}}) }
}

fn index(idx: &str, id: &str, source: serde_json::Value) -> Command {
    Command::IndexDocument {
        index: idx.into(),
        id: id.into(),
        source: source.into(),
        op: DocOp::Index,
        if_seq_no: None,
        if_primary_term: None,
    }
}

fn create(idx: &str, id: &str) -> Command {
    Command::IndexDocument {
        index: idx.into(),
        id: id.into(),
        source: json!({}).into(),
        op: DocOp::Create,
        if_seq_no: None,
        if_primary_term: None,
    }
}

fn index_if(idx: &str, id: &str, seq: u64, term: u64) -> Command {
    Command::IndexDocument {
        index: idx.into(),
        id: id.into(),
        source: json!({"cas": true}).into(),
        op: DocOp::Index,
        if_seq_no: Some(seq),
        if_primary_term: Some(term),
    }
}

fn delete(idx: &str, id: &str) -> Command {
    Command::DeleteDocument { index: idx.into(), id: id.into(), if_seq_no: None, if_primary_term: None }
}

fn result(result: DocOutcome, version: u64, seq_no: u64) -> DocResult {
    DocResult { result, version, seq_no, primary_term: 1 }
}

#[test]
fn put_entry_creates_then_replaces() {
    let sm = Sm::new();
    assert_eq!(
        sm.run(put(EntryKind::User, "alice", json!({"v": 1}))),
        CommandResponse::Entry { created: true }
    );
    assert_eq!(
        sm.run(put(EntryKind::User, "alice", json!({"v": 2}))),
        CommandResponse::Entry { created: false }
    );
    assert_eq!(sm.reader.get_entry(EntryKind::User, "alice").unwrap(), Some(json!({"v": 2})));
}

#[test]
fn entry_kinds_are_separate_key_spaces() {
    let sm = Sm::new();
    for (i, kind) in EntryKind::ALL.into_iter().enumerate() {
        sm.run(put(kind, "same-id", json!(i)));
    }
    for (i, kind) in EntryKind::ALL.into_iter().enumerate() {
        assert_eq!(sm.reader.entries(kind).unwrap(), vec![("same-id".to_string(), json!(i))]);
    }
}

#[test]
fn entries_are_listed_by_id() {
    let sm = Sm::new();
    for id in ["b", "a", "c"] {
        sm.run(put(EntryKind::Role, id, json!(id)));
    }
    sm.run(put(EntryKind::RoleMapping, "a", json!("other kind")));
    let ids: Vec<String> =
        sm.reader.entries(EntryKind::Role).unwrap().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[test]
fn delete_entry_removes_or_answers_not_found() {
    let sm = Sm::new();
    sm.run(put(EntryKind::ApiKey, "k", json!({})));
    let (r, events) = sm.run_with_events(Command::DeleteEntry { kind: EntryKind::ApiKey, id: "k".into() });
    assert_eq!(r, CommandResponse::Ok);
    assert_eq!(events, vec![AppliedEvent::Entry { kind: EntryKind::ApiKey, id: "k".into() }]);
    assert_eq!(sm.reader.get_entry(EntryKind::ApiKey, "k").unwrap(), None);
    let (r, events) = sm.run_with_events(Command::DeleteEntry { kind: EntryKind::ApiKey, id: "k".into() });
    assert_eq!(r, CommandResponse::NotFound);
    assert!(events.is_empty());
}

#[test]
fn create_index_twice_answers_already_exists() {
    let sm = Sm::new();
    assert_eq!(sm.run(create_index("logs")), CommandResponse::Index { created: true });
    assert_eq!(
        sm.run(Command::CreateIndex { name: "logs".into(), metadata: json!({"x": 1}) }),
        CommandResponse::AlreadyExists
    );
    assert_eq!(sm.reader.index("logs").unwrap(), Some(json!({"settings": {"number_of_shards": 1}})));
}

#[test]
fn update_index_metadata_replaces_or_answers_not_found() {
    let sm = Sm::new();
    let update = |name: &str| Command::UpdateIndexMetadata {
        name: name.into(),
        metadata: json!({"mappings": {"a": 1}}),
    };
    assert_eq!(sm.run(update("logs")), CommandResponse::NotFound);
    sm.run(create_index("logs"));
    assert_eq!(sm.run(update("logs")), CommandResponse::Ok);
    assert_eq!(sm.reader.index("logs").unwrap(), Some(json!({"mappings": {"a": 1}})));
}

#[test]
fn documents_get_versions_and_per_index_sequence_numbers() {
    let sm = Sm::new();
    sm.run(create_index("a"));
    sm.run(create_index("b"));
    assert_eq!(sm.doc(index("a", "1", json!({"n": 1}))), result(DocOutcome::Created, 1, 0));
    assert_eq!(sm.doc(index("a", "1", json!({"n": 2}))), result(DocOutcome::Updated, 2, 1));
    assert_eq!(sm.doc(index("a", "2", json!({}))), result(DocOutcome::Created, 1, 2));
    // Another index has its own sequence.
    assert_eq!(sm.doc(index("b", "1", json!({}))), result(DocOutcome::Created, 1, 0));
    let stored = sm.reader.document("a", "1").unwrap().unwrap();
    assert_eq!(stored.source, json!({"n": 2}));
    assert_eq!(stored.doc_version(), DocVersion { version: 2, seq_no: 1, primary_term: 1 });
}

#[test]
fn writing_to_a_missing_index_answers_not_found() {
    let sm = Sm::new();
    assert_eq!(sm.run(index("nope", "1", json!({}))), CommandResponse::NotFound);
    assert_eq!(sm.run(delete("nope", "1")), CommandResponse::NotFound);
    assert_eq!(sm.reader.document("nope", "1").unwrap(), None);
}

#[test]
fn create_on_an_existing_document_is_a_version_conflict() {
    let sm = Sm::new();
    sm.run(create_index("a"));
    assert_eq!(sm.doc(create("a", "1")), result(DocOutcome::Created, 1, 0));
    let (r, events) = sm.run_with_events(create("a", "1"));
    assert_eq!(
        r,
        CommandResponse::VersionConflict {
            current: Some(DocVersion { version: 1, seq_no: 0, primary_term: 1 })
        }
    );
    assert!(events.is_empty());
    // A refused write takes no sequence number.
    assert_eq!(sm.doc(index("a", "2", json!({}))).seq_no, 1);
}

#[test]
fn if_seq_no_and_primary_term_must_match_the_current_document() {
    let sm = Sm::new();
    sm.run(create_index("a"));
    sm.run(index("a", "1", json!({}))); // seq 0
    sm.run(index("a", "1", json!({}))); // seq 1, version 2
    let current = Some(DocVersion { version: 2, seq_no: 1, primary_term: 1 });
    assert_eq!(sm.run(index_if("a", "1", 0, 1)), CommandResponse::VersionConflict { current });
    assert_eq!(sm.run(index_if("a", "1", 1, 2)), CommandResponse::VersionConflict { current });
    assert_eq!(sm.doc(index_if("a", "1", 1, 1)), result(DocOutcome::Updated, 3, 2));
    // On a missing document the condition cannot hold.
    assert_eq!(sm.run(index_if("a", "missing", 0, 1)), CommandResponse::VersionConflict { current: None });
    let cas_delete = Command::DeleteDocument {
        index: "a".into(),
        id: "1".into(),
        if_seq_no: Some(1),
        if_primary_term: Some(1),
    };
    let current = Some(DocVersion { version: 3, seq_no: 2, primary_term: 1 });
    assert_eq!(sm.run(cas_delete), CommandResponse::VersionConflict { current });
    let cas_delete = Command::DeleteDocument {
        index: "a".into(),
        id: "1".into(),
        if_seq_no: Some(2),
        if_primary_term: Some(1),
    };
    assert_eq!(sm.doc(cas_delete), result(DocOutcome::Deleted, 4, 3));
}

#[test]
fn delete_answers_deleted_then_not_found_and_versions_continue() {
    let sm = Sm::new();
    sm.run(create_index("a"));
    sm.run(index("a", "1", json!({}))); // v1 seq0
    let (r, events) = sm.run_with_events(delete("a", "1"));
    assert_eq!(r, CommandResponse::Doc(result(DocOutcome::Deleted, 2, 1)));
    assert_eq!(events, vec![AppliedEvent::Document { index: "a".into(), id: "1".into() }]);
    assert_eq!(sm.reader.document("a", "1").unwrap(), None);
    // A delete that finds nothing still takes a sequence number, as in Elasticsearch.
    assert_eq!(sm.doc(delete("a", "1")), result(DocOutcome::NotFound, 3, 2));
    assert_eq!(sm.doc(delete("a", "never")), result(DocOutcome::NotFound, 1, 3));
    // Writing a deleted id again continues its version.
    assert_eq!(sm.doc(index("a", "1", json!({}))), result(DocOutcome::Created, 4, 4));
}

#[test]
fn delete_index_removes_its_documents_and_restarts_its_sequence() {
    let sm = Sm::new();
    sm.run(create_index("a"));
    sm.run(create_index("ab"));
    for id in ["1", "2", "3"] {
        sm.run(index("a", id, json!({})));
        sm.run(index("ab", id, json!({})));
    }
    sm.run(delete("a", "3"));
    let (r, events) = sm.run_with_events(Command::DeleteIndex { name: "a".into() });
    assert_eq!(r, CommandResponse::Ok);
    assert_eq!(events, vec![AppliedEvent::Index { name: "a".into() }]);
    assert_eq!(sm.reader.index("a").unwrap(), None);
    assert!(sm.reader.documents("a").unwrap().is_empty());
    // A neighbour whose name starts the same is untouched.
    assert_eq!(sm.reader.documents("ab").unwrap().len(), 3);
    assert_eq!(sm.run(Command::DeleteIndex { name: "a".into() }), CommandResponse::NotFound);
    // Re-created, the index starts afresh: versions and sequence numbers from the start.
    sm.run(create_index("a"));
    assert_eq!(sm.doc(index("a", "3", json!({}))), result(DocOutcome::Created, 1, 0));
}

#[test]
fn batch_applies_in_order_with_one_response_each() {
    let sm = Sm::new();
    let batch = Command::Batch(vec![
        create_index("a"),
        index("a", "1", json!({"n": 1})),
        create("a", "1"),
        index("a", "1", json!({"n": 2})),
        delete("a", "2"),
        put(EntryKind::ServiceToken, "t", json!({})),
        create_index("a"),
    ]);
    let r = sm.run(batch);
    assert_eq!(
        r,
        CommandResponse::Batch(vec![
            CommandResponse::Index { created: true },
            CommandResponse::Doc(result(DocOutcome::Created, 1, 0)),
            CommandResponse::VersionConflict {
                current: Some(DocVersion { version: 1, seq_no: 0, primary_term: 1 })
            },
            CommandResponse::Doc(result(DocOutcome::Updated, 2, 1)),
            CommandResponse::Doc(result(DocOutcome::NotFound, 1, 2)),
            CommandResponse::Entry { created: true },
            CommandResponse::AlreadyExists,
        ])
    );
    assert_eq!(sm.reader.document("a", "1").unwrap().unwrap().source, json!({"n": 2}));
}

#[test]
fn commands_round_trip_through_json() {
    let cmd = Command::Batch(vec![
        put(EntryKind::ApplicationPrivilege, "app:read", json!({"actions": ["a"]})),
        index_if("i", "1", 3, 1),
        Command::DeleteIndex { name: "i".into() },
    ]);
    let text = serde_json::to_string(&cmd).unwrap();
    assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), cmd);
    let resp = CommandResponse::VersionConflict { current: None };
    let text = serde_json::to_string(&resp).unwrap();
    assert_eq!(serde_json::from_str::<CommandResponse>(&text).unwrap(), resp);
}

fn log_line(i: usize) -> serde_json::Value {
    json!({"@timestamp": format!("2026-01-01T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
        "user": format!("user{}", i * 7919 % 1000), "message": format!("GET /shop/item/{i} 200")})
}

impl Sm {
    /// How many of the records of `index` are compressed, and how many there are.
    fn compressed_records(&self, index: &str) -> (usize, usize) {
        let txn = self.reader.db.begin_read().unwrap();
        let docs = txn.open_table(crate::tables::DOCS).unwrap();
        let records: Vec<bool> = redb::ReadableTable::range::<(&str, &str)>(&docs, (index, "")..)
            .unwrap()
            .map(|r| r.unwrap())
            .take_while(|(k, _)| k.value().0 == index)
            .map(|(_, v)| crate::document::is_compressed(v.value()))
            .collect();
        (records.iter().filter(|c| **c).count(), records.len())
    }

    fn dictionary(&self, index: &str) -> Option<Vec<u8>> {
        let txn = self.reader.db.begin_read().unwrap();
        let dicts = txn.open_table(crate::tables::SOURCE_DICTS).unwrap();
        redb::ReadableTable::get(&dicts, index).unwrap().map(|v| v.value().to_vec())
    }
}

#[test]
fn sources_are_compressed_once_an_index_holds_enough_of_them() {
    let sm = Sm::new();
    sm.run(create_index("logs"));
    for i in 0..20 {
        sm.run(index("logs", &format!("{i:04}"), log_line(i)));
    }
    assert_eq!(sm.compressed_records("logs"), (0, 20), "too few bytes for a dictionary yet");
    // What they hold is counted as they are written, not read again at every write.
    let sources: usize = (0..20).map(|i| serde_json::to_vec(&log_line(i)).unwrap().len()).sum();
    let counted = sm.reader.codecs.plain_bytes("logs").unwrap();
    assert!((sources..sources + 20 * 8).contains(&counted), "{counted} counted for {sources}");
    assert!(counted < crate::document::SAMPLE_BYTES);
    assert_eq!(sm.dictionary("logs"), None);
    // One batch crosses the threshold: the records after it are compressed.
    let batch = (20..1_500).map(|i| index("logs", &format!("{i:04}"), log_line(i))).collect();
    sm.run(Command::Batch(batch));
    assert!(sm.dictionary("logs").is_some());
    assert_eq!(sm.reader.codecs.plain_bytes("logs"), None);
    let (compressed, all) = sm.compressed_records("logs");
    assert_eq!(all, 1_500);
    assert!(compressed > 500, "{compressed} of {all} compressed");
    // Every document reads back as written, one at a time and all together; overwrites,
    // conditional writes and deletes see the versions of compressed records.
    for i in (0..1_500).step_by(37) {
        let doc = sm.reader.document("logs", &format!("{i:04}")).unwrap().unwrap();
        assert_eq!((doc.source, doc.version, doc.seq_no), (log_line(i), 1, i as u64));
    }
    let all_docs = sm.reader.documents("logs").unwrap();
    assert!(
        all_docs.iter().enumerate().all(|(i, (id, d))| *id == format!("{i:04}") && d.source == log_line(i))
    );
    assert_eq!(sm.doc(index("logs", "0500", json!({"x": 1}))), result(DocOutcome::Updated, 2, 1_500));
    assert!(matches!(sm.run(index_if("logs", "0501", 1, 1)), CommandResponse::VersionConflict { .. }));
    assert_eq!(sm.doc(index_if("logs", "0501", 501, 1)).version, 2);
    assert_eq!(sm.doc(delete("logs", "0502")), result(DocOutcome::Deleted, 2, 1_502));
    assert_eq!(sm.reader.document("logs", "0500").unwrap().unwrap().source, json!({"x": 1}));
    // The dictionary goes with the index; a new index of the same name makes its own.
    sm.run(Command::DeleteIndex { name: "logs".into() });
    assert_eq!(sm.dictionary("logs"), None);
    sm.run(create_index("logs"));
    let other = |i: usize| json!({"other": format!("shape {i}"), "n": i});
    sm.run(Command::Batch((0..3_000).map(|i| index("logs", &format!("{i:04}"), other(i))).collect()));
    assert!(sm.dictionary("logs").is_some());
    assert!(sm.compressed_records("logs").0 > 500);
    assert_eq!(sm.reader.document("logs", "2999").unwrap().unwrap().source, other(2_999));
}

#[test]
fn snapshots_carry_documents_and_the_receiver_compresses_them_too() {
    let sm = Sm::new();
    sm.run(create_index("logs"));
    sm.run(create_index("few"));
    sm.run(Command::Batch((0..1_500).map(|i| index("logs", &format!("{i:04}"), log_line(i))).collect()));
    sm.run(index("few", "1", json!({"a": 1})));
    let bytes = crate::snapshot::export(&sm.reader.db.begin_read().unwrap(), &sm.reader.path).unwrap();
    let other = Sm::new();
    other.run(create_index("gone"));
    let txn = other.reader.db.begin_write().unwrap();
    crate::snapshot::import(&txn, &other.reader.path, "s1", &bytes).unwrap();
    txn.commit().unwrap();
    assert_eq!(other.reader.documents("logs").unwrap(), sm.reader.documents("logs").unwrap());
    assert_eq!(other.reader.document("few", "1").unwrap().unwrap().source, json!({"a": 1}));
    let (compressed, all) = other.compressed_records("logs");
    assert_eq!((compressed, all), (1_500, 1_500), "the receiver's dictionary is made before its documents");
    assert_eq!(other.dictionary("few"), None);
    assert_eq!(other.reader.index("gone").unwrap(), None);
}

#[test]
fn codecs_are_kept_between_transactions_only_for_their_own_dictionary() {
    use super::CodecCache;
    let cache = CodecCache::default();
    let codec = cache.take("i", b"one");
    let made = codec.dictionary().as_ptr();
    cache.give_back("i".into(), codec);
    let codec = cache.take("i", b"one");
    assert_eq!(codec.dictionary().as_ptr(), made, "the same codec, kept");
    cache.give_back("i".into(), codec);
    let other = cache.take("i", b"two");
    assert_eq!(other.dictionary(), b"two");
    assert_ne!(other.dictionary().as_ptr(), made, "another dictionary: a new codec");
    for n in 0..40 {
        cache.give_back(format!("i{n}"), cache.take(&format!("i{n}"), b"d"));
    }
    assert!(cache.kept().codecs.len() <= CodecCache::KEPT);
}
