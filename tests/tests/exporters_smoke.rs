//! Every exporter binary that exists starts on embedded defaults (no config file) and its
//! classic output passes `promtool check metrics` with no findings.

use suite_tests::exporter::Exporter;
use suite_tests::{bin_dir, promtool};

const EXPORTERS: &[&str] = &[
    "os-exporter",
    "keepalived-exporter",
    "lvs-exporter",
    "etcd-probe",
    "ic-server-probe",
    "flink-sync-exporter",
];

#[test]
fn every_exporter_serves_promtool_clean_metrics_on_defaults() {
    let mut checked = 0;
    for name in EXPORTERS {
        if !bin_dir().join(name).exists() {
            continue;
        }
        let e = Exporter::start(name, &[]);
        let body = e.scrape();
        assert!(
            body.contains("_exporter_build_info{"),
            "{name}: no build info:\n{body}"
        );
        if let Err(findings) = promtool::check_metrics(&body) {
            panic!("{name}: promtool check metrics:\n{findings}");
        }
        let om = e.get(
            "/metrics",
            &[("Accept", "application/openmetrics-text; version=1.0.0")],
        );
        assert!(
            om.body.ends_with("# EOF\n"),
            "{name}: OpenMetrics output does not end in # EOF"
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "no exporter binaries under {}",
        bin_dir().display()
    );
}
