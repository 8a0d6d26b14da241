//! A JVM's hsperfdata file (jvmstat PerfData v2): `os_exporter::parsers::hsperfdata::parse`,
//! then the counters-to-rows mapping.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = os_exporter::parsers::hsperfdata::parse(data) {
        let stats = os_exporter::parsers::hsperfdata::JvmStats::from_counters(&p);
        // Formatting walks every field the mapping filled.
        let _ = format!("{stats:?}");
    }
});
