//! The strict JSON parser of REST request bodies never panics (deep nesting, huge numbers,
//! invalid UTF-8, duplicate keys are errors, not crashes).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_rest::fuzzing::json_body(data);
});
