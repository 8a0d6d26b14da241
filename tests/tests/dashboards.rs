//! The static half of the dashboard gate; the live half runs in each exporter's e2e test.

use suite_tests::dashboards::{self, LIVE_CHECKED};
use suite_tests::{file_name, read_text, workspace_root};

#[test]
fn every_dashboard_is_structurally_sound() {
    let files = dashboards::dashboard_files();
    assert!(!files.is_empty(), "no dashboards under grafana-dashboards/");
    let problems = dashboards::check_all_structure();
    assert!(
        problems.is_empty(),
        "dashboard problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_dashboard_is_checked_live_by_an_existing_test() {
    for f in dashboards::dashboard_files() {
        let name = file_name(&f);
        let Some((_, test)) = LIVE_CHECKED.iter().find(|(d, _)| *d == name) else {
            panic!(
                "{name} is not in suite_tests::dashboards::LIVE_CHECKED: add the e2e test that checks it live"
            );
        };
        let test_path = workspace_root().join("tests").join(test);
        let text = read_text(&test_path);
        assert!(
            text.contains(&name),
            "{} does not check {name} live",
            test_path.display()
        );
    }
}

#[test]
fn the_structure_check_reports_each_kind_of_mistake() {
    let bad = serde_json::json!({
        "title": "bad",
        "templating": {"list": []},
        "panels": [
            {"id": 1, "title": "a", "type": "timeseries", "targets": [{"expr": "rate(x[1m])"}]},
            {"id": 1, "title": "b", "type": "stat", "fieldConfig": {"defaults": {"unit": "s"}}, "targets": [{"expr": ""}]}
        ]
    });
    let problems = dashboards::check_structure(std::path::Path::new("bad.json"), &bad).join("\n");
    for expected in [
        "no uid",
        "datasource",
        "used twice",
        "has no unit",
        "empty query",
        "$__rate_interval",
    ] {
        assert!(
            problems.contains(expected),
            "not reported: {expected:?}\n{problems}"
        );
    }
}

#[test]
fn variables_are_substituted_for_live_queries() {
    let q = dashboards::substitute(
        "rate(os_x{job=~\"$job\",instance=~\"${instance}\"}[$__rate_interval])",
        &[("job", "os")],
    );
    assert_eq!(q, "rate(os_x{job=~\"os\",instance=~\".+\"}[30s])");
}
