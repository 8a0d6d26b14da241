//! etcd's `/health`, `/readyz` and `/version` answers: `health::{parse, parse_version}`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = etcd_probe::health::parse(data);
    if let Some(v) = etcd_probe::health::parse_version(data) {
        let _ = v.has_readyz();
    }
});
