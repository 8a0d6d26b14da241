//! IC-Server `server.log` lines against the configured error keywords:
//! `ic_server_probe::ErrorMatcher::is_error`. Input: comma-separated keywords, separator, log.
#![no_main]

use ic_server_probe::ErrorMatcher;
use libfuzzer_sys::fuzz_target;
use suite_fuzz::{parts, text};

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    let keywords: Vec<String> = text(p[0]).split(',').map(str::to_owned).collect();
    let exact = ErrorMatcher::new(&keywords, false);
    let folded = ErrorMatcher::new(&keywords, true);
    for line in text(p[1]).split('\n') {
        // What matches as written also matches ignoring case (for ASCII keywords: Unicode
        // lower-casing depends on context, a final sigma for one).
        if exact.is_error(line) && keywords.iter().all(|k| k.is_ascii()) {
            assert!(folded.is_error(line), "{line:?} {keywords:?}");
        }
    }
});
