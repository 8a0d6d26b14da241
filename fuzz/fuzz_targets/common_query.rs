//! `/probe` query strings: `common::server::{parse_query, percent_decode}`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let q = String::from_utf8_lossy(data);
    for (k, v) in common::server::parse_query(&q) {
        assert!(k.len() <= q.len() * 3 && v.len() <= q.len() * 3);
    }
    // Encoding every byte and decoding gives the text back.
    let encoded: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
    assert_eq!(common::server::percent_decode(&encoded), q);
});
