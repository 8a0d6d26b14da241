//! `/proc/net/ip_vs` and `/proc/net/ip_vs_stats`: `proc_ip_vs::parse` and
//! `proc_ip_vs_stats::parse`. Input: the two files cut at the separator byte. Every parsed
//! service's label round-trips through the configuration syntax.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_exporter::table::ServiceKey;
use lvs_exporter::{proc_ip_vs, proc_ip_vs_stats};
use suite_fuzz::{parts, text};

fuzz_target!(|data: &[u8]| {
    let p = parts(data, 2);
    if let Ok(t) = proc_ip_vs::parse(&text(p[0])) {
        for s in &t.services {
            let label = s.key.to_string();
            assert_eq!(label.parse::<ServiceKey>().ok(), Some(s.key), "{label}");
            for r in &s.real_servers {
                let _ = r.label();
            }
        }
    }
    let _ = proc_ip_vs_stats::parse(&text(p[1]));
});
