//! Arbitrary bytes as a JSON and as a YAML pack, in both validation modes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use promptkit_pack::{Format, LoadOptions, Pack};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Json, Format::Yaml] {
        for options in [LoadOptions::strict(), LoadOptions::lenient()] {
            let _ = Pack::from_str_with(text, format, Path::new("fuzz"), options);
        }
    }
});
