//! Helpers shared by the integration tests.

#![allow(dead_code)]

use bulwark_index::{Index, Mapping, SearchRequest, SearchResponse, search_many};
use serde_json::{Value, json};

/// An in-RAM index named `name` with `mapping`, holding `docs`, refreshed.
pub fn index_with(name: &str, mapping: Value, docs: &[(&str, Value)]) -> Index {
    let mut index =
        Index::create_in_ram(name, Mapping::from_json(&mapping).expect("mapping")).expect("index");
    for (id, source) in docs {
        index.apply(id, source).expect("apply");
    }
    index.refresh().expect("refresh");
    index
}

/// Runs `body` on `indices`.
pub fn search(indices: &[&Index], body: Value) -> SearchResponse {
    let req = SearchRequest::parse(Some(&body), Vec::<(String, String)>::new()).expect("request");
    search_many(indices, &req).expect("search")
}

/// The ids of the hits, in hit order.
pub fn hit_ids(resp: &SearchResponse) -> Vec<String> {
    resp.hits.iter().filter_map(|h| h.id.clone()).collect()
}

/// The ids matching `query` on `index`, sorted.
pub fn matching(index: &Index, query: Value) -> Vec<String> {
    let resp = search(&[index], json!({"query": query, "size": 1000}));
    let mut ids = hit_ids(&resp);
    ids.sort();
    ids
}

/// A small deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
