//! Settings YAML (flattening, duplicate detection, typed validation) never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(raw) = bulwark_settings::raw::RawSettings::from_yaml(text, Path::new("bulwark.yml")) {
            let home = bulwark_settings::Home::resolve_with(Some(Path::new("/h")), None, None);
            let _ = bulwark_settings::Settings::from_raw(raw, &home, "host");
        }
    }
});
