//! The query DSL and search request parser never panic on any JSON (the input is parsed as JSON
//! first; inputs that are not JSON are skipped), with or without URL parameters.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let _ = bulwark_index::Query::parse(&v);
    let _ = bulwark_index::SearchRequest::parse(Some(&v), std::iter::empty::<(&str, &str)>());
    if let Some(q) = v.get("q").and_then(|q| q.as_str()) {
        let _ = bulwark_index::SearchRequest::parse(None, [("q", q), ("size", "10")]);
    }
});
