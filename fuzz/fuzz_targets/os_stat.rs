//! `/proc/stat`: `os_exporter::parsers::stat::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = os_exporter::parsers::stat::parse(data);
    // Formatting walks every field the parser filled.
    let _ = format!("{parsed:?}");
});
