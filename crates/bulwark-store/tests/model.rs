//! Property test: random sequences of document writes and deletes, applied through
//! `Store::write` (single commands and batches), give the same responses, documents and versions
//! as a plain in-memory model of Elasticsearch's versioning rules.

use std::cell::Cell;
use std::collections::BTreeMap;

use bulwark_store::{Command, CommandResponse, DocOp, DocOutcome, DocResult, DocVersion, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

/// How an `if_seq_no` condition is chosen relative to the model's current document.
#[derive(Debug, Clone, Copy)]
enum Guess {
    /// The current seq_no and primary term (0 and 1 if there is no document).
    Current,
    /// A seq_no off by this much.
    Off(u64),
    /// The right seq_no with primary term 2.
    WrongTerm,
}

#[derive(Debug, Clone)]
enum Op {
    Index(u8, u8),
    Create(u8, u8),
    Delete(u8),
    IndexIf(u8, Guess),
    DeleteIf(u8, Guess),
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u8..5;
    let guess = prop_oneof![3 => Just(Guess::Current), 1 => (1u64..3).prop_map(Guess::Off), 1 => Just(Guess::WrongTerm)];
    prop_oneof![
        4 => (id.clone(), any::<u8>()).prop_map(|(i, v)| Op::Index(i, v)),
        2 => (id.clone(), any::<u8>()).prop_map(|(i, v)| Op::Create(i, v)),
        2 => id.clone().prop_map(Op::Delete),
        2 => (id.clone(), guess.clone()).prop_map(|(i, g)| Op::IndexIf(i, g)),
        1 => (id, guess).prop_map(|(i, g)| Op::DeleteIf(i, g)),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct ModelDoc {
    source: Value,
    version: u64,
    seq_no: u64,
}

/// The reference: what Elasticsearch does to one index, written as plainly as possible.
#[derive(Debug, Clone, Default)]
struct Model {
    docs: BTreeMap<String, ModelDoc>,
    deleted_versions: BTreeMap<String, u64>,
    next_seq_no: u64,
}

impl Model {
    fn condition(&self, id: &str, guess: Guess) -> (u64, u64) {
        let seq = self.docs.get(id).map_or(0, |d| d.seq_no);
        match guess {
            Guess::Current => (seq, 1),
            Guess::Off(k) => (seq + k, 1),
            Guess::WrongTerm => (seq, 2),
        }
    }

    fn command(&self, index: &str, op: &Op) -> Command {
        let id = |i: &u8| format!("d{i}");
        let doc = |index: &str, i: &u8, source: Value, op: DocOp, cond: Option<(u64, u64)>| {
            Command::IndexDocument {
                index: index.to_string(),
                id: id(i),
                source: source.into(),
                op,
                if_seq_no: cond.map(|c| c.0),
                if_primary_term: cond.map(|c| c.1),
            }
        };
        match op {
            Op::Index(i, v) => doc(index, i, json!({ "v": v }), DocOp::Index, None),
            Op::Create(i, v) => doc(index, i, json!({ "c": v }), DocOp::Create, None),
            Op::IndexIf(i, g) => {
                doc(index, i, json!({ "cas": true }), DocOp::Index, Some(self.condition(&id(i), *g)))
            }
            Op::Delete(i) => Command::DeleteDocument {
                index: index.to_string(),
                id: id(i),
                if_seq_no: None,
                if_primary_term: None,
            },
            Op::DeleteIf(i, g) => {
                let (seq, term) = self.condition(&id(i), *g);
                Command::DeleteDocument {
                    index: index.to_string(),
                    id: id(i),
                    if_seq_no: Some(seq),
                    if_primary_term: Some(term),
                }
            }
        }
    }

    fn conflict(&self, id: &str) -> CommandResponse {
        let current =
            self.docs.get(id).map(|d| DocVersion { version: d.version, seq_no: d.seq_no, primary_term: 1 });
        CommandResponse::VersionConflict { current }
    }

    fn apply(&mut self, cmd: &Command) -> CommandResponse {
        match cmd {
            Command::IndexDocument { id, source, op, if_seq_no, if_primary_term, .. } => {
                let current = self.docs.get(id).cloned();
                if let (Some(seq), Some(term)) = (if_seq_no, if_primary_term)
                    && current.as_ref().is_none_or(|d| d.seq_no != *seq || *term != 1)
                {
                    return self.conflict(id);
                }
                if *op == DocOp::Create && current.is_some() {
                    return self.conflict(id);
                }
                let (version, result) = match &current {
                    Some(d) => (d.version + 1, DocOutcome::Updated),
                    None => (self.deleted_versions.remove(id).map_or(1, |v| v + 1), DocOutcome::Created),
                };
                let seq_no = self.next_seq_no;
                self.next_seq_no += 1;
                self.docs.insert(id.clone(), ModelDoc { source: Value::clone(source), version, seq_no });
                CommandResponse::Doc(DocResult { result, version, seq_no, primary_term: 1 })
            }
            Command::DeleteDocument { id, if_seq_no, if_primary_term, .. } => {
                if let (Some(seq), Some(term)) = (if_seq_no, if_primary_term)
                    && self.docs.get(id).is_none_or(|d| d.seq_no != *seq || *term != 1)
                {
                    return self.conflict(id);
                }
                let seq_no = self.next_seq_no;
                self.next_seq_no += 1;
                let (version, result) = match self.docs.remove(id) {
                    Some(d) => (d.version + 1, DocOutcome::Deleted),
                    None => (self.deleted_versions.get(id).map_or(1, |v| v + 1), DocOutcome::NotFound),
                };
                self.deleted_versions.insert(id.clone(), version);
                CommandResponse::Doc(DocResult { result, version, seq_no, primary_term: 1 })
            }
            Command::Batch(cmds) => CommandResponse::Batch(cmds.iter().map(|c| self.apply(c)).collect()),
            other => panic!("the model does not handle {other:?}"),
        }
    }
}

#[test]
fn document_writes_through_raft_match_the_model() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = runtime.block_on(Store::open(dir.path(), "node-a", "127.0.0.1:9300")).unwrap();

    let config = Config { cases: 32, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let case = Cell::new(0u32);
    let groups = prop::collection::vec(prop::collection::vec(op(), 1..4), 1..8);
    let result = runner.run(&groups, |groups| {
        // Each case (and each shrinking step) writes to an index of its own.
        case.set(case.get() + 1);
        let index = format!("case-{}", case.get());
        runtime.block_on(async {
            store.write(Command::CreateIndex { name: index.clone(), metadata: json!({}) }).await.unwrap();
            let mut model = Model::default();
            for group in &groups {
                // Commands of one batch see each other's effects: a scratch copy of the model
                // applies them in turn, so each condition is computed from the state it meets.
                let mut scratch = model.clone();
                let mut cmds = Vec::new();
                for op in group {
                    let cmd = scratch.command(&index, op);
                    scratch.apply(&cmd);
                    cmds.push(cmd);
                }
                let cmd = if cmds.len() == 1 { cmds.remove(0) } else { Command::Batch(cmds) };
                let expected = model.apply(&cmd);
                let got = store.write(cmd.clone()).await.unwrap();
                prop_assert_eq!(&got, &expected, "response to {:?}", cmd);
            }
            let stored: BTreeMap<String, ModelDoc> = store
                .documents(&index)
                .unwrap()
                .into_iter()
                .map(|(id, d)| (id, ModelDoc { source: d.source, version: d.version, seq_no: d.seq_no }))
                .collect();
            prop_assert_eq!(&stored, &model.docs);
            Ok(())
        })
    });
    runtime.block_on(store.shutdown()).unwrap();
    if let Err(e) = result {
        panic!("{e}");
    }
}
