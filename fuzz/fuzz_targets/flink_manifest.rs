//! A peer's manifest document: `flink_sync_exporter::wire::decode` under small bounds, and a
//! round trip of whatever it accepts (encode then decode gives the same manifest).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = flink_sync_exporter::wire::decode(data, 1 << 20, 10_000) {
        let again = flink_sync_exporter::wire::encode(&m);
        assert_eq!(
            flink_sync_exporter::wire::decode(&again, usize::MAX, usize::MAX).ok(),
            Some(m)
        );
    }
    // Bounded inflation of whatever a peer sends as gzip.
    if let Ok(out) = flink_sync_exporter::check::gunzip_bounded(data, 4096) {
        assert!(out.len() <= 4096);
    }
});
