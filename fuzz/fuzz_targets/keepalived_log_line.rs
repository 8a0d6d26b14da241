//! keepalived's log lines (syslog, console, journal messages): `log_classifier::classify` and
//! `log_classifier::script_failed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n') {
        if let Some(e) = keepalived_exporter::log_classifier::classify(line) {
            let _ = (e.kind.label(), e.kind.is_failover(), e.kind.is_fault());
        }
        let _ = keepalived_exporter::log_classifier::script_failed(line);
    }
});
