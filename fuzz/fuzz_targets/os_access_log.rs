//! Tomcat AccessLogValve patterns and lines: the first line of the input is the pattern
//! (`common`, `combined` or `%` codes), the rest are log lines parsed with it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use os_exporter::parsers::access_log::Pattern;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let Some(pattern) = lines.next() else { return };
    for major in [None, Some(9), Some(10)] {
        if let Ok(p) = Pattern::compile(pattern, major) {
            for line in lines.clone() {
                let _ = format!("{:?}", p.parse(line));
            }
        }
    }
});
