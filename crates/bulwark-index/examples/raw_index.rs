//! The physical limit of indexing (issue #18 item 5): indexes the documents of a `_bulk` body
//! through this crate's [`Index`] in-process — the schema, tokenizers and dynamic mapping the
//! node builds for the same documents, with no HTTP, no store and no replication — commits, and
//! prints one JSON line of timings.
//!
//! ```text
//! cargo run --release -p bulwark-index --example raw_index -- BODY.ndjson DOCS DIR
//! ```
//!
//! `BODY.ndjson` is a `_bulk` body of `{"index":{}}` actions (what `bench/run` sends); its
//! documents are indexed over and over, each time under new ids (as the node's auto ids), until
//! `DOCS` documents are in. `DIR` must be missing or empty (the index is created there, on disk
//! like the node's). JSON parsing of the sources is timed apart from the index apply: the node
//! parses the body too, so `bench/run` reports it as part of where the node's time goes.

use std::path::Path;
use std::time::Instant;

use bulwark_index::{Index, Mapping};
use serde_json::{Value, json};

fn main() {
    if let Err(e) = run() {
        eprintln!("raw_index: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [body, docs, dir] = args.as_slice() else {
        return Err("usage: raw_index BODY.ndjson DOCS DIR".into());
    };
    let body = std::fs::read(body).map_err(|e| format!("reading {body}: {e}"))?;
    let want: u64 = docs.parse().map_err(|e| format!("DOCS {docs:?}: {e}"))?;
    // Every second line is a document (the others are `{"index":{}}` actions).
    let sources: Vec<&[u8]> =
        body.split(|&b| b == b'\n').filter(|l| !l.is_empty()).skip(1).step_by(2).collect();
    if sources.is_empty() {
        return Err("the body holds no documents".into());
    }
    let mut index = Index::create("bench-raw", Path::new(dir), Mapping::new()).map_err(|e| e.to_string())?;
    let (mut parse_s, mut apply_s, mut done, mut json_bytes) = (0.0, 0.0, 0u64, 0u64);
    let started = Instant::now();
    while done < want {
        let t = Instant::now();
        let take = sources.len().min(usize::try_from(want - done).unwrap_or(usize::MAX));
        let mut parsed = Vec::with_capacity(take);
        for line in &sources[..take] {
            json_bytes += line.len() as u64;
            parsed.push(serde_json::from_slice::<Value>(line).map_err(|e| format!("a document: {e}"))?);
        }
        parse_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for source in &parsed {
            // 20 characters, like Elasticsearch's auto-generated ids; seq_no as the store gives it.
            let id = format!("{:020x}", done.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            index.apply_with_seq_no(&id, source, done).map_err(|e| e.to_string())?;
            done += 1;
        }
        apply_s += t.elapsed().as_secs_f64();
    }
    let t = Instant::now();
    index.refresh().map_err(|e| e.to_string())?;
    let commit_s = t.elapsed().as_secs_f64();
    let total_s = started.elapsed().as_secs_f64();
    let count = index.doc_count();
    index.close().map_err(|e| e.to_string())?;
    if count != done {
        return Err(format!("{done} documents applied but {count} searchable"));
    }
    let line = json!({
        "docs": done,
        "json_bytes": json_bytes,
        "parse_s": parse_s,
        "apply_s": apply_s,
        "commit_s": commit_s,
        "total_s": total_s,
        "docs_per_s": done as f64 / (apply_s + commit_s),
        "docs_per_s_with_parse": done as f64 / total_s,
    });
    println!("{line}");
    Ok(())
}
