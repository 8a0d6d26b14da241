//! A kernel or syslog line: `os_exporter::parsers::memory_errors::classify` (bad pmd and its
//! companion lines, os_msg_memory_abnormal).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Some(kind) = os_exporter::parsers::memory_errors::classify(&line) {
        // Every match holds its kernel phrase.
        let phrase = match kind.label() {
            "bad_pmd" => "bad pmd",
            "bad_rss_counter" => "BUG: Bad rss-counter state",
            _ => "on freeing mm",
        };
        assert!(line.contains(phrase), "{kind:?} without {phrase:?}");
    }
});
