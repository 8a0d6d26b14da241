//! `/proc/net/dev`: `os_exporter::parsers::net_dev::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = os_exporter::parsers::net_dev::parse(data);
    // Formatting walks every field the parser filled.
    let _ = format!("{parsed:?}");
});
