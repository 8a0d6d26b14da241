//! `journalctl -o json` lines (messages are whatever a unit logged, binary included):
//! `log_tail::parse_json_entry`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        if let Ok(e) = common::log_tail::parse_json_entry(line) {
            assert!(e.message.len() <= line.len() * 3);
        }
    }
});
