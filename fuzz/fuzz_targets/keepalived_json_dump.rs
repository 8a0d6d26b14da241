//! keepalived's JSON dump (`/tmp/keepalived.json`, written on SIGJSON): `json_dump::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(instances) = keepalived_exporter::json_dump::parse(data) {
        for i in &instances {
            let _ = i.state.map(|s| s.label());
        }
    }
});
