//! A member's `/metrics` text, re-exported with an `endpoint` label: `exposition::parse_samples`,
//! `exposition::histograms` and `member_metrics::reexport`. The families that come out must make
//! an exposition Prometheus accepts, whatever the member sent.
#![no_main]

use common::MetricSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let samples = etcd_probe::exposition::parse_samples(&text, &|_| true);
    if let Some(s) = samples.first() {
        let base = s.name.trim_end_matches("_bucket");
        for h in etcd_probe::exposition::histograms(&samples, base).values() {
            assert!(h.buckets.windows(2).all(|w| w[0].0 <= w[1].0));
        }
    }
    let mut out = MetricSet::new();
    etcd_probe::member_metrics::reexport(&text, "https://10.0.0.1:2379", &mut out);
    suite_fuzz::assert_valid_exposition(out.families());
});
