//! `/tmp/os_disk_io_ignore_devices` (in `/tmp`: anyone may write it):
//! `os_exporter::parse_ignore_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for name in os_exporter::parse_ignore_file(&text) {
        assert!(
            !name.is_empty() && !name.contains(char::is_whitespace),
            "{name:?}"
        );
    }
});
