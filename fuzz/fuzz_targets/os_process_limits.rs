//! `/proc/<pid>/limits`: `os_exporter::parsers::limits::parse_open_files`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(l) = os_exporter::parsers::limits::parse_open_files(data) {
        // A row that parsed came from text that contains it.
        assert!(std::str::from_utf8(data).is_ok_and(|t| t.contains("Max open files")));
        let _ = format!("{l:?}");
    }
});
