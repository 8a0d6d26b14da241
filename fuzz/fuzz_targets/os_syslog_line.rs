//! A messages / cron log line: `os_exporter::parsers::syslog_line::{parse, span}` and
//! `parsers::cron_log::reason`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use os_exporter::parsers::{cron_log, syslog_line};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut first = None;
    for line in text.lines() {
        let Some(l) = syslog_line::parse(line) else {
            continue;
        };
        // The tag and the message are parts of the line, in order.
        assert!(line.contains(l.message));
        assert!(!l.program.contains(' '));
        let f = *first.get_or_insert(l.stamp);
        if let Some(s) = syslog_line::span(f, l.stamp) {
            assert!(s >= 0.0 && s.is_finite());
        }
        let _ = cron_log::reason(l.program, l.message);
    }
});
