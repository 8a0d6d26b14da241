//! etcd (capnslog, zap JSON, Go log) and GaussDB cm_agent log lines: `log_line::parse` and
//! `log_classifier::classify`.
#![no_main]

use etcd_probe::log_line::{self, Shape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n') {
        let rec = log_line::parse(line);
        if rec.shape == Shape::Plain {
            assert_eq!(rec.text, line.trim_end_matches(['\r', '\n']));
        }
        if let Some(d) = etcd_probe::log_classifier::classify(&rec) {
            let _ = d.cause();
        }
    }
});
