//! `ip -j addr show` output, which says which VIPs this node holds: `ifaddr::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ifaces) = keepalived_exporter::ifaddr::parse(data) {
        for i in &ifaces {
            for a in &i.addresses {
                assert!(keepalived_exporter::ifaddr::has_address(
                    &ifaces, &i.name, *a
                ));
            }
        }
    }
});
