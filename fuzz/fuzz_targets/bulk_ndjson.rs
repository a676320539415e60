//! `_bulk` NDJSON bodies (lines, action/metadata lines, sources) never panic the parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_rest::fuzzing::bulk_body(data);
});
