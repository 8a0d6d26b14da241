//! Every exporter `exporters.txt` marks built starts on embedded defaults (no config beyond
//! keeping its state files in the test's directory) and its classic output passes `promtool
//! check metrics` with no findings. A built exporter whose binary is missing fails the test
//! (planned ones are not started).

use suite_tests::exporter::{Exporter, isolated_args};
use suite_tests::{TempDir, bin_dir, exporter_list, promtool};

#[test]
fn every_exporter_serves_promtool_clean_metrics_on_defaults() {
    let mut checked = 0;
    for listed in exporter_list::built() {
        let name = &listed.name;
        let dir = TempDir::new("smoke");
        let args = isolated_args(name, dir.path());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = Exporter::start(name, &args);
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
        "no built exporter in exporters.txt (binaries under {})",
        bin_dir().display()
    );
}
