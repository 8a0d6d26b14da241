//! `/proc/self/mountinfo` (mount points and sources are chosen by whoever mounts, FUSE users
//! included): `os_exporter::parsers::mountinfo::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mounts = os_exporter::parsers::mountinfo::parse(data);
    assert!(mounts.len() <= data.iter().filter(|b| **b == b'\n').count() + 1);
    let _ = format!("{mounts:?}");
});
