//! The foundation end to end: os-exporter scraped by a real Prometheus with every rule file
//! loaded; exposition formats checked by promtool; the overview dashboard checked live.

use std::time::Duration;

use suite_tests::exporter::{Exporter, isolated_args};
use suite_tests::prometheus::{Job, Prometheus, Setup};
use suite_tests::{TempDir, dashboards, promtool, workspace_root};

#[test]
fn os_exporter_is_up_in_real_prometheus_and_its_output_passes_promtool() {
    let dir = TempDir::new("foundation");
    let args = isolated_args("os-exporter", dir.path());
    let os = Exporter::start("os-exporter", &[&args[0]]);

    let classic = os.get("/metrics", &[]);
    assert_eq!(
        classic.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    if let Err(findings) = promtool::check_metrics(&classic.body) {
        panic!("promtool check metrics found problems:\n{findings}");
    }
    let om = os.get(
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert_eq!(
        om.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(om.body.ends_with("# EOF\n"));

    let prom = Prometheus::start(&Setup::with_jobs(vec![
        Job::new("os", &[os.target()]).label("customer_level", "V4"),
    ]));
    prom.wait_up("os", Duration::from_secs(30));
    let uptime = prom.wait_for("os_uptime{job=\"os\"}", Duration::from_secs(10), |r| {
        !r.is_empty()
    });
    assert!(uptime[0].value > 0.0, "{uptime:?}");
    assert_eq!(
        uptime[0].labels.get("customer_level").map(String::as_str),
        Some("V4")
    );
    let ok = prom.query("min(os_scrape_collector_success{job=\"os\"})");
    assert_eq!(
        ok.first().map(|s| s.value),
        Some(1.0),
        "a collector failed on the real host: {:?}",
        prom.query("os_scrape_collector_success == 0")
    );

    // Every rule file loaded without error.
    let groups = prom.rules();
    let loaded = groups["groups"].as_array().map_or(0, Vec::len);
    assert!(loaded > 0, "no rule groups loaded: {}", prom.log());

    let overview = workspace_root().join("grafana-dashboards/overview.json");
    if let Err(e) = dashboards::check_live(&prom, &overview, &[], Duration::from_secs(20)) {
        panic!("{e}");
    }
}

#[test]
fn sigterm_stops_the_exporter_cleanly() {
    let dir = TempDir::new("foundation");
    let args = isolated_args("os-exporter", dir.path());
    let os = Exporter::start("os-exporter", &[&args[0]]);
    assert_eq!(os.terminate(), Some(0));
}
